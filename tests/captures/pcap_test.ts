import assert from "node:assert/strict";
import {
  type CapturedPacket,
  decodeCapture,
  Ipv4Reassembler,
  LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  parseIpv4,
  parseTcp,
  parseUdp,
  readPcap,
  readPcapHeader,
  stripLinkLayer,
} from "./pcap.ts";
import { reassembleTcp, timeAt } from "./tcp_streams.ts";

// ---- hand-built packets -------------------------------------------------

interface RecordSpec {
  sec: number;
  frac: number;
  data: Uint8Array;
  originalLength?: number;
}

function pcap(
  records: RecordSpec[],
  opts: { le?: boolean; nano?: boolean; linkType?: number } = {},
): Uint8Array {
  const le = opts.le ?? true;
  const size = 24 + records.reduce((n, r) => n + 16 + r.data.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, opts.nano ? 0xa1b23c4d : 0xa1b2c3d4, le);
  v.setUint16(4, 2, le);
  v.setUint16(6, 4, le);
  v.setUint32(16, 262144, le);
  v.setUint32(20, opts.linkType ?? LINKTYPE_ETHERNET, le);
  let at = 24;
  for (const r of records) {
    v.setUint32(at, r.sec, le);
    v.setUint32(at + 4, r.frac, le);
    v.setUint32(at + 8, r.data.length, le);
    v.setUint32(at + 12, r.originalLength ?? r.data.length, le);
    out.set(r.data, at + 16);
    at += 16 + r.data.length;
  }
  return out;
}

function ethernet(payload: Uint8Array, etherType = 0x0800): Uint8Array {
  const out = new Uint8Array(14 + payload.length);
  out.fill(0xee, 0, 12);
  out[12] = etherType >> 8;
  out[13] = etherType & 0xff;
  out.set(payload, 14);
  return out;
}

interface IpSpec {
  src?: number[];
  dst?: number[];
  protocol: number;
  id?: number;
  df?: boolean;
  mf?: boolean;
  offset?: number;
  options?: number;
}

function ipv4(spec: IpSpec, payload: Uint8Array): Uint8Array {
  const hl = 20 + (spec.options ?? 0);
  const out = new Uint8Array(hl + payload.length);
  const v = new DataView(out.buffer);
  out[0] = 0x40 | (hl / 4);
  v.setUint16(2, out.length);
  v.setUint16(4, spec.id ?? 1);
  v.setUint16(6, (spec.df ? 0x4000 : 0) | (spec.mf ? 0x2000 : 0) | ((spec.offset ?? 0) / 8));
  out[8] = 64;
  out[9] = spec.protocol;
  out.set(spec.src ?? [192, 0, 2, 1], 12);
  out.set(spec.dst ?? [192, 0, 2, 2], 16);
  out.set(payload, hl);
  return out;
}

function udp(src: number, dst: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, src);
  v.setUint16(2, dst);
  v.setUint16(4, out.length);
  v.setUint16(6, 0xbeef);
  out.set(payload, 8);
  return out;
}

interface TcpSpec {
  src: number;
  dst: number;
  seq: number;
  ack?: number;
  flags?: string;
  options?: number;
}

