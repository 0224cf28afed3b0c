/**
 * In-place upgrade from Weave Net 2.8.1: on a node whose `DB_PREFIX` holds
 * Weave's `<prefix>data.db`, the first start of our router takes over its
 * peer name, ring, owned addresses and connect targets, so that the node's
 * pods keep their addresses and no other peer reclaims its range.
 *
 * {@link adoptWeaveState} is the thin pure adapter to what our router
 * persists (`router/state_store.ts` for the peer name, the IPAM store's
 * {@link IpamState} for ring and addresses); {@link loadWeaveState} is the
 * only file access. Weave's file is never changed or removed: a damaged one
 * is reported (a {@link WeaveStateError} naming the path) and left in place.
 *
 * @module
 */
import { formatPeerName } from "../lib/peer_name.ts";
import type { IpamState } from "../ipam/mod.ts";
import type { RouterState } from "../router/state_store.ts";
import type { PeerInfo } from "./peer_list.ts";
import { readWeaveState, type WeaveState, WeaveStateError } from "./weave_state.ts";

/** What our router persists, made from Weave's state. */
export interface AdoptedState {
  /** For `<db-prefix>data.json` (the peer name). */
  router: RouterState;
  /** For the IPAM store (ring, owned addresses; no takeover holds). */
  ipam: IpamState;
  /** The connect targets to restore (`POST /connect`), Weave's `directPeers`. */
  targets: string[];
}

/** Weave's state file for a `DB_PREFIX` (Weave appends `data.db` to the prefix). */
export function weaveStatePath(dbPrefix: string): string {
  return `${dbPrefix}data.db`;
}

/** Whether to take Weave's state over, and why not. */
export type UpgradeDecision = { adopt: true } | { adopt: false; reason: string };

/**
 * Whether Weave's state may be taken over (pure), as Weave's launch.sh
 * decided whether to keep it: once kube-utils' reclaim was in use on the
 * node (flag `peer-reclaim`), a peer name missing from the ConfigMap's peer
 * list means another peer reclaimed its ranges — using the old ring would
 * clash with theirs, so the state is not used (and left in place).
 *
 * @example
 * ```ts
 * import { upgradeDecision } from "./upgrade.ts";
 * const state = {
 *   version: [1, 0] as [number, number], peerName: 1n, owned: new Map(), directPeers: [],
 *   flags: new Map([["peer-reclaim", "ok"]]),
 * };
 * upgradeDecision(state, [{ PeerName: "00:00:00:00:00:01", NodeName: "n1" }]); // { adopt: true }
 * ```
 */
export function upgradeDecision(state: WeaveState, peerList: readonly PeerInfo[]): UpgradeDecision {
  const name = formatPeerName(state.peerName);
  if (!state.flags.has("peer-reclaim") || peerList.some((p) => p.PeerName === name)) {
    return { adopt: true };
  }
  return {
    adopt: false,
    reason:
      `peer ${name} is not in the peer list of ConfigMap kube-system/weave-net: another peer reclaimed its ranges, so this node starts afresh`,
  };
}

/**
 * Turns Weave's state into ours (pure; copies nothing it need not).
 *
 * @example
 * ```ts
 * import { adoptWeaveState } from "./upgrade.ts";
 * const adopted = adoptWeaveState({
 *   version: [1, 0], peerName: 0x020000000001n, owned: new Map(), directPeers: ["192.0.2.9"],
 *   flags: new Map(),
 * });
 * adopted.router.peerName; // "02:00:00:00:00:01"
 * ```
 */
export function adoptWeaveState(state: WeaveState): AdoptedState {
  const ipam: IpamState = { peerName: state.peerName, owned: state.owned, holds: new Map() };
  if (state.ring) ipam.ring = state.ring;
  return {
    router: { peerName: formatPeerName(state.peerName) },
    ipam,
    targets: [...state.directPeers],
  };
}

/**
 * Reads Weave's state under `dbPrefix`; undefined when there is no such
 * file. Throws {@link WeaveStateError} (with the path) when it is unusable.
 */
export async function loadWeaveState(dbPrefix: string): Promise<WeaveState | undefined> {
  const path = weaveStatePath(dbPrefix);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  try {
    return readWeaveState(bytes);
  } catch (cause) {
    throw new WeaveStateError(
      `Weave Net state "${path}" cannot be taken over (left in place): ${(cause as Error).message}`,
      { cause },
    );
  }
}
