import assert from "node:assert/strict";
import {
  ipChecksumValid,
  pattern,
  tcpChecksumValid,
  tcpFields,
  tcpFrame,
  withVnetHeader,
} from "./_frames_test_utils.ts";
import { finish, pseudoHeaderSum, put16, sumWords } from "./checksum.ts";
import {
  GSO_ECN,
  GSO_TCPV4,
  GSO_TCPV6,
  GSO_UDP_L4,
  segmentRead,
  SegmentRefused,
  VNET_F_NEEDS_CSUM,
} from "./segment.ts";

function collect(buf: Uint8Array, length = buf.length) {
  const frames: Uint8Array[] = [];
  const result = segmentRead(buf, length, (f) => frames.push(f.slice()));
  return { result, frames };
}

Deno.test("segmentRead hands on a plain frame as it is", () => {
  const frame = tcpFrame({ payload: pattern(100) });
  const { result, frames } = collect(withVnetHeader(frame, {}));
  assert.equal(result, 1);
  assert.deepEqual(frames, [frame]);
});

Deno.test("segmentRead completes a checksum the kernel left to the device (UDP)", () => {
  // An IPv4 UDP frame whose checksum field holds only the pseudo-header sum.
  const f = new Uint8Array(14 + 20 + 8 + 33);
  put16(f, 12, 0x0800);
  f.set([0x45, 0, 0, 61, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 32, 0, 1, 10, 32, 0, 2], 14);
  put16(f, 34, 5353);
  put16(f, 36, 53);
  put16(f, 38, 41);
  f.set(pattern(33), 42);
  const pseudo = 10 * 256 + 32 + 1 + 10 * 256 + 32 + 2 + 17 + 41;
  put16(f, 40, pseudo);
  const { result, frames } = collect(
    withVnetHeader(f, { flags: VNET_F_NEEDS_CSUM, csumStart: 34, csumOffset: 6 }),
  );
  assert.equal(result, 1);
  const out = frames[0];
  put16(f, 40, 0);
  const expected = finish(pseudo + sumWords(f, 34, f.length));
  assert.equal((out[40] << 8) | out[41], expected);
  assert.deepEqual(out.subarray(42), pattern(33), "payload untouched");
});

for (const v6 of [false, true]) {
  Deno.test(`segmentRead cuts a large TCP${v6 ? "v6" : "v4"} segment as the kernel would`, () => {
    const payload = pattern(3 * 1000 + 417);
    const options = [1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9]; // NOP NOP timestamps
    const big = tcpFrame({
      v6,
      seq: 0xffff_fc00,
      flags: 0x10 | 0x08 | 0x01 | 0x80,
      id: 0xfffe,
      options,
      payload,
      partial: true,
    });
    const tcpStart = 14 + (v6 ? 40 : 20);
    const read = withVnetHeader(big, {
      flags: VNET_F_NEEDS_CSUM,
      gsoType: (v6 ? GSO_TCPV6 : GSO_TCPV4) | GSO_ECN,
      hdrLen: tcpStart + 32,
      gsoSize: 1000,
      csumStart: tcpStart,
      csumOffset: 16,
    });
    const { result, frames } = collect(read);
    assert.equal(result, 4);
    assert.deepEqual(
      frames.map((f) => f.length),
      [1000, 1000, 1000, 417].map((n) => tcpStart + 32 + n),
    );
    const fields = frames.map(tcpFields);
    assert.deepEqual(
      fields.map((f) => f.seq),
      [0xffff_fc00, 0xffff_ffe8, 976, 1976],
      "wraps at 2^32",
    );
    assert.deepEqual(
      fields.map((f) => f.flags),
      [0x90, 0x10, 0x10, 0x19],
      "CWR first, PSH|FIN last",
    );
    if (!v6) assert.deepEqual(fields.map((f) => f.id), [0xfffe, 0xffff, 0, 1]);
    const glued = new Uint8Array(payload.length);
    let at = 0;
    for (const f of fields) {
      glued.set(f.payload, at);
      at += f.payload.length;
    }
    assert.deepEqual(glued, payload, "payload in order, nothing lost");
    for (const f of frames) {
      assert.ok(tcpChecksumValid(f), "TCP checksum");
      assert.ok(ipChecksumValid(f), "IPv4 header checksum");
      assert.deepEqual(
        f.subarray(tcpStart + 20, tcpStart + 32),
        Uint8Array.from(options),
        "options kept",
      );
      const ipLen = v6 ? (f[18] << 8 | f[19]) + 40 : f[16] << 8 | f[17];
      assert.equal(ipLen, f.length - 14, "IP length");
    }
  });
}

Deno.test("segmentRead handles a VLAN tag and a segment that is one frame", () => {
  const inner = tcpFrame({ payload: pattern(500), partial: true });
  const tagged = new Uint8Array(inner.length + 4);
  tagged.set(inner.subarray(0, 12));
  tagged.set([0x81, 0x00, 0x00, 0x05], 12);
  tagged.set(inner.subarray(12), 16);
  const { result, frames } = collect(withVnetHeader(tagged, {
    flags: VNET_F_NEEDS_CSUM,
    gsoType: GSO_TCPV4,
    gsoSize: 1400,
    csumStart: 38,
    csumOffset: 16,
  }));
  assert.equal(result, 1);
  assert.ok(tcpChecksumValid(frames[0]));
  assert.deepEqual(tcpFields(frames[0]).payload, pattern(500));
});

