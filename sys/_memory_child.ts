/**
 * Child of `memory_test.ts` (run with `--v8-flags=--expose-gc`): allocates ~80 MB in small
 * buffers, frees them, and prints the RSS in MB after the free and after
 * {@link releaseFreedMemory}, as JSON.
 *
 * @module
 */
import { releaseFreedMemory } from "./memory.ts";

const gc = (globalThis as unknown as { gc: () => void }).gc;
const rss = () => Math.round(Deno.memoryUsage().rss / 1e6);
let held: Uint8Array[] = [];
for (let i = 0; i < 20_000; i++) held.push(new Uint8Array(4096 + (i % 7) * 64));
// Keep the last one, so the top of malloc's heap stays in use and only a trim can give back.
held = [held[held.length - 1]];
gc();
gc();
await new Promise((r) => setTimeout(r, 50));
gc();
const freed = rss();
// Garbage that only a full collection frees (a burst's objects), collected by the call.
let garbage: unknown[] | null = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `x${i}` }));
garbage = null;
const heapBefore = Math.round(Deno.memoryUsage().heapUsed / 1e6);
const returned = releaseFreedMemory();
const heapAfter = Math.round(Deno.memoryUsage().heapUsed / 1e6);
const report = JSON.stringify({
  freed,
  trimmed: rss(),
  returned,
  kept: held.length + (garbage === null ? 0 : 1),
  heapBefore,
  heapAfter,
});
await Deno.stdout.write(new TextEncoder().encode(report + "\n"));
