/**
 * A manual {@link Clock} for tests: time starts at 0 and moves only inside
 * {@link FakeClock.advance}, which fires due timeouts and intervals in time order (including
 * ones they set meanwhile).
 *
 * @module
 */
import type { Clock } from "./clock.ts";

interface Timer {
  at: number;
  fn: () => void;
  /** Period of an interval; absent for a timeout. */
  every?: number;
}

/**
 * A clock that only moves when told to.
 *
 * @example
 * ```ts
 * import { FakeClock } from "./fake_clock.ts";
 * const clock = new FakeClock();
 * let fired = 0;
 * clock.setInterval(() => fired++, 100);
 * clock.advance(250); // fired === 2
 * ```
 */
export class FakeClock implements Clock {
  /** Current time in ms. */
  now = 0;
  readonly #timers = new Map<number, Timer>();
  #next = 1;

  setTimeout(fn: () => void, ms: number): number {
    this.#timers.set(this.#next, { at: this.now + ms, fn });
    return this.#next++;
  }

  clearTimeout(id: unknown): void {
    this.#timers.delete(id as number);
  }

  setInterval(fn: () => void, ms: number): number {
    this.#timers.set(this.#next, { at: this.now + ms, fn, every: Math.max(1, ms) });
    return this.#next++;
  }

  clearInterval(id: unknown): void {
    this.#timers.delete(id as number);
  }

  /** Number of pending timeouts and intervals. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in time order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let due: [number, Timer] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= end && (!due || entry[1].at < due[1].at)) due = entry;
      }
      if (!due) break;
      const [id, timer] = due;
      this.now = timer.at;
      if (timer.every) timer.at += timer.every;
      else this.#timers.delete(id);
      timer.fn();
    }
    this.now = end;
  }
}
