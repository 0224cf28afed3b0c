/**
 * Sleeve's path MTU search (spec §4.4 step 5), one per connection. When a DF send fails with
 * EMSGSIZE, the kernel's path MTU minus sleeve's overhead becomes the first candidate; each
 * candidate is sent as an MTU test frame (DF) until the remote answers PMTUVerified with its
 * size or the tries run out, waits doubling from `mtuVerifyTimeoutMs`. A verified candidate
 * raises the lower bound, an unanswered one lowers the upper bound, and the binary search
 * ends where they meet (never below 552, where `highestGood` starts).
 *
 * @module
 */
import type { Clock } from "../../lib/clock.ts";

/** The MTU search never goes below this (`highestGood` starts here, spec §4.4). */
export const MIN_MTU = 552;

/** What a {@link PmtuSearch} needs from its forwarder. */
export interface PmtuSearchHost {
  clock: Clock;
  timing: {
    /** First MTU test wait, doubled on every retry. */
    mtuVerifyTimeoutMs: number;
    /** MTU tests per candidate before it counts as too big. */
    mtuVerifyAttempts: number;
  };
  /** Sends an MTU test frame for `candidate` on the DF path now. */
  sendTest(candidate: number): void;
  /** The search ended at `mtu`, the largest verified candidate. */
  verified(mtu: number): void;
}

interface Search {
  candidate: number;
  highestGood: number;
  lowestBad: number;
  attempt: number;
}

/**
 * The binary search of one connection's MTU.
 *
 * @example
 * ```ts ignore
 * const pmtu = new PmtuSearch({ clock, timing, sendTest: (n) => sendDF(mtuTestFrame(n)), verified: (n) => mtu = n });
 * if (pmtu.wants(1410)) pmtu.begin(1410);
 * pmtu.onVerified(1410); // the remote's PMTUVerified
 * ```
 */
export class PmtuSearch {
  readonly #host: PmtuSearchHost;
  #search: Search | null = null;
  #timer: unknown;

  constructor(host: PmtuSearchHost) {
    this.#host = host;
  }

  /** Whether a search for `mtu` would start: none runs, or the running one tries larger. */
  wants(mtu: number): boolean {
    return !this.#search || mtu < this.#search.candidate;
  }

  /** (Re)starts the search with `mtu` as the first candidate. */
  begin(mtu: number): void {
    this.#search = { candidate: mtu, highestGood: MIN_MTU, lowestBad: mtu + 1, attempt: 0 };
    this.#sendTest();
  }

  /** The remote received our test of `mtu` (PMTUVerified); others are ignored. */
  onVerified(mtu: number): void {
    const search = this.#search;
    if (!search || mtu !== search.candidate) return;
    this.#host.clock.clearTimeout(this.#timer);
    search.highestGood = mtu;
    this.#next(search);
  }

  /** Ends the search without a result. */
  stop(): void {
    this.#search = null;
    this.#host.clock.clearTimeout(this.#timer);
  }

  #sendTest(): void {
    const search = this.#search!;
    const { clock, timing } = this.#host;
    clock.clearTimeout(this.#timer);
    const wait = timing.mtuVerifyTimeoutMs * 2 ** search.attempt;
    this.#timer = clock.setTimeout(() => this.#onTimeout(), wait);
    this.#host.sendTest(search.candidate);
  }

  #onTimeout(): void {
    const search = this.#search;
    if (!search) return;
    search.attempt++;
    if (search.attempt < this.#host.timing.mtuVerifyAttempts) return this.#sendTest();
    search.lowestBad = search.candidate;
    this.#next(search);
  }

  #next(search: Search): void {
    if (search.highestGood + 1 >= search.lowestBad) {
      this.#host.clock.clearTimeout(this.#timer);
      this.#search = null;
      this.#host.verified(search.highestGood);
      return;
    }
    search.candidate = Math.floor((search.highestGood + search.lowestBad) / 2);
    search.attempt = 0;
    this.#sendTest();
  }
}
