import assert from "node:assert/strict";
import { peerNameToBytes } from "../lib/peer_name.ts";
import { GobEncoder } from "./gob/encoder.ts";
import { B, BYTES, gobSlice, gobStruct, S, U } from "./gob/types.ts";
import {
  CONNECTION_LIST_TYPE,
  decodeTopology,
  decodeTopologyGeneric,
  encodeTopology,
  encodeTopologyGeneric,
  PEER_SUMMARY_TYPE,
} from "./topology_codec.ts";
import type { ConnectionSummary, PeerSummary, TopologyEntry } from "./topology_types.ts";

/** mulberry32: a small seeded generator, so that failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const PIECES = ["a", "Z", "0", "-", ".", ":", "é", "ü", "ß", "字", "😀", "\u{feff}", "\ud800", " "];

function randomString(rand: () => number, maxLength: number): string {
  const n = rand() < 0.2 ? 0 : Math.floor(rand() * maxLength);
  let s = "";
  const ascii = rand() < 0.5;
  for (let i = 0; i < n; i++) {
    s += ascii ? String.fromCharCode(32 + Math.floor(rand() * 95)) : pick(rand, PIECES);
  }
  return s;
}

function pick<T>(rand: () => number, items: T[]): T {
  return items[Math.floor(rand() * items.length)];
}

function randomBits(rand: () => number, bits: number): bigint {
  let v = 0n;
  for (let i = 0; i < bits; i += 16) v = (v << 16n) | BigInt(Math.floor(rand() * 0x10000));
  return v & ((1n << BigInt(bits)) - 1n);
}

function randomUint64(rand: () => number): bigint {
  const max = (1n << 64n) - 1n;
  return pick(rand, [0n, 1n, 127n, 128n, max, max - randomBits(rand, 8), randomBits(rand, 64)]);
}

function randomPeer(rand: () => number): PeerSummary {
  return {
    name: pick(rand, [0n, (1n << 48n) - 1n, randomBits(rand, 48)]),
    nickName: randomString(rand, rand() < 0.1 ? 300 : 20),
    uid: randomUint64(rand),
    version: pick(rand, [0n, 1n, randomBits(rand, 20), randomUint64(rand)]),
    shortID: pick(rand, [0, 127, 128, 4095, Math.floor(rand() * 4096)]),
    hasShortID: rand() < 0.7,
  };
}

function randomConnection(rand: () => number): ConnectionSummary {
  return {
    name: randomBits(rand, 48),
    remoteTCPAddr: rand() < 0.05
      ? randomString(rand, 400)
      : `10.${Math.floor(rand() * 256)}.0.${Math.floor(rand() * 256)}:${
        Math.floor(rand() * 65536)
      }`,
    outbound: rand() < 0.5,
    established: rand() < 0.5,
  };
}

function randomTopology(rand: () => number, peers: number, maxConnections: number) {
  return Array.from({ length: peers }, () => ({
    peer: randomPeer(rand),
    connections: Array.from(
      { length: rand() < 0.1 ? 0 : Math.floor(rand() * (maxConnections + 1)) },
      () => randomConnection(rand),
    ),
  }));
}

/** Asserts equal bytes, naming the first difference (a diff of large arrays is slow). */
function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  assert.ok(
    i === actual.length && i === expected.length,
    `${what}: bytes differ at ${i} (lengths ${actual.length}, ${expected.length})`,
  );
}

/** The result or the error (class and message) of a call, for comparing two paths. */
function outcome(fn: () => unknown): unknown {
  try {
    return { value: fn() };
  } catch (error) {
    assert.ok(error instanceof Error);
    return { error: `${error.constructor.name}: ${error.message}` };
  }
}

