/**
 * Decodes every message of the golden Weave Net 2.8.1 captures
 * (testdata/captures, see its README) with our own codecs and checks
 * the facts the README lists: TCP 6783 intro and framing, features, every
 * gossip message (topology, IPAM, DNS), overlay control messages, and every
 * sleeve datagram, plain and encrypted. Each TCP connection is decoded from
 * its dialler's pcap and compared with the acceptor's copy.
 */
import assert from "node:assert/strict";
import { type CapturedPacket, decodeCapture } from "./captures/pcap.ts";
import {
  type Endpoint,
  formatEndpoint,
  reassembleTcp,
  type TcpConnection,
  type TcpStream,
  timeAt,
} from "./captures/tcp_streams.ts";
import { decodeProtocolHeader, type VersionRange } from "../mesh/protocol_header.ts";
import { FrameReader } from "../mesh/framing.ts";
import { decodeMessage, decodeOverlayControl, decodePMTUVerified } from "../mesh/messages.ts";
import { decodeFeatures, parseFeatures, type RemoteFeatures } from "../mesh/features.ts";
import { decodeGossipBody } from "../mesh/gossip_envelope.ts";
import { decodeTopology } from "../mesh/topology_codec/codec.ts";
import type { TopologyEntry } from "../mesh/topology_types.ts";
import { decodeGobStream, type GobStruct, type GobValue } from "../mesh/gob/decoder.ts";
import {
  classifySpecial,
  decodeDatagramSender,
  decodeFrames,
  splitEncrypted,
} from "../datapath/sleeve/packet.ts";
import { formatPeerName, parsePeerName } from "../lib/peer_name.ts";

const CAPTURES = new URL("../testdata/captures/", import.meta.url);
const PORT = 6783;

// ---- what the README says ----------------------------------------------------

interface Host {
  nick: string;
  ip: string;
  name: bigint;
  uid: bigint;
  shortID: number;
}

const H1: Host = {
  nick: "h1",
  ip: "192.0.2.1",
  name: parsePeerName("02:00:00:00:00:01"),
  uid: 4021037808612341783n,
  shortID: 2503,
};
const H2: Host = {
  nick: "h2",
  ip: "192.0.2.2",
  name: parsePeerName("02:00:00:00:00:02"),
  uid: 3332465998415520393n,
  shortID: 953,
};
const H3: Host = {
  nick: "h3",
  ip: "192.0.2.3",
  name: parsePeerName("02:00:00:00:00:03"),
  uid: 9761223760850005223n,
  shortID: 502,
};
const PLAIN_HOSTS = [H1, H2, H3];

interface ExpectedConnection {
  dialler: Host;
  diallerPort: number;
  acceptor: Host;
  /** ConnID each side sent, by nick. */
  connIDs: Record<string, bigint>;
  connUID: bigint;
}

const PLAIN_CONNECTIONS: ExpectedConnection[] = [
  {
    dialler: H2,
    diallerPort: 60141,
    acceptor: H1,
    connIDs: { h2: 14725204922488263927n, h1: 13800127862746421924n },
    connUID: 0x73d988f0c0478e53n,
  },
  {
    dialler: H3,
    diallerPort: 46131,
    acceptor: H2,
    connIDs: { h2: 3357111568027644696n, h3: 17313369867785943958n },
    connUID: 0xded3a90511f1488en,
  },
  {
    dialler: H3,
    diallerPort: 49699,
    acceptor: H1,
    connIDs: { h1: 10271115668713421235n, h3: 6425324425462753994n },
    connUID: 0xd7a103cd9ac59379n,
  },
];

/** t0 of the plain scenario: h2's SYN to h1, 2026-11-23 18:57:55.556833 UTC. */
const PLAIN_T0 = Date.UTC(2026, 10, 23, 18, 57, 55) / 1000 + 0.556833;

// ---- loading -------------------------------------------------------------------

interface HostCapture {
  host: Host;
  packets: CapturedPacket[];
  connections: TcpConnection[];
}

async function loadHost(scenario: string, host: Host): Promise<HostCapture> {
  const bytes = await Deno.readFile(new URL(`${scenario}-${host.nick}.pcap`, CAPTURES));
  const packets = decodeCapture(bytes);
  return { host, packets, connections: reassembleTcp(packets) };
}

