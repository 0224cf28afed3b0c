/**
 * When the router gives freed memory back ({@link releaseFreedMemory}: a full V8 collection,
 * then `malloc_trim`): once a minute, but only when the data path was quiet in that minute.
 * The collection pauses the router for a few milliseconds; during a transfer over sleeve that
 * pause overflows socket and TAP queues (measured: 2,800–3,900 TCP retransmits per 10 s with
 * four iperf3 streams when it ran under load, none when it did not). Memory left by a burst is
 * still given back: the first quiet minute after it.
 *
 * @module
 */
import { MEMORY_TRIM_INTERVAL_MS, releaseFreedMemory } from "../sys/memory.ts";

/** Frames per interval below which the data path counts as quiet (~1.5 MB a minute). */
export const QUIET_FRAMES = 1000;

/**
 * Whether to trim now, given the data path's frame count at the last tick and now.
 *
 * @example
 * ```ts
 * import { quietEnough } from "./memory_trim.ts";
 * quietEnough(5_000, 5_010); // true
 * quietEnough(5_000, 900_000); // false
 * ```
 */
export function quietEnough(before: number, now: number): boolean {
  return now - before < QUIET_FRAMES;
}

/**
 * One tick of the timer: releases when the data path was quiet since the previous tick.
 *
 * @example
 * ```ts
 * import { trimTick } from "./memory_trim.ts";
 * let frames = 0, released = 0;
 * const tick = trimTick(() => frames, () => released++);
 * frames = 50_000;
 * tick(); // busy: nothing
 * tick(); // quiet since: released === 1
 * ```
 */
export function trimTick(frames: () => number, release: () => unknown): () => void {
  let last = frames();
  return () => {
    const now = frames();
    if (quietEnough(last, now)) release();
    last = now;
  };
}

/**
 * Starts the trim timer; `frames` counts the frames the data path has moved so far. Disposing
 * stops it.
 *
 * @example
 * ```ts ignore
 * using _trim = trimWhenQuiet(() => network.stats().captured + network.stats().injected);
 * ```
 */
export function trimWhenQuiet(
  frames: () => number,
  intervalMs = MEMORY_TRIM_INTERVAL_MS,
): Disposable {
  const timer = setInterval(trimTick(frames, releaseFreedMemory), intervalMs);
  return { [Symbol.dispose]: () => clearInterval(timer) };
}
