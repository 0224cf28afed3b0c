import { encodeTopology, decodeTopology } from "../mesh/topology_codec.ts";
import type { TopologyEntry } from "../mesh/topology_types.ts";
const n = Number(Deno.args[0] ?? 50);
const entries: TopologyEntry[] = Array.from({ length: n }, (_, i) => ({
  peer: { name: BigInt(0x020000000000 + i), nickName: `r${i}`, uid: 123456789012345678n + BigInt(i), version: 40n, shortID: i, hasShortID: true },
  connections: Array.from({ length: n - 1 }, (_, j) => ({ name: BigInt(0x020000000000 + ((i + j + 1) % n)), remoteTCPAddr: `127.0.0.${j + 1}:23456`, outbound: j % 2 === 0, established: true })),
}));
let t = performance.now(); let bytes!: Uint8Array;
for (let k = 0; k < 20; k++) bytes = encodeTopology(entries);
const enc = (performance.now() - t) / 20;
t = performance.now();
for (let k = 0; k < 20; k++) decodeTopology(bytes);
const dec = (performance.now() - t) / 20;
console.log(`N=${n}: ${bytes.length} bytes, encode ${enc.toFixed(2)} ms, decode ${dec.toFixed(2)} ms`);
