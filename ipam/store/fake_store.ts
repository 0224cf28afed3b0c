/**
 * An in-memory {@link IpamStore} for tests (CNI host-local's
 * `backend/testing/fake_store.go`). It keeps deep copies, counts saves, can
 * hold saves back (to look at the moment before a write lands, as a
 * `kill -9` would) and can fail them.
 *
 * @module
 */
import {
  applyIpamUpdate,
  cloneIpamState,
  type IpamState,
  type IpamStore,
  type IpamUpdate,
  type OwnedData,
} from "./store.ts";

/**
 * A store in memory.
 *
 * @example
 * ```ts
 * import { FakeStore } from "./fake_store.ts";
 * const store = new FakeStore();
 * await store.save({ peerName: 1n, owned: new Map(), holds: new Map(), full: true });
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
  /** Every update received, in order (copies). */
  readonly updates: IpamUpdate[] = [];
  #held: (() => void)[] = [];
  /** The state with every update applied, saved or not. */
  #state: IpamState | undefined;

  constructor(initial?: IpamState) {
    this.saved = initial ? cloneIpamState(initial) : undefined;
    this.#state = initial ? cloneIpamState(initial) : undefined;
  }

  load(): Promise<IpamState | undefined> {
    if (this.loadError) return Promise.reject(this.loadError);
    return Promise.resolve(this.saved ? cloneIpamState(this.saved) : undefined);
  }

  save(update: IpamUpdate): Promise<void> {
    this.updates.push(copyUpdate(update));
    this.#state = applyIpamUpdate(
      this.#state ?? { peerName: update.peerName, owned: new Map(), holds: new Map() },
      copyUpdate(update),
    );
    const copy = cloneIpamState(this.#state);
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

/** A deep copy of an update (the store's own, so that tests may look at it later). */
function copyUpdate(u: IpamUpdate): IpamUpdate {
  const owned = new Map<string, OwnedData | null>();
  for (const [ident, d] of u.owned) {
    owned.set(ident, d && { isContainer: d.isContainer, cidrs: d.cidrs.map((c) => ({ ...c })) });
  }
  const ring = u.ring && {
    ...u.ring,
    entries: u.ring.entries.map((e) => ({ ...e })),
    seeds: [...u.ring.seeds],
  };
  const holds = new Map([...u.holds].map(([t, h]) => [t, { ...h }]));
  return { peerName: u.peerName, ring, holds, owned, full: u.full };
}