Deno.test("fast topology codec: same bytes and values as the generic path (random topologies)", () => {
  const rand = prng(1);
  for (const [peers, connections] of [[0, 0], [1, 0], [1, 3], [5, 4], [40, 39], [200, 12]]) {
    const entries = randomTopology(rand, peers, connections);
    const bytes = encodeTopology(entries);
    assertSameBytes(bytes, encodeTopologyGeneric(entries), `N=${peers}`);
    const decoded = decodeTopology(bytes);
    assert.deepStrictEqual(decoded, decodeTopologyGeneric(bytes), `N=${peers}`);
    assert.equal(decoded.length, peers);
  }
});

Deno.test("fast topology codec: round trip of ASCII topologies, also from a view at an offset", () => {
  const rand = prng(2);
  const entries: TopologyEntry[] = randomTopology(rand, 30, 29).map(({ peer, connections }) => ({
    peer: { ...peer, nickName: `peer-${peer.shortID}` },
    connections: connections.map((c) => ({ ...c, remoteTCPAddr: `192.0.2.1:${c.name % 65536n}` })),
  }));
  const bytes = encodeTopology(entries);
  assert.deepStrictEqual(decodeTopology(bytes), entries);
  const shifted = new Uint8Array(bytes.length + 7);
  shifted.set(bytes, 7);
  assert.deepStrictEqual(decodeTopology(shifted.subarray(7)), entries);
});

Deno.test("fast topology codec: a full mesh of 200 peers", () => {
  const n = 200;
  const entries: TopologyEntry[] = Array.from({ length: n }, (_, i) => ({
    peer: {
      name: BigInt(0x020000000000 + i),
      nickName: `r${i}`,
      uid: (1n << 64n) - 1n - BigInt(i),
      version: BigInt(i),
      shortID: i,
      hasShortID: true,
    },
    connections: Array.from({ length: n - 1 }, (_, j) => ({
      name: BigInt(0x020000000000 + ((i + j + 1) % n)),
      remoteTCPAddr: `127.0.0.${j % 250}:${6783 + j}`,
      outbound: j % 2 === 0,
      established: j % 3 !== 0,
    })),
  }));
  const bytes = encodeTopology(entries);
  assertSameBytes(bytes, encodeTopologyGeneric(entries), "full mesh");
  assert.deepStrictEqual(decodeTopology(bytes), entries);
});

Deno.test("fast topology encoder: input of the wrong shape fails as the generic encoder does", () => {
  const good = randomTopology(prng(3), 2, 2);
  const variants: unknown[] = [
    { uid: -1n },
    { version: 1n << 64n },
    { nickName: 5 },
    { shortID: 1.5 },
    { shortID: -1 },
    { hasShortID: "yes" },
    { name: 7 },
  ];
  for (const change of variants) {
    const entries = [{ ...good[0], peer: { ...good[0].peer, ...(change as object) } }, good[1]];
    const bad = entries as unknown as TopologyEntry[];
    assert.deepStrictEqual(
      outcome(() => encodeTopology(bad)),
      outcome(() => encodeTopologyGeneric(bad)),
      JSON.stringify(change, (_, v) => typeof v === "bigint" ? `${v}n` : v),
    );
  }
  const badConnection = [{
    ...good[0],
    connections: [{ ...good[0].connections[0], outbound: 1 }],
  }] as unknown as TopologyEntry[];
  assert.throws(() => encodeTopology(badConnection), /expected bool, got number/);
  // Names beyond 48 bits keep their low 48 bits on both paths (peerNameToBytes).
  const wide = [{ ...good[0], peer: { ...good[0].peer, name: -1n } }];
  assertSameBytes(encodeTopology(wide), encodeTopologyGeneric(wide), "wide name");
});

Deno.test("fast topology decoder: every truncation fails or succeeds exactly as the generic decoder", () => {
  const bytes = encodeTopology(randomTopology(prng(4), 4, 3));
  for (let len = 0; len < bytes.length; len++) {
    const cut = bytes.subarray(0, len);
    const fast = outcome(() => decodeTopology(cut));
    assert.deepStrictEqual(fast, outcome(() => decodeTopologyGeneric(cut)), `@${len}`);
    if ("error" in (fast as object)) {
      assert.match((fast as { error: string }).error, /^(RangeError|SyntaxError): /, `@${len}`);
    }
  }
});

