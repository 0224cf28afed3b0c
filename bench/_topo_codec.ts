/**
 * Topology codec speed: `deno run -A bench/_topo_codec.ts [N]` encodes and
 * decodes a full mesh of N peers (N-1 connections each) through the generic
 * gob path and the fast path, in the same run, and prints both with ratios.
 *
 * @module
 */
import {
  decodeTopology,
  decodeTopologyGeneric,
  encodeTopology,
  encodeTopologyGeneric,
} from "../mesh/topology_codec/codec.ts";
import type { TopologyEntry } from "../mesh/topology_types.ts";
import { writeOut } from "./_host.ts";

const n = Number(Deno.args[0] ?? 50);
const entries: TopologyEntry[] = Array.from({ length: n }, (_, i) => ({
  peer: {
    name: BigInt(0x020000000000 + i),
    nickName: `r${i}`,
    uid: 12345678901234567890n + BigInt(i),
    version: 40n,
    shortID: i,
    hasShortID: true,
  },
  connections: Array.from({ length: n - 1 }, (_, j) => ({
    name: BigInt(0x020000000000 + ((i + j + 1) % n)),
    remoteTCPAddr: `127.0.0.${j + 1}:23456`,
    outbound: j % 2 === 0,
    established: true,
  })),
}));

/** Median milliseconds per call over enough rounds to fill ~`budget` ms, after a warm-up. */
function time(fn: () => unknown, budget = 400): number {
  const t0 = performance.now();
  fn();
  const once = Math.max(0.01, performance.now() - t0);
  const rounds = Math.max(5, Math.min(200, Math.round(budget / once)));
  for (let i = 0; i < Math.min(rounds, 20); i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

const bytes = encodeTopology(entries);
const same = encodeTopologyGeneric(entries);
if (bytes.length !== same.length || bytes.some((b, i) => b !== same[i])) {
  throw new Error("Cannot benchmark: fast and generic encodings differ");
}
const encGeneric = time(() => encodeTopologyGeneric(entries));
const encFast = time(() => encodeTopology(entries));
const decGeneric = time(() => decodeTopologyGeneric(bytes));
const decFast = time(() => decodeTopology(bytes));
const ms = (x: number) => `${x.toFixed(3)} ms`;
const rate = (x: number) => `${(bytes.length / 1e3 / x).toFixed(0)} MB/s`;
writeOut(`N=${n}: ${bytes.length} bytes (median per call)\n`);
writeOut(
  `  encode: generic ${ms(encGeneric)}, fast ${ms(encFast)} (${rate(encFast)}), ` +
    `${(encGeneric / encFast).toFixed(1)}x\n`,
);
writeOut(
  `  decode: generic ${ms(decGeneric)}, fast ${ms(decFast)} (${rate(decFast)}), ` +
    `${(decGeneric / decFast).toFixed(1)}x\n`,
);
