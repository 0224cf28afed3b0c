/**
 * The IPAM persistence seam, after CNI host-local's `backend/store.go`: the
 * allocator reads an {@link IpamState} once at start and then hands each
 * change to {@link IpamStore.save} as an {@link IpamUpdate}: the ring and the
 * holds whole (their size grows with the peers, not with the addresses) and
 * only the identifiers whose addresses changed, so that a save costs the same
 * however many addresses are owned. The state replaces Weave's BoltDB keys
 * (`peername`, `ring`, `ownedAddresses`) and adds the takeover holds of
 * `rmpeer` (see `ipam/_takeover.ts`).
 *
 * The pure JSON form of the state is in `state_json.ts`; `file_store.ts` is
 * the only code that touches the disk; `fake_store.ts` keeps it in memory.
 *
 * @module
 */
import type { PeerName } from "../../lib/peer_name.ts";
import type { Address } from "../address/mod.ts";
import type { RingData } from "../ring/mod.ts";

/** An address handed to an identifier, with the prefix length of its subnet. */
export interface OwnedAddress {
  addr: Address;
  prefix: number;
}

/** What one identifier (container ID, `weave:expose`, …) owns. */
export interface OwnedData {
  isContainer: boolean;
  cidrs: OwnedAddress[];
}

/** A range taken over from `from`, kept out of allocation until `until` (ms since epoch). */
export interface TakeoverHold {
  from: PeerName;
  until: number;
}

/** Everything the allocator persists. */
export interface IpamState {
  /** The peer the data belongs to; data of another peer is never used. */
  peerName: PeerName;
  /** The ring, or undefined before consensus. */
  ring?: RingData;
  /** Addresses per identifier. */
  owned: Map<string, OwnedData>;
  /** Ring tokens taken over by `rmpeer` and still on hold (see `_takeover.ts`). */
  holds: Map<Address, TakeoverHold>;
}

/**
 * One save: the state after a change, with the owned addresses given as the
 * identifiers changed since the previous save. The allocator never changes
 * the objects it hands over, so a store may keep them.
 */
export interface IpamUpdate {
  peerName: PeerName;
  /** The whole ring, or undefined before consensus. */
  ring?: RingData;
  /** Every takeover hold. */
  holds: Map<Address, TakeoverHold>;
  /** Identifiers changed since the previous save with what they own now; `null`: nothing. */
  owned: Map<string, OwnedData | null>;
  /** When true, `owned` lists every identifier and replaces all those saved before. */
  full: boolean;
}

/**
 * Where the allocator keeps its state. Implementations must make `save`
 * atomic: after a crash, `load` returns either the state before or after
 * that save. Saves apply in the order they are called; a save that fails
 * still belongs to the store's state, and the next save that succeeds makes
 * it durable too.
 */
export interface IpamStore {
  /** The saved state; undefined when none was ever saved. Throws {@link IpamStoreCorruptError}. */
  load(): Promise<IpamState | undefined>;
  /** Applies `update` to the saved state; resolves once the result is durable. */
  save(update: IpamUpdate): Promise<void>;
}

/**
 * Applies an update to a state in place (stores use it on their copy);
 * keeps the update's objects, so copy them first if they may change.
 *
 * @example
 * ```ts
 * import { applyIpamUpdate, type IpamState } from "./store.ts";
 * const state: IpamState = { peerName: 1n, owned: new Map(), holds: new Map() };
 * const cidrs = [{ addr: 0x0a200001, prefix: 12 }];
 * applyIpamUpdate(state, {
 *   peerName: 1n, holds: new Map(), full: false,
 *   owned: new Map([["c1", { isContainer: true, cidrs }]]),
 * });
 * state.owned.size; // 1
 * ```
 */
export function applyIpamUpdate(state: IpamState, update: IpamUpdate): IpamState {
  state.peerName = update.peerName;
  state.ring = update.ring;
  state.holds = update.holds;
  if (update.full) state.owned = new Map();
  for (const [ident, d] of update.owned) {
    if (d === null) state.owned.delete(ident);
    else state.owned.set(ident, d);
  }
  return state;
}

/** The update that replaces everything with `state` (copies it). */
export function fullIpamUpdate(state: IpamState): IpamUpdate {
  const copy = cloneIpamState(state);
  return {
    peerName: copy.peerName,
    ring: copy.ring,
    holds: copy.holds,
    owned: copy.owned,
    full: true,
  };
}

/** A deep copy of a state (stores keep copies so that later changes do not leak in). */
export function cloneIpamState(state: IpamState): IpamState {
  return structuredClone(state);
}