Deno.test("fast topology decoder: mutated and random bytes behave as the generic decoder", () => {
  const rand = prng(5);
  const bytes = encodeTopology(randomTopology(rand, 6, 4));
  for (let round = 0; round < 1500; round++) {
    const mutated = bytes.slice();
    const flips = 1 + Math.floor(rand() * 3);
    for (let i = 0; i < flips; i++) {
      mutated[Math.floor(rand() * mutated.length)] = Math.floor(rand() * 256);
    }
    assert.deepStrictEqual(
      outcome(() => decodeTopology(mutated)),
      outcome(() => decodeTopologyGeneric(mutated)),
      `round ${round}`,
    );
  }
  for (let round = 0; round < 500; round++) {
    const noise = Uint8Array.from({ length: Math.floor(rand() * 200) }, () => rand() * 256);
    const fast = outcome(() => decodeTopology(noise));
    assert.deepStrictEqual(fast, outcome(() => decodeTopologyGeneric(noise)), `noise ${round}`);
  }
});

Deno.test("fast topology decoder: other field orders and extra fields decode as the generic decoder", () => {
  const peer = { ...randomPeer(prng(6)), nickName: "h6" };
  const conn = { ...randomConnection(prng(7)), remoteTCPAddr: "192.0.2.7:6783" };
  const name = (n: bigint) => peerNameToBytes(n);
  const reordered = gobStruct("peerSummary", [...PEER_SUMMARY_TYPE.fields].reverse());
  const extra = gobStruct("connectionSummary", [
    ["Extra", U],
    ["NameByte", BYTES],
    ["RemoteTCPAddr", S],
    ["Outbound", B],
    ["Established", B],
  ]);
  const enc = new GobEncoder();
  const value = {
    NameByte: name(peer.name),
    NickName: peer.nickName,
    UID: peer.uid,
    Version: peer.version,
    ShortID: peer.shortID,
    HasShortID: peer.hasShortID,
  };
  const list = [{
    Extra: 9,
    NameByte: name(conn.name),
    RemoteTCPAddr: conn.remoteTCPAddr,
    Outbound: conn.outbound,
    Established: conn.established,
  }];
  const parts = [0, 1, 2].flatMap(() => [
    enc.encode(value, reordered),
    enc.encode(list, gobSlice(extra)),
  ]);
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (bytes.set(p, at), at + p.length), 0);
  const decoded = decodeTopology(bytes);
  assert.deepStrictEqual(decoded, decodeTopologyGeneric(bytes));
  assert.deepStrictEqual(decoded, [0, 1, 2].map(() => ({ peer, connections: [conn] })));
});

Deno.test("fast topology decoder: a later value of the wrong kind is reported as by the generic path", () => {
  const [entry] = randomTopology(prng(8), 1, 1);
  const enc = new GobEncoder();
  const parts = [
    enc.encode(encodeValue(entry.peer), PEER_SUMMARY_TYPE),
    enc.encode([], CONNECTION_LIST_TYPE),
    enc.encode([], CONNECTION_LIST_TYPE), // a list where a peer is due
    enc.encode([], CONNECTION_LIST_TYPE),
  ];
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (bytes.set(p, at), at + p.length), 0);
  const fast = outcome(() => decodeTopology(bytes));
  assert.deepStrictEqual(fast, outcome(() => decodeTopologyGeneric(bytes)));
  assert.match((fast as { error: string }).error, /TypeError: .*expected a struct/);
});

function encodeValue(peer: PeerSummary) {
  return { NameByte: peerNameToBytes(peer.name), NickName: peer.nickName, UID: peer.uid };
}
