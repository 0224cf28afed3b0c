/**
 * Whether the state an allocator finds in its store at start is its own to
 * use: state saved under another peer name (the host was renamed or the
 * file copied) or for another `--ipalloc-range` is discarded, with the
 * reason logged, and overwritten by the next save.
 *
 * @module
 */
import { type Cidr, formatCidr } from "../lib/cidr.ts";
import type { PeerName } from "../lib/peer_name.ts";
import { cidrRange } from "./address/mod.ts";
import { ipText } from "./_operations.ts";
import { peerText } from "./ring/mod.ts";
import type { IpamState } from "./store/mod.ts";

/**
 * The verdict on loaded state: use it, or discard it for the reason given.
 *
 * @example
 * ```ts
 * import { persistedVerdict } from "./_restore.ts";
 * const state = { peerName: 2n, owned: new Map(), holds: new Map() };
 * persistedVerdict(state, { ourName: 1n, universe: { network: 0x0a200000, prefix: 12 } });
 * // { use: false, why: "Deleting persisted data for peername 00:00:00:00:00:02" }
 * ```
 */
export function persistedVerdict(
  state: IpamState | undefined,
  us: { ourName: PeerName; universe: Cidr },
): { use: true; state: IpamState } | { use: false; why: string } {
  if (!state) return { use: false, why: "No valid persisted data" };
  if (state.peerName !== us.ourName) {
    return { use: false, why: `Deleting persisted data for peername ${peerText(state.peerName)}` };
  }
  const universe = cidrRange(us.universe);
  if (state.ring && (state.ring.start !== universe.start || state.ring.end !== universe.end)) {
    const theirs = `${ipText(state.ring.start)}-${ipText(state.ring.end - 1)}`;
    return {
      use: false,
      why: `Deleting persisted data for IPAM range ${theirs}; our range is ${
        formatCidr(us.universe)
      }`,
    };
  }
  return { use: true, state };
}
