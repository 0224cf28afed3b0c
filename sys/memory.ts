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
 * @module
 */
import { libc } from "./libc.ts";

/** How often the router gives freed memory back (ms). */
export const MEMORY_TRIM_INTERVAL_MS = 60_000;

/**
 * Returns the memory malloc holds free to the system; true if some was returned.
 *
 * @example
 * ```ts ignore
 * import { releaseFreedMemory } from "./memory.ts";
 * releaseFreedMemory();
 * ```
 */
export function releaseFreedMemory(): boolean {
  return libc().malloc_trim(0n) === 1;
}