function tcp(spec: TcpSpec, payload: Uint8Array = new Uint8Array()): Uint8Array {
  const hl = 20 + (spec.options ?? 0);
  const out = new Uint8Array(hl + payload.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, spec.src);
  v.setUint16(2, spec.dst);
  v.setUint32(4, spec.seq >>> 0);
  v.setUint32(8, (spec.ack ?? 0) >>> 0);
  out[12] = (hl / 4) << 4;
  const f = spec.flags ?? "A";
  out[13] = (f.includes("F") ? 1 : 0) | (f.includes("S") ? 2 : 0) | (f.includes("R") ? 4 : 0) |
    (f.includes("P") ? 8 : 0) | (f.includes("A") ? 16 : 0);
  v.setUint16(14, 512);
  out.set(payload, hl);
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

// ---- file and record headers --------------------------------------------

Deno.test("readPcap reads little-endian microsecond files", () => {
  const file = readPcap(pcap([{ sec: 1795460275, frac: 556833, data: new Uint8Array([1, 2]) }]));
  assert.deepEqual(file.header, {
    littleEndian: true,
    nanosecond: false,
    versionMajor: 2,
    versionMinor: 4,
    snapLength: 262144,
    linkType: 1,
  });
  assert.equal(file.records.length, 1);
  assert.equal(file.records[0].timestampNs, 1795460275556833000n);
  assert.equal(file.records[0].time, 1795460275.556833);
  assert.deepEqual(file.records[0].data, new Uint8Array([1, 2]));
});

Deno.test("readPcap reads big-endian nanosecond files", () => {
  const bytes = pcap([
    { sec: 10, frac: 123456789, data: new Uint8Array([9]) },
    { sec: 11, frac: 0, data: new Uint8Array([]), originalLength: 60 },
  ], { le: false, nano: true, linkType: LINKTYPE_LINUX_SLL2 });
  assert.deepEqual([...bytes.subarray(0, 4)], [0xa1, 0xb2, 0x3c, 0x4d]);
  const file = readPcap(bytes);
  assert.equal(file.header.littleEndian, false);
  assert.equal(file.header.nanosecond, true);
  assert.equal(file.header.linkType, LINKTYPE_LINUX_SLL2);
  assert.equal(file.records[0].timestampNs, 10_123456789n);
  assert.equal(file.records[1].index, 1);
  assert.equal(file.records[1].originalLength, 60);
});

Deno.test("readPcap works on a view at a non-zero offset", () => {
  const inner = pcap([{ sec: 1, frac: 2, data: new Uint8Array([7, 8, 9]) }]);
  const outer = new Uint8Array(inner.length + 5);
  outer.set(inner, 5);
  const file = readPcap(outer.subarray(5));
  assert.deepEqual(file.records[0].data, new Uint8Array([7, 8, 9]));
});

Deno.test("readPcapHeader rejects short input and unknown magics", () => {
  assert.throws(() => readPcapHeader(new Uint8Array(23)), RangeError);
  const pcapng = new Uint8Array(24);
  pcapng.set([0x0a, 0x0d, 0x0d, 0x0a]);
  assert.throws(() => readPcapHeader(pcapng), /magic 0x0a0d0d0a/);
});

Deno.test("readPcap rejects truncated records", () => {
  const full = pcap([{ sec: 1, frac: 0, data: new Uint8Array(30) }]);
  assert.throws(() => readPcap(full.subarray(0, 24 + 10)), /record 0: header needs 16/);
  assert.throws(
    () => readPcap(full.subarray(0, full.length - 1)),
    /record 0: 30 bytes declared, 29 left/,
  );
});

Deno.test("readPcap rejects impossible record headers", () => {
  const bad = pcap([{ sec: 1, frac: 0, data: new Uint8Array(30), originalLength: 20 }]);
  assert.throws(() => readPcap(bad), SyntaxError);
  const badFrac = pcap([{ sec: 1, frac: 1_000_000, data: new Uint8Array(1) }]);
  assert.throws(() => readPcap(badFrac), /sub-second part 1000000/);
});

// ---- link layer -----------------------------------------------------------

Deno.test("stripLinkLayer handles Ethernet, 802.1Q, SLL and SLL2", () => {
  const ip = new Uint8Array([0x45, 1, 2]);
  assert.deepEqual(stripLinkLayer(LINKTYPE_ETHERNET, ethernet(ip)), {
    etherType: 0x0800,
    payload: ip,
  });
  const tagged = new Uint8Array([...new Array(12).fill(0), 0x81, 0, 0, 5, 0x08, 0x00, ...ip]);
  assert.deepEqual(stripLinkLayer(LINKTYPE_ETHERNET, tagged).payload, ip);
  const sll = new Uint8Array(16 + 3);
  sll.set([0x08, 0x00], 14);
  sll.set(ip, 16);
  assert.deepEqual(stripLinkLayer(LINKTYPE_LINUX_SLL, sll), { etherType: 0x0800, payload: ip });
  const sll2 = new Uint8Array(20 + 3);
  sll2.set([0x86, 0xdd], 0);
  sll2.set(ip, 20);
  assert.deepEqual(stripLinkLayer(LINKTYPE_LINUX_SLL2, sll2), { etherType: 0x86dd, payload: ip });
  assert.throws(() => stripLinkLayer(LINKTYPE_ETHERNET, new Uint8Array(13)), RangeError);
  assert.throws(() => stripLinkLayer(LINKTYPE_LINUX_SLL2, new Uint8Array(19)), RangeError);
  assert.throws(() => stripLinkLayer(228, ip), /link type 228/);
});

// ---- IPv4 -------------------------------------------------------------------

Deno.test("parseIpv4 reads the header, skips options and drops padding", () => {
  const packet = ipv4({ protocol: 17, id: 0x1234, df: true, options: 4 }, new Uint8Array([1, 2]));
  const padded = new Uint8Array(packet.length + 6);
  padded.set(packet);
  const p = parseIpv4(padded);
  assert.equal(p.src, "192.0.2.1");
  assert.equal(p.dst, "192.0.2.2");
  assert.equal(p.protocol, 17);
  assert.equal(p.identification, 0x1234);
  assert.equal(p.dontFragment, true);
  assert.equal(p.moreFragments, false);
  assert.equal(p.headerLength, 24);
  assert.deepEqual(p.payload, new Uint8Array([1, 2]));
});

Deno.test("parseIpv4 rejects truncated and hostile headers", () => {
  const packet = ipv4({ protocol: 17 }, new Uint8Array(10));
  assert.throws(() => parseIpv4(packet.subarray(0, 19)), RangeError);
  assert.throws(() => parseIpv4(packet.subarray(0, 29)), /need 30 bytes, have 29/);
  const v6 = packet.slice();
  v6[0] = 0x65;
  assert.throws(() => parseIpv4(v6), /version is 6/);
  const shortIhl = packet.slice();
  shortIhl[0] = 0x44;
  assert.throws(() => parseIpv4(shortIhl), SyntaxError);
  const tinyTotal = packet.slice();
  tinyTotal[3] = 10;
  assert.throws(() => parseIpv4(tinyTotal), SyntaxError);
});

function fragments(payload: Uint8Array, size: number, id: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < payload.length; at += size) {
    const end = Math.min(payload.length, at + size);
    out.push(
      ipv4({ protocol: 17, id, offset: at, mf: end < payload.length }, payload.slice(at, end)),
    );
  }
  return out;
}

