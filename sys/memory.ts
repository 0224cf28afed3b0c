/**
 * Giving freed memory back to the system.
 *
 * Deno's buffers (sockets, ArrayBuffer backing stores) come from glibc's malloc, which keeps
 * what is freed for reuse instead of returning it. After a burst (a flood of hostile
 * connections, a mesh forming, a large transfer) the router's RSS then stays at the burst's
 * high-water mark: 400 hostile sessions took it from 64 to 119 MB, still 124 MB minutes
 * later. `malloc_trim(0)` returns the free pages; it walks malloc's free lists, which takes
 * well under a millisecond for a router's heap, so the router calls it once a minute.
 *
 * V8 keeps its own high-water mark too: a burst of short-lived objects and buffers leaves
 * the heap grown and the buffers' memory allocated until a full collection, which an idle
 * router may not run for minutes. The router therefore runs with `--expose-gc` (the `./weave`
 * launcher's V8 flags) and a full collection (a few ms on its ~10 MB heap) comes first, when
 * `gc` is available.
 *
 * @module
 */
import { libc } from "./libc.ts";

/** How often the router gives freed memory back (ms). */
export const MEMORY_TRIM_INTERVAL_MS = 60_000;

/**
 * Collects V8's garbage (when `--expose-gc` made `gc` available), then returns the memory
 * malloc holds free to the system; true if some was returned.
 *
 * @example
 * ```ts ignore
 * import { releaseFreedMemory } from "./memory.ts";
 * releaseFreedMemory();
 * ```
 */
export function releaseFreedMemory(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc === "function") gc();
  return libc().malloc_trim(0n) === 1;
}