function hostByIp(hosts: readonly Host[], ip: string): Host {
  const host = hosts.find((h) => h.ip === ip);
  if (!host) throw new Error(`Cannot find host: no host has IP "${ip}"`);
  return host;
}

/** A TCP 6783 connection taken from its dialler's pcap, checked against the acceptor's. */
interface MeshConnection {
  dialler: Host;
  acceptor: Host;
  tcp: TcpConnection;
}

function meshConnections(captures: HostCapture[]): MeshConnection[] {
  const hosts = captures.map((c) => c.host);
  const out: MeshConnection[] = [];
  for (const cap of captures) {
    for (const tcp of cap.connections) {
      if (tcp.acceptor.port !== PORT || tcp.dialler.ip !== cap.host.ip) continue;
      assert.ok(tcp.sawSyn, `SYN of ${formatEndpoint(tcp.dialler)} captured`);
      const acceptor = hostByIp(hosts, tcp.acceptor.ip);
      const copy = captures.find((c) => c.host === acceptor)!.connections.find((c) =>
        sameEndpoint(c.dialler, tcp.dialler) && sameEndpoint(c.acceptor, tcp.acceptor)
      );
      assert.ok(copy, `${formatEndpoint(tcp.dialler)} also in the acceptor's pcap`);
      assert.deepEqual(copy.outbound.bytes, tcp.outbound.bytes);
      assert.deepEqual(copy.inbound.bytes, tcp.inbound.bytes);
      out.push({ dialler: cap.host, acceptor, tcp });
    }
  }
  return out.sort((a, b) => a.tcp.startTime - b.tcp.startTime);
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.ip === b.ip && a.port === b.port;
}

// ---- TCP intro and framing -----------------------------------------------------

interface Frame {
  /** Position among this direction's framed messages, from 0 (0 = features). */
  index: number;
  /** Capture time of the segment holding the frame's last byte. */
  time: number;
  bytes: Uint8Array;
}

interface DirectionIntro {
  header: VersionRange;
  flag: number;
  publicKey?: Uint8Array;
  frames: Frame[];
}

function readDirection(stream: TcpStream, outbound: boolean): DirectionIntro {
  const what = `${formatEndpoint(stream.from)}->${formatEndpoint(stream.to)}`;
  assert.equal(stream.holeAt, null, `${what}: no hole in the captured stream`);
  const bytes = stream.bytes;
  const header = decodeProtocolHeader(bytes, 0);
  const flag = bytes[7];
  let offset = 8;
  let publicKey: Uint8Array | undefined;
  if (flag === 1) {
    publicKey = bytes.slice(offset, offset + 32);
    offset += 32;
  } else {
    assert.equal(flag, 0, `${what}: encryption flag`);
  }
  const reader = new FrameReader({ outbound });
  reader.push(bytes.subarray(offset));
  const frames: Frame[] = [];
  for (let f = reader.next(); f !== null; f = reader.next()) {
    offset += 4 + f.length;
    frames.push({ index: frames.length, time: timeAt(stream, offset - 1), bytes: f });
  }
  assert.equal(reader.buffered, 0, `${what}: stream ends on a message boundary`);
  return { header, flag, publicKey, frames };
}

// ---- plain message decoding ----------------------------------------------------

interface Decoded {
  connections: MeshConnection[];
  /** Features each side sent, per connection (same order as `connections`). */
  features: { dialler: RemoteFeatures; acceptor: RemoteFeatures }[];
  counts: Map<string, number>;
  topology: { time: number; entries: TopologyEntry[] }[];
  ipam: IpamMessage[];
  dns: { time: number; data: GobStruct }[];
  overlay: { index: number; subTag: number; mtu?: number }[];
  heartbeats: number;
}

interface IpamMessage {
  time: number;
  tag: number;
  /** For tag 5: the unicast type byte (0 SpaceRequest, 1 RingUpdate, 2 SpaceRequestDenied). */
  kind?: number;
  source?: bigint;
  destination?: bigint;
  value: GobStruct;
}

interface Direction {
  conn: number;
  from: Host;
  to: Host;
}

async function loadPlain(): Promise<HostCapture[]> {
  return await Promise.all(PLAIN_HOSTS.map((h) => loadHost("plain", h)));
}

let plainCache: Promise<{ captures: HostCapture[]; decoded: Decoded }> | undefined;