Deno.test("Ipv4Reassembler rebuilds fragments out of order with duplicates", () => {
  const datagram = udp(6783, 6783, Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff));
  const frags = fragments(datagram, 200, 77);
  assert.equal(frags.length, 6);
  const order = [3, 5, 0, 3, 1, 4, 2];
  const r = new Ipv4Reassembler();
  const results = order.map((i, n) => r.push(parseIpv4(frags[i]), n, n));
  assert.deepEqual(results.slice(0, -1), [null, null, null, null, null, null]);
  const whole = results.at(-1)!;
  assert.equal(whole.fragmentCount, 6);
  assert.equal(whole.moreFragments, false);
  assert.equal(whole.fragmentOffset, 0);
  assert.equal(whole.time, 6);
  assert.deepEqual(whole.payload, datagram);
  assert.equal(r.pendingCount, 0);
});

Deno.test("Ipv4Reassembler keeps datagrams apart by id and waits for missing pieces", () => {
  const a = fragments(udp(1, 2, new Uint8Array(50).fill(1)), 24, 1);
  const b = fragments(udp(1, 2, new Uint8Array(50).fill(2)), 24, 2);
  const r = new Ipv4Reassembler();
  assert.equal(r.push(parseIpv4(a[0]), 0, 0), null);
  assert.equal(r.push(parseIpv4(b[2]), 0, 0), null);
  assert.equal(r.push(parseIpv4(a[2]), 0, 0), null);
  assert.equal(r.pendingCount, 2);
  assert.equal(r.push(parseIpv4(b[0]), 0, 0), null);
  const whole = r.push(parseIpv4(b[1]), 0, 0)!;
  assert.equal(whole.identification, 2);
  assert.equal(whole.payload[20], 2);
  assert.equal(r.pendingCount, 1);
});

Deno.test("Ipv4Reassembler rejects a fragment beyond the last one", () => {
  const frags = fragments(udp(1, 2, new Uint8Array(40)), 24, 9);
  const r = new Ipv4Reassembler();
  assert.equal(frags.length, 2);
  assert.equal(r.push(parseIpv4(frags[1]), 0, 0), null);
  const beyond = ipv4({ protocol: 17, id: 9, offset: 48, mf: true }, new Uint8Array(16));
  assert.throws(() => r.push(parseIpv4(beyond), 0, 0), /reach byte 64/);
});

// ---- TCP and UDP -------------------------------------------------------------

Deno.test("parseTcp reads ports, numbers, flags and skips options", () => {
  const seg = parseTcp(
    tcp({ src: 60141, dst: 6783, seq: 0xfffffff0, ack: 7, flags: "SA", options: 12 }, text("hi")),
  );
  assert.equal(seg.srcPort, 60141);
  assert.equal(seg.dstPort, 6783);
  assert.equal(seg.seq, 0xfffffff0);
  assert.equal(seg.ack, 7);
  assert.equal(seg.syn, true);
  assert.equal(seg.ackFlag, true);
  assert.equal(seg.fin, false);
  assert.equal(seg.window, 512);
  assert.equal(str(seg.payload), "hi");
});

