/**
 * The clock seam: timer functions a component takes in its options, so tests drive time
 * with {@link FakeClock} (`fake_clock.ts`) instead of waiting. Sleeve and fastdp take it.
 *
 * @module
 */
import type { TimerId } from "./timer.ts";

/** Timer functions, injectable for tests. */
export interface Clock {
  /** Calls `fn` once after `ms`; returns an opaque id for {@link Clock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timeout; ignores `undefined` and ids already fired or cleared. */
  clearTimeout(id: unknown): void;
  /** Calls `fn` every `ms`; returns an opaque id for {@link Clock.clearInterval}. */
  setInterval(fn: () => void, ms: number): unknown;
  /** Cancels an interval; ignores `undefined` and ids already cleared. */
  clearInterval(id: unknown): void;
}

/**
 * The runtime's timers.
 *
 * @example
 * ```ts
 * import { realClock } from "./clock.ts";
 * realClock.clearTimeout(realClock.setTimeout(() => {}, 1000));
 * ```
 */
export const realClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as TimerId),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (id) => clearInterval(id as TimerId),
};