function plain(): Promise<{ captures: HostCapture[]; decoded: Decoded }> {
  plainCache ??= loadPlain().then((captures) => ({ captures, decoded: decodePlain(captures) }));
  return plainCache;
}

function decodePlain(captures: HostCapture[]): Decoded {
  const decoded: Decoded = {
    connections: meshConnections(captures),
    features: [],
    counts: new Map(),
    topology: [],
    ipam: [],
    dns: [],
    overlay: [],
    heartbeats: 0,
  };
  decoded.connections.forEach((conn, i) => {
    const out = readDirection(conn.tcp.outbound, true);
    const inb = readDirection(conn.tcp.inbound, false);
    for (const d of [out, inb]) {
      assert.deepEqual(d.header, { min: 1, max: 2 });
      assert.equal(d.flag, 0);
    }
    decoded.features.push({
      dialler: parseFeatures(decodeFeatures(out.frames[0].bytes)),
      acceptor: parseFeatures(decodeFeatures(inb.frames[0].bytes)),
    });
    const dirOut = { conn: i + 1, from: conn.dialler, to: conn.acceptor };
    const dirIn = { conn: i + 1, from: conn.acceptor, to: conn.dialler };
    for (const f of out.frames.slice(1)) decodeFrame(decoded, dirOut, f);
    for (const f of inb.frames.slice(1)) decodeFrame(decoded, dirIn, f);
  });
  return decoded;
}

function decodeFrame(decoded: Decoded, dir: Direction, frame: Frame): void {
  try {
    decodeOne(decoded, frame.time, frame.bytes);
  } catch (cause) {
    throw new Error(
      `Cannot decode connection ${dir.conn} ${dir.from.nick}->${dir.to.nick} message #${frame.index} ` +
        `(t=${(frame.time - PLAIN_T0).toFixed(6)}): ${(cause as Error).message}\n` +
        `hex: ${hex(frame.bytes)}`,
      { cause },
    );
  }
}

function decodeOne(decoded: Decoded, time: number, bytes: Uint8Array): void {
  const msg = decodeMessage(bytes);
  assert.ok(msg, "framed messages are never empty in these captures");
  const { tag, body } = msg;
  if (tag === 0) {
    assert.equal(body.length, 0, "heartbeat body is empty");
    decoded.heartbeats++;
    count(decoded, "0");
  } else if (tag === 7) {
    const ctl = decodeOverlayControl(body);
    count(decoded, `7/${ctl.subTag}`);
    if (ctl.subTag === 3) {
      assert.equal(ctl.payload.length, 2);
      decoded.overlay.push({ ...ctl, mtu: decodePMTUVerified(ctl.payload) });
    } else {
      assert.equal(ctl.payload.length, 0, `sub-tag ${ctl.subTag} body is empty`);
      decoded.overlay.push(ctl);
    }
  } else if (tag === 4 || tag === 5 || tag === 6) {
    decodeGossip(decoded, time, tag, body);
  } else {
    assert.fail(`unexpected tag ${tag}`);
  }
}

function decodeGossip(decoded: Decoded, time: number, tag: 4 | 5 | 6, body: Uint8Array): void {
  const g = decodeGossipBody(tag, body);
  count(decoded, `${tag}/${g.channel}`);
  if (g.channel === "topology") {
    assert.equal(tag, 4, "topology travels as plain gossip only");
    decoded.topology.push({ time, entries: decodeTopology(g.payload) });
  } else if (g.channel === "IPallocation") {
    if (tag === 5 && "destination" in g) {
      const value = singleStruct(decodeGobStream(g.payload.subarray(1)));
      decoded.ipam.push({
        time,
        tag,
        kind: g.payload[0],
        source: g.source,
        destination: g.destination,
        value,
      });
    } else {
      decoded.ipam.push({ time, tag, value: singleStruct(decodeGobStream(g.payload)) });
    }
  } else if (g.channel === "nameserver") {
    assert.notEqual(tag, 5, "DNS unicasts are never sent");
    decoded.dns.push({ time, data: singleStruct(decodeGobStream(g.payload)) });
  } else {
    assert.fail(`unexpected channel "${g.channel}"`);
  }
}

function count(decoded: Decoded, key: string): void {
  decoded.counts.set(key, (decoded.counts.get(key) ?? 0) + 1);
}

// ---- gob helpers -----------------------------------------------------------------

