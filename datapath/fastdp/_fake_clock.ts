/**
 * A manual clock for fastdp tests: timers fire only inside {@link FakeClock.advance}.
 *
 * @module
 */
import type { FastdpClock } from "./forwarder.ts";

interface Timer {
  at: number;
  fn: () => void;
}

/** Time starts at 0 and moves only when advanced. */
export class FakeClock implements FastdpClock {
  now = 0;
  readonly #timers = new Map<number, Timer>();
  #next = 1;

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.now + ms, fn });
    return id;
  }

  clearTimeout(id: unknown): void {
    this.#timers.delete(id as number);
  }

  /** Number of pending timers. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in order (including ones they set). */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let due: [number, Timer] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= end && (!due || entry[1].at < due[1].at)) due = entry;
      }
      if (!due) break;
      this.#timers.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = end;
  }
}