Deno.test("parseTcp and parseUdp reject truncated and hostile headers", () => {
  assert.throws(() => parseTcp(new Uint8Array(19)), RangeError);
  const badOffset = tcp({ src: 1, dst: 2, seq: 0 });
  badOffset[12] = 0x40;
  assert.throws(() => parseTcp(badOffset), /data offset 16/);
  assert.throws(
    () => parseTcp(tcp({ src: 1, dst: 2, seq: 0, options: 8 }).subarray(0, 24)),
    RangeError,
  );
  assert.throws(() => parseUdp(new Uint8Array(7)), RangeError);
  const u = udp(1, 2, new Uint8Array(4));
  assert.throws(() => parseUdp(u.subarray(0, 11)), /need 12 bytes, have 11/);
  const tiny = u.slice();
  tiny[5] = 3;
  assert.throws(() => parseUdp(tiny), /length 3 is below 8/);
});

Deno.test("parseUdp cuts the payload to the length field", () => {
  const d = parseUdp(new Uint8Array([0x1a, 0x7f, 0x1a, 0x80, 0, 10, 0, 0, 0xaa, 0xbb, 0xcc]));
  assert.equal(d.srcPort, 6783);
  assert.equal(d.dstPort, 6784);
  assert.equal(d.checksum, 0);
  assert.deepEqual(d.payload, new Uint8Array([0xaa, 0xbb]));
});

// ---- whole captures ---------------------------------------------------------

Deno.test("decodeCapture reassembles fragmented UDP and skips non-IPv4 frames", () => {
  const datagram = udp(6783, 6783, new Uint8Array(300).fill(0x5a));
  const frags = fragments(datagram, 96, 5);
  const records = [
    { sec: 1, frac: 0, data: ethernet(new Uint8Array(28), 0x0806) },
    ...frags.reverse().map((f, i) => ({ sec: 2, frac: i, data: ethernet(f) })),
    {
      sec: 3,
      frac: 0,
      data: ethernet(ipv4({ protocol: 6 }, tcp({ src: 5, dst: 6, seq: 1 }, text("x")))),
    },
  ];
  const packets = decodeCapture(pcap(records));
  assert.equal(packets.length, 2);
  assert.equal(packets[0].ip.fragmentCount, 4);
  assert.equal(packets[0].recordIndex, 4);
  assert.equal(packets[0].udp?.payload.length, 300);
  assert.equal(packets[1].tcp?.srcPort, 5);
});

Deno.test("decodeCapture names the record a parse error came from", () => {
  const broken = ipv4({ protocol: 17 }, udp(1, 2, new Uint8Array(4))).subarray(0, 24);
  const ok = ethernet(ipv4({ protocol: 17 }, udp(1, 2, new Uint8Array(4))));
  const bytes = pcap([{ sec: 0, frac: 0, data: ok }, { sec: 0, frac: 0, data: ethernet(broken) }]);
  assert.throws(() => decodeCapture(bytes), /record 1: Cannot parse IPv4 packet/);
});

// ---- TCP reassembly ---------------------------------------------------------

function tcpPacket(
  time: number,
  from: [number, number],
  to: [number, number],
  spec: Omit<TcpSpec, "src" | "dst">,
  payload = "",
): CapturedPacket {
  const ip = {
    ...parseIpv4(ipv4({
      protocol: 6,
      src: [192, 0, 2, from[0]],
      dst: [192, 0, 2, to[0]],
    }, tcp({ ...spec, src: from[1], dst: to[1] }, text(payload)))),
    fragmentCount: 1,
    time,
    recordIndex: time,
  };
  return { time, recordIndex: time, ip, tcp: parseTcp(ip.payload) };
}

const C: [number, number] = [2, 60141];
const S: [number, number] = [1, 6783];