function isStruct(v: GobValue | undefined): v is GobStruct {
  return typeof v === "object" && v !== null && !(v instanceof Map) && !Array.isArray(v) &&
    !(v instanceof Uint8Array);
}

function asStruct(v: GobValue | undefined, what: string): GobStruct {
  assert.ok(isStruct(v), `${what} is a struct`);
  return v;
}

function singleStruct(values: GobValue[]): GobStruct {
  assert.equal(values.length, 1, "one value per payload");
  return asStruct(values[0], "payload");
}

/** A uint/int field; gob omits zero values, so absent means 0. */
function num(s: GobStruct, field: string): bigint {
  const v = s[field] ?? 0n;
  assert.equal(typeof v, "bigint", `${field} is an integer`);
  return v as bigint;
}

function text(s: GobStruct, field: string): string {
  const v = s[field] ?? "";
  assert.equal(typeof v, "string", `${field} is a string`);
  return v as string;
}

function list(s: GobStruct, field: string): GobValue[] {
  const v = s[field] ?? [];
  assert.ok(Array.isArray(v), `${field} is a slice`);
  return v;
}

function formatIp(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join(".");
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

// ---- plain scenario: TCP ----------------------------------------------------------

Deno.test("plain captures: three TCP 6783 connections, same bytes in both pcaps", async () => {
  const { decoded } = await plain();
  const conns = decoded.connections;
  assert.deepEqual(
    conns.map((c) => [c.dialler.nick, formatEndpoint(c.tcp.dialler), c.acceptor.nick]),
    PLAIN_CONNECTIONS.map((e) => [
      e.dialler.nick,
      `${e.dialler.ip}:${e.diallerPort}`,
      e.acceptor.nick,
    ]),
  );
  assert.ok(Math.abs(conns[0].tcp.startTime - PLAIN_T0) < 1e-6, "first SYN is t0");
  assert.deepEqual(
    conns.map((c) => [c.tcp.outbound.bytes.length, c.tcp.inbound.bytes.length]),
    [[6359, 7351], [7682, 6040], [7975, 8666]],
  );
});

Deno.test("plain captures: features of every peer and connection UIDs", async () => {
  const { decoded } = await plain();
  decoded.connections.forEach((conn, i) => {
    const expected = PLAIN_CONNECTIONS[i];
    const sides = [
      [conn.dialler, decoded.features[i].dialler],
      [conn.acceptor, decoded.features[i].acceptor],
    ] as const;
    for (const [host, f] of sides) {
      assert.equal(formatPeerName(f.name), formatPeerName(host.name));
      assert.equal(f.nickName, host.nick);
      assert.equal(f.uid, host.uid);
      assert.equal(f.shortID, host.shortID);
      assert.equal(f.connID, expected.connIDs[host.nick]);
      assert.equal(f.trusted, false);
      assert.deepEqual(f.overlays, ["sleeve"]);
    }
    assert.equal(
      decoded.features[i].dialler.connID ^ decoded.features[i].acceptor.connID,
      expected.connUID,
    );
  });
});

Deno.test("plain captures: message counts by tag and channel", async () => {
  const { decoded } = await plain();
  assert.deepEqual(
    Object.fromEntries([...decoded.counts].sort(([a], [b]) => a.localeCompare(b))),
    {
      "0": 6,
      "4/IPallocation": 12,
      "4/nameserver": 12,
      "4/topology": 31,
      "5/IPallocation": 5,
      "6/IPallocation": 18,
      "6/nameserver": 8,
      "7/1": 6,
      "7/2": 6,
      "7/3": 9,
    },
  );
});

Deno.test("plain captures: overlay control messages go to sleeve (index 0), MTU 1438", async () => {
  const { decoded } = await plain();
  assert.equal(decoded.overlay.length, 21);
  for (const m of decoded.overlay) {
    assert.equal(m.index, 0);
    if (m.subTag === 3) assert.equal(m.mtu, 1438);
  }
});

Deno.test("plain captures: final topology", async () => {
  const { decoded } = await plain();
  const latest = new Map<bigint, TopologyEntry>();
  for (const { entries } of [...decoded.topology].sort((a, b) => a.time - b.time)) {
    for (const e of entries) {
      const known = latest.get(e.peer.name);
      if (!known || e.peer.version > known.peer.version) latest.set(e.peer.name, e);
    }
  }
  assert.deepEqual([...latest.keys()].sort(), [H1.name, H2.name, H3.name]);
  const expectConn = (to: Host, addr: string, outbound: boolean) => ({
    name: to.name,
    remoteTCPAddr: addr,
    outbound,
    established: true,
  });
  const expected = new Map([
    [H1.name, [expectConn(H2, "192.0.2.2:60141", false), expectConn(H3, "192.0.2.3:49699", false)]],
    [H2.name, [expectConn(H1, "192.0.2.1:6783", true), expectConn(H3, "192.0.2.3:46131", false)]],
    [H3.name, [expectConn(H1, "192.0.2.1:6783", true), expectConn(H2, "192.0.2.2:6783", true)]],
  ]);
  for (const host of PLAIN_HOSTS) {
    const entry = latest.get(host.name)!;
    assert.deepEqual(entry.peer, {
      name: host.name,
      nickName: host.nick,
      uid: host.uid,
      version: 4n,
      shortID: host.shortID,
      hasShortID: true,
    });
    const conns = [...entry.connections].sort((a, b) => Number(a.name - b.name));
    assert.deepEqual(conns, expected.get(host.name));
  }
});

Deno.test("plain captures: IPAM ring, nicknames, Paxos and space requests", async () => {
  const { decoded } = await plain();
  const states = decoded.ipam.filter((m) => m.tag !== 5 || m.kind === 1);
  const withRing = states.filter((m) => m.value.Ring !== undefined)
    .sort((a, b) => a.time - b.time);
  assert.ok(withRing.length > 0);
  const ring = asStruct(withRing.at(-1)!.value.Ring, "Ring");
  assert.equal(formatIp(num(ring, "Start")), "10.32.0.0");
  assert.equal(formatIp(num(ring, "End")), "10.48.0.0");
  assert.deepEqual(list(ring, "Seeds"), [H1.name, H3.name]);
  const entries = list(ring, "Entries").map((v) => {
    const e = asStruct(v, "ring entry");
    return [formatIp(num(e, "Token")), num(e, "Peer"), num(e, "Version"), num(e, "Free")];
  });
  assert.deepEqual(entries, [
    ["10.32.0.0", H1.name, 3n, 191n],
    ["10.32.0.192", H3.name, 1n, 63n],
    ["10.32.1.0", H1.name, 0n, 524032n],
    ["10.40.0.0", H3.name, 2n, 262143n],
    ["10.44.0.0", H2.name, 1n, 262143n],
  ]);
  const nicknames = withRing.at(-1)!.value.Nicknames;
  assert.ok(nicknames instanceof Map);
  assert.deepEqual(
    new Map(nicknames),
    new Map<GobValue, GobValue>([[H1.name, "h1"], [H2.name, "h2"], [H3.name, "h3"]]),
  );

  // Before the ring exists, Paxos is present (empty, then with round-1 claims by h1).
  const paxos = states.map((m) => m.value.Paxos).filter((p) => p !== undefined);
  assert.ok(paxos.every((p) => p instanceof Map));
  assert.ok(paxos.some((p) => (p as Map<GobValue, GobValue>).size === 0), "empty Paxos maps");
  const claims = paxos.flatMap((p) => [...(p as Map<GobValue, GobValue>).values()]);
  assert.ok(claims.length > 0, "some gossip carries Paxos claims");
  for (const c of claims) {
    const promise = asStruct(asStruct(c, "claims").Promise, "Promise");
    assert.equal(num(promise, "Round"), 1n);
    assert.equal(num(asStruct(promise.Proposer, "Proposer"), "Name"), H1.name);
  }
  for (const m of states) {
    assert.ok(m.value.Paxos === undefined || m.value.Ring === undefined, "Paxos xor Ring");
  }

  const requests = decoded.ipam.filter((m) => m.kind === 0).map((m) => [
    m.source,
    m.destination,
    formatIp(num(m.value, "Start")),
    formatIp(num(m.value, "End")),
  ]);
  assert.deepEqual(requests, [
    [H2.name, H3.name, "10.32.0.0", "10.48.0.0"],
    [H3.name, H1.name, "10.32.0.0", "10.32.1.0"],
  ]);
  assert.deepEqual(
    decoded.ipam.filter((m) => m.tag === 5).map((m) => m.kind).sort(),
    [0, 0, 1, 1, 1],
  );
});

Deno.test("plain captures: final nameserver entries", async () => {
  const { decoded } = await plain();
  const merged = new Map<string, GobStruct>();
  for (const { data } of [...decoded.dns].sort((a, b) => a.time - b.time)) {
    const entries = list(data, "Entries").map((v) => asStruct(v, "DNS entry"));
    const hostnames = entries.map((e) => text(e, "Hostname"));
    assert.deepEqual(hostnames, [...hostnames].sort(), "sorted by hostname on the wire");
    for (const e of entries) {
      const key = [text(e, "Hostname"), num(e, "Origin"), text(e, "ContainerID"), num(e, "Addr")]
        .join("|");
      const known = merged.get(key);
      if (!known || num(e, "Version") >= num(known, "Version")) merged.set(key, e);
    }
  }
  const final = [...merged.values()].map((e) => ({
    hostname: text(e, "Hostname"),
    addr: formatIp(num(e, "Addr")),
    container: text(e, "ContainerID"),
    origin: num(e, "Origin"),
    version: num(e, "Version"),
    tombstone: num(e, "Tombstone"),
  })).sort((a, b) => a.hostname.localeCompare(b.hostname));
  assert.deepEqual(final, [
    {
      hostname: "db3.weave.local.",
      addr: "10.40.0.0",
      container: "capc3",
      origin: H3.name,
      version: 0n,
      tombstone: 0n,
    },
    {
      hostname: "tmp3.weave.local.",
      addr: "10.32.0.192",
      container: "capc3b",
      origin: H3.name,
      version: 1n,
      tombstone: 1795460289n,
    },
    {
      hostname: "web1.weave.local.",
      addr: "10.32.0.1",
      container: "capc1",
      origin: H1.name,
      version: 0n,
      tombstone: 0n,
    },
  ]);
});

// ---- plain scenario: sleeve ---------------------------------------------------

interface SleeveDirection {
  from: Host;
  to: Host;
  packets: CapturedPacket[];
}

/** Sleeve datagrams per direction, each taken from the sender's own pcap. */
function sleeveDirections(captures: HostCapture[]): SleeveDirection[] {
  const hosts = captures.map((c) => c.host);
  const out: SleeveDirection[] = [];
  for (const cap of captures) {
    const sent = cap.packets.filter((p) =>
      p.udp && p.ip.src === cap.host.ip && p.udp.srcPort === PORT && p.udp.dstPort === PORT
    );
    for (const to of hosts.filter((h) => h !== cap.host)) {
      out.push({ from: cap.host, to, packets: sent.filter((p) => p.ip.dst === to.ip) });
    }
  }
  return out;
}

Deno.test("plain captures: every sleeve datagram parses; heartbeats, frag and MTU tests", async () => {
  const { captures, decoded } = await plain();
  const connUID = (a: Host, b: Host) => {
    const i = decoded.connections.findIndex((c) =>
      (c.dialler === a && c.acceptor === b) || (c.dialler === b && c.acceptor === a)
    );
    return decoded.features[i].dialler.connID ^ decoded.features[i].acceptor.connID;
  };
  const summary: Record<string, number[]> = {};
  for (const dir of sleeveDirections(captures)) {
    const kinds = { data: 0, fragtest: 0, heartbeat: 0, mtutest: 0 };
    const mtuCandidates: number[] = [];
    for (const p of dir.packets) {
      const payload = p.udp!.payload;
      assert.equal(decodeDatagramSender(payload), dir.from.name);
      const frames = decodeFrames(payload, 6);
      assert.ok(frames.length > 0);
      for (const f of frames) {
        assert.equal(f.dst, dir.to.name, "frame for the receiving peer");
        const special = classifySpecial(f.frame);
        if (special === null) {
          kinds.data++;
          continue;
        }
        kinds[special.kind]++;
        assert.equal(frames.length, 1, "special frames travel alone");
        assert.equal(f.src, dir.from.name);
        if (special.kind === "heartbeat") {
          assert.equal(special.connUID, connUID(dir.from, dir.to));
          assert.equal(payload.length, 42);
          assert.equal(p.ip.dontFragment, true);
          assert.equal(p.udp!.checksum, 0);
        } else if (special.kind === "fragtest") {
          assert.equal(f.frame.length, 60001);
          assert.ok(f.frame.every((b) => b === 0));
          assert.equal(payload.length, 60021);
          assert.equal(p.ip.fragmentCount, 41);
          assert.equal(p.ip.dontFragment, false);
        } else {
          mtuCandidates.push(special.mtu);
          assert.equal(f.frame.length, 1452);
          assert.equal(p.ip.dontFragment, true);
          assert.equal(p.udp!.checksum, 0);
        }
      }
    }
    assert.deepEqual(new Set(mtuCandidates), new Set([1438]));
    summary[`${dir.from.nick}->${dir.to.nick}`] = [
      dir.packets.length,
      kinds.data,
      kinds.fragtest,
      kinds.heartbeat,
      kinds.mtutest,
    ];
  }
  // [datagrams, data frames, frag tests, heartbeats, MTU tests] as in plain-udp-sleeve.txt
  assert.deepEqual(summary, {
    "h1->h2": [24, 17, 1, 6, 1],
    "h1->h3": [22, 15, 1, 6, 1],
    "h2->h1": [25, 18, 1, 6, 1],
    "h2->h3": [22, 12, 1, 6, 4],
    "h3->h1": [27, 21, 1, 6, 1],
    "h3->h2": [19, 13, 1, 6, 1],
  });
  for (const connection of PLAIN_CONNECTIONS) {
    assert.equal(connUID(connection.dialler, connection.acceptor), connection.connUID);
  }
});

// ---- password scenario --------------------------------------------------------

const E1: Host = { ...H1 };
const E2: Host = { ...H2 };

async function loadEnc(): Promise<HostCapture[]> {
  return await Promise.all([E1, E2].map((h) => loadHost("enc", h)));
}

Deno.test("enc captures: TCP intro, public keys and ciphertext framing", async () => {
  const captures = await loadEnc();
  const [conn, ...others] = meshConnections(captures);
  assert.equal(others.length, 0);
  assert.equal(conn.dialler, E2);
  assert.equal(conn.acceptor, E1);
  const out = readDirection(conn.tcp.outbound, true);
  const inb = readDirection(conn.tcp.inbound, false);
  for (const d of [out, inb]) {
    assert.deepEqual(d.header, { min: 1, max: 2 });
    assert.equal(d.flag, 1);
    assert.equal(d.publicKey?.length, 32);
    for (const f of d.frames) assert.ok(f.bytes.length >= 17, "secretbox of at least a tag byte");
  }
  const key = (k: Uint8Array) => hex(k).replaceAll(" ", "");
  assert.match(key(inb.publicKey!), /^fcfc61c3[0-9a-f]{52}bb22$/);
  assert.match(key(out.publicKey!), /^e0274130[0-9a-f]{52}8c67$/);
  assert.equal(out.frames[0].bytes.length, 186);
  assert.equal(inb.frames[0].bytes.length, 188);
});

Deno.test("enc captures: encrypted sleeve sequence numbers", async () => {
  const captures = await loadEnc();
  for (const dir of sleeveDirections(captures)) {
    const what = `${dir.from.nick}->${dir.to.nick}`;
    const split = dir.packets.map((p) => ({ p, d: splitEncrypted(p.udp!.payload) }));
    assert.ok(split.length >= 3, what);
    for (const { p, d } of split) {
      assert.equal(d.sender, dir.from.name);
      assert.equal(d.df, p.ip.dontFragment, `${what}: DF bit matches the DF path`);
    }
    const [heartbeat, fragTest, mtuTest] = split;
    assert.equal(heartbeat.d.seqNoAndDF, 0x8000000000000000n);
    assert.equal(heartbeat.p.udp!.payload.length, 66);
    assert.equal(fragTest.p.ip.fragmentCount, 41);
    assert.equal(fragTest.p.udp!.payload.length, 60045);
    assert.deepEqual([fragTest.d.df, fragTest.d.seq], [false, 0n]);
    assert.equal(mtuTest.p.udp!.payload.length, 1472);
    assert.deepEqual([mtuTest.d.df, mtuTest.d.seq], [true, 2n]);
    const nonDF = split.filter(({ d }) => !d.df).map(({ d }) => d.seq);
    assert.deepEqual(nonDF, nonDF.map((_, i) => BigInt(i)), `${what}: non-DF seq 0,1,2,…`);
  }
});
