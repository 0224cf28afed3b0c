/**
 * An in-memory {@link IpamStore} for tests (CNI host-local's
 * `backend/testing/fake_store.go`). It keeps deep copies, counts saves, can
 * hold saves back (to look at the moment before a write lands, as a
 * `kill -9` would) and can fail them.
 *
 * @module
 */
import { cloneIpamState, type IpamState, type IpamStore } from "./store.ts";

/**
 * A store in memory.
 *
 * @example
 * ```ts
 * import { FakeStore } from "./fake_store.ts";
 * const store = new FakeStore();
 * await store.save({ peerName: 1n, owned: new Map(), holds: new Map() });
 * store.saves; // 1
 * ```
 */
export class FakeStore implements IpamStore {
  /** The last state that completed saving (what a restart would load). */
  saved: IpamState | undefined;
  /** Number of completed saves. */
  saves = 0;
  /** While true, saves wait (neither complete nor fail) until {@link release}. */
  paused = false;
  /** When set, the next save fails with this error (and is then cleared). */
  failNext: Error | undefined;
  /** When set, `load` throws it (e.g. an IpamStoreCorruptError). */
  loadError: Error | undefined;
  #held: (() => void)[] = [];

  constructor(initial?: IpamState) {
    this.saved = initial ? cloneIpamState(initial) : undefined;
  }

  load(): Promise<IpamState | undefined> {
    if (this.loadError) return Promise.reject(this.loadError);
    return Promise.resolve(this.saved ? cloneIpamState(this.saved) : undefined);
  }

  save(state: IpamState): Promise<void> {
    const copy = cloneIpamState(state);
    const fail = this.failNext;
    this.failNext = undefined;
    const finish = (resolve: () => void, reject: (e: Error) => void) => {
      if (fail) return reject(fail);
      this.saved = copy;
      this.saves++;
      resolve();
    };
    return new Promise((resolve, reject) => {
      if (this.paused) this.#held.push(() => finish(resolve, reject));
      else finish(resolve, reject);
    });
  }

  /** Completes the saves held while {@link paused}, in order, and unpauses. */
  release(): void {
    this.paused = false;
    for (const f of this.#held.splice(0)) f();
  }
}