Deno.test("segmentRead refuses hostile reads without handing anything on", () => {
  const tcp = tcpFrame({ payload: pattern(3000), partial: true });
  const gso = {
    flags: VNET_F_NEEDS_CSUM,
    gsoType: GSO_TCPV4,
    gsoSize: 1000,
    csumStart: 34,
    csumOffset: 16,
  };
  const udp = new Uint8Array(60);
  put16(udp, 12, 0x0800);
  udp.set([0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17], 14);
  const cases: [string, Uint8Array, number, number][] = [
    ["short", new Uint8Array(20), 20, SegmentRefused.short],
    ["length below the header", withVnetHeader(tcp, {}), 23, SegmentRefused.short],
    [
      "checksum field past the end",
      withVnetHeader(tcp, { flags: 1, csumStart: 30, csumOffset: 6000 }),
      0,
      SegmentRefused.checksumOffset,
    ],
    [
      "checksum start past the end",
      withVnetHeader(tcp, { flags: 1, csumStart: 60000, csumOffset: 0 }),
      0,
      SegmentRefused.checksumOffset,
    ],
    ["UFO", withVnetHeader(tcp, { ...gso, gsoType: 3 }), 0, SegmentRefused.gsoType],
    [
      "UDP segmentation of TCP",
      withVnetHeader(tcp, { ...gso, gsoType: 5 }),
      0,
      SegmentRefused.wrongProtocol,
    ],
    ["TCP segmentation of UDP", withVnetHeader(udp, gso), 0, SegmentRefused.wrongProtocol],
    ["no segment size", withVnetHeader(tcp, { ...gso, gsoSize: 0 }), 0, SegmentRefused.noPayload],
    [
      "truncated TCP header",
      withVnetHeader(tcp.subarray(0, 40), gso),
      0,
      SegmentRefused.wrongProtocol,
    ],
    ["not IP", withVnetHeader(new Uint8Array(64), gso), 0, SegmentRefused.wrongProtocol],
  ];
  for (const [what, buf, length, expected] of cases) {
    const { result, frames } = collect(buf, length || buf.length);
    assert.equal(result, expected, what);
    assert.equal(frames.length, 0, what);
  }
});

/** An Ethernet/IP/UDP frame 10.32.0.1:5353 → 10.32.0.2:443 (or fd00::1 → fd00::2). */
function udpFrame(payload: Uint8Array, v6 = false): Uint8Array {
  const ipLen = v6 ? 40 : 20;
  const f = new Uint8Array(14 + ipLen + 8 + payload.length);
  put16(f, 12, v6 ? 0x86dd : 0x0800);
  if (v6) {
    f.set([0x60, 0, 0, 0], 14);
    put16(f, 18, 8 + payload.length);
    f[20] = 17;
    f[21] = 64;
    f[22] = 0xfd;
    f[37] = 1;
    f[38] = 0xfd;
    f[53] = 2;
  } else {
    f.set([0x45, 0, 0, 0, 0x12, 0x34, 0, 0, 64, 17, 0, 0, 10, 32, 0, 1, 10, 32, 0, 2], 14);
    put16(f, 16, f.length - 14);
  }
  const udp = 14 + ipLen;
  put16(f, udp, 5353);
  put16(f, udp + 2, 443);
  put16(f, udp + 4, 8 + payload.length);
  f.set(payload, udp + 8);
  return f;
}

/** The UDP checksum of a complete frame verifies (and is not the "none" value 0). */
function udpChecksumValid(f: Uint8Array): boolean {
  const v6 = f[14] >> 4 === 6;
  const udp = 14 + (v6 ? 40 : 20);
  const stored = (f[udp + 6] << 8) | f[udp + 7];
  return stored !== 0 &&
    finish(pseudoHeaderSum(f, 14, 17, f.length - udp) + sumWords(f, udp, f.length)) === 0;
}

for (const v6 of [false, true]) {
  Deno.test(`segmentRead cuts a UDP${v6 ? "v6" : "v4"} send made with UDP_SEGMENT into datagrams`, () => {
    const payload = pattern(3 * 1200 + 100);
    const big = udpFrame(payload, v6);
    const udp = 14 + (v6 ? 40 : 20);
    const { result, frames } = collect(withVnetHeader(big, {
      flags: VNET_F_NEEDS_CSUM,
      gsoType: GSO_UDP_L4,
      hdrLen: udp + 8,
      gsoSize: 1200,
      csumStart: udp,
      csumOffset: 6,
    }));
    assert.equal(result, 4);
    assert.deepEqual(frames.map((f) => f.length - udp - 8), [1200, 1200, 1200, 100]);
    for (const [i, f] of frames.entries()) {
      assert.ok(udpChecksumValid(f), `UDP checksum of ${i}`);
      assert.equal((f[udp + 4] << 8) | f[udp + 5], f.length - udp, "UDP length");
      assert.deepEqual(f.subarray(udp + 8), payload.subarray(i * 1200, i * 1200 + 1200));
      if (!v6) {
        assert.deepEqual([f[18], f[19]], [0x12, 0x34 + i], "IPv4 IDs count up");
        assert.equal(finish(sumWords(f, 14, 34)), 0, "IPv4 header checksum");
      }
    }
  });
}
