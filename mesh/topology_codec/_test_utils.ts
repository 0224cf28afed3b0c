/**
 * Seeded random topologies and comparison helpers for the topology codec's
 * fast-path tests, which check the fast encoder and decoder against the
 * generic gob path.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ConnectionSummary, PeerSummary } from "../topology_types.ts";

/** mulberry32: a small seeded generator, so that failures reproduce. */
export function prng(seed: number): () => number {
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

/** A random peer summary, with edge values (zero, maximum) likely. */
export function randomPeer(rand: () => number): PeerSummary {
  return {
    name: pick(rand, [0n, (1n << 48n) - 1n, randomBits(rand, 48)]),
    nickName: randomString(rand, rand() < 0.1 ? 300 : 20),
    uid: randomUint64(rand),
    version: pick(rand, [0n, 1n, randomBits(rand, 20), randomUint64(rand)]),
    shortID: pick(rand, [0, 127, 128, 4095, Math.floor(rand() * 4096)]),
    hasShortID: rand() < 0.7,
  };
}

/** A random connection summary; a few have long non-ASCII addresses. */
export function randomConnection(rand: () => number): ConnectionSummary {
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

/** `peers` random entries with up to `maxConnections` connections each. */
export function randomTopology(rand: () => number, peers: number, maxConnections: number) {
  return Array.from({ length: peers }, () => ({
    peer: randomPeer(rand),
    connections: Array.from(
      { length: rand() < 0.1 ? 0 : Math.floor(rand() * (maxConnections + 1)) },
      () => randomConnection(rand),
    ),
  }));
}

/** Asserts equal bytes, naming the first difference (a diff of large arrays is slow). */
export function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  assert.ok(
    i === actual.length && i === expected.length,
    `${what}: bytes differ at ${i} (lengths ${actual.length}, ${expected.length})`,
  );
}

/** The result or the error (class and message) of a call, for comparing two paths. */
export function outcome(fn: () => unknown): unknown {
  try {
    return { value: fn() };
  } catch (error) {
    assert.ok(error instanceof Error);
    return { error: `${error.constructor.name}: ${error.message}` };
  }
}