Deno.test("reassembleTcp rebuilds both directions with duplicates and reordering", () => {
  const isnC = 0xfffffffa; // wraps around during the stream
  const isnS = 1000;
  const packets = [
    tcpPacket(0, C, S, { seq: isnC, flags: "S" }),
    tcpPacket(1, S, C, { seq: isnS, ack: isnC + 1, flags: "SA" }),
    tcpPacket(2, C, S, { seq: isnC + 1, flags: "A" }),
    tcpPacket(3, C, S, { seq: isnC + 1, flags: "PA" }, "weave"),
    tcpPacket(4, C, S, { seq: isnC + 1 + 9, flags: "PA" }, "5678"), // before its predecessor
    tcpPacket(5, C, S, { seq: isnC + 1 + 5, flags: "PA" }, "1234"),
    tcpPacket(6, C, S, { seq: isnC + 1, flags: "PA" }, "weave"), // duplicate
    tcpPacket(7, C, S, { seq: isnC + 1 + 7, flags: "PA" }, "34567890"), // partial overlap
    tcpPacket(8, S, C, { seq: isnS + 1, flags: "PA" }, "hello"),
    tcpPacket(9, S, C, { seq: isnS + 6, flags: "FA" }),
  ];
  const [conn, ...rest] = reassembleTcp(packets);
  assert.equal(rest.length, 0);
  assert.deepEqual(conn.dialler, { ip: "192.0.2.2", port: 60141 });
  assert.deepEqual(conn.acceptor, { ip: "192.0.2.1", port: 6783 });
  assert.equal(conn.sawSyn, true);
  assert.equal(conn.outbound.isn, isnC);
  assert.equal(str(conn.outbound.bytes), "weave1234567890");
  assert.equal(conn.outbound.duplicates, 1);
  assert.equal(conn.outbound.holeAt, null);
  assert.deepEqual(conn.outbound.segments, [
    { offset: 0, length: 5, time: 3 },
    { offset: 5, length: 4, time: 5 },
    { offset: 9, length: 4, time: 4 },
    { offset: 13, length: 2, time: 7 },
  ]);
  assert.equal(timeAt(conn.outbound, 10), 4);
  assert.equal(timeAt(conn.outbound, 14), 7);
  assert.throws(() => timeAt(conn.outbound, 15), RangeError);
  assert.equal(str(conn.inbound.bytes), "hello");
  assert.equal(conn.inbound.finished, true);
  assert.equal(conn.outbound.finished, false);
});

Deno.test("reassembleTcp stops at a hole and reports it", () => {
  const packets = [
    tcpPacket(0, C, S, { seq: 10, flags: "S" }),
    tcpPacket(1, C, S, { seq: 11 }, "abc"),
    tcpPacket(2, C, S, { seq: 20 }, "xyz"),
  ];
  const [conn] = reassembleTcp(packets);
  assert.equal(str(conn.outbound.bytes), "abc");
  assert.equal(conn.outbound.holeAt, 3);
});

Deno.test("reassembleTcp finds the dialler from a SYN-ACK and without any SYN", () => {
  const fromSynAck = reassembleTcp([
    tcpPacket(0, S, C, { seq: 50, flags: "SA" }),
    tcpPacket(1, C, S, { seq: 7 }, "later"),
  ]);
  assert.deepEqual(fromSynAck[0].dialler, { ip: "192.0.2.2", port: 60141 });
  assert.equal(fromSynAck[0].sawSyn, false);
  assert.equal(fromSynAck[0].inbound.isn, 50);
  assert.equal(str(fromSynAck[0].outbound.bytes), "later");
  const noSyn = reassembleTcp([
    tcpPacket(0, S, C, { seq: 104 }, "def"),
    tcpPacket(1, S, C, { seq: 101 }, "abc"),
  ]);
  assert.deepEqual(noSyn[0].dialler, { ip: "192.0.2.1", port: 6783 });
  assert.equal(noSyn[0].outbound.isn, null);
  assert.equal(str(noSyn[0].outbound.bytes), "abcdef");
});

Deno.test("reassembleTcp starts a new connection on a new SYN for the same ports", () => {
  const conns = reassembleTcp([
    tcpPacket(0, C, S, { seq: 1, flags: "S" }),
    tcpPacket(1, C, S, { seq: 2 }, "one"),
    tcpPacket(2, C, S, { seq: 1, flags: "S" }), // SYN retransmit: same connection
    tcpPacket(3, C, S, { seq: 900, flags: "S" }),
    tcpPacket(4, C, S, { seq: 901 }, "two"),
  ]);
  assert.equal(conns.length, 2);
  assert.equal(str(conns[0].outbound.bytes), "one");
  assert.equal(str(conns[1].outbound.bytes), "two");
  assert.equal(conns[1].startTime, 3);
});

Deno.test("reassembleTcp rejects a SYN-ACK that contradicts the stream's ISN", () => {
  assert.throws(
    () =>
      reassembleTcp([
        tcpPacket(0, C, S, { seq: 1, flags: "S" }),
        tcpPacket(1, S, C, { seq: 5, flags: "SA" }),
        tcpPacket(2, S, C, { seq: 6, flags: "SA" }),
      ]),
    /SYN with sequence 6 after ISN 5/,
  );
});
