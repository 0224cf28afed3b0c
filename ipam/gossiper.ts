/**
 * The `IPallocation` channel's {@link Gossiper} and {@link GossipData}
 * (spec §6.2, Weave's `ipam/allocator.go` gossip part). They only decode and
 * dispatch: the allocator decides. As in Go, the data is "always the latest":
 * encoding reads the allocator's state at send time. Unlike Go, data may be
 * limited to some Paxos nodes (see `paxos/consensus.ts`), merging unites those
 * limits, and one data object sent down many connections is encoded once
 * per change of the allocator's state.
 *
 * Errors thrown by the target (a malformed payload, a ring that cannot be
 * merged) propagate, so the mesh closes the connection as Go's does.
 *
 * @module
 */
import { formatPeerName, type PeerName, UNKNOWN_PEER_NAME } from "../lib/peer_name.ts";
import type { GossipData, Gossiper } from "../mesh/gossip_types.ts";
import type { Range } from "./address/mod.ts";
import { decodeGossipState, decodeIpamUnicast, type GossipState } from "./gossip_codec.ts";
import { nodeKey } from "./paxos/mod.ts";

/** Name of the gossip channel. */
export const IPAM_CHANNEL = "IPallocation";

/** What the gossiper drives (the {@link Allocator} fits). */
export interface IpamGossipTarget {
  /**
   * Our state as a `gossipState` payload, read at send time; its Paxos part
   * limited to the nodes in `only` (by `nodeKey`) when given.
   */
  encodeGossip(only?: ReadonlySet<string>): Uint8Array;
  /** Changes whenever {@link encodeGossip} would encode something else. */
  gossipStamp(): string;
  /** A `gossipState` arrived; `sender` is 0n when unknown (periodic gossip). */
  onGossipState(sender: PeerName, state: GossipState): void;
  /** A peer asks for space in `range`. */
  onSpaceRequest(sender: PeerName, range: Range): void;
  /** A peer refused our request for `range`. */
  onSpaceRequestDenied(sender: PeerName, range: Range): void;
}

/**
 * Data that encodes the target's current state whenever it is sent (its
 * Paxos part limited to the nodes in `only`, when given).
 */
export class IpamGossipData implements GossipData {
  readonly #target: IpamGossipTarget;
  readonly only: ReadonlySet<string> | undefined;
  #stamp: string | undefined;
  #bytes: Uint8Array = new Uint8Array();

  constructor(target: IpamGossipTarget, only?: ReadonlySet<string>) {
    this.#target = target;
    this.only = only;
  }

  encode(): Uint8Array[] {
    const stamp = this.#target.gossipStamp();
    if (stamp !== this.#stamp) {
      this.#bytes = this.#target.encodeGossip(this.only);
      this.#stamp = stamp;
    }
    return [this.#bytes];
  }

  merge(other: GossipData): GossipData {
    if (!(other instanceof IpamGossipData) || this.only === undefined) return this;
    if (other.only === undefined) return other;
    const union = new Set([...this.only, ...other.only]);
    // Both encode the latest state: keep the newer (shared) object when it covers all.
    return union.size === other.only.size ? other : new IpamGossipData(this.#target, union);
  }
}

/**
 * The channel's gossiper.
 *
 * @example
 * ```ts ignore
 * const channel = router.newGossip(IPAM_CHANNEL, new IpamGossiper(allocator));
 * ```
 */
export class IpamGossiper implements Gossiper {
  readonly #target: IpamGossipTarget;

  constructor(target: IpamGossipTarget) {
    this.#target = target;
  }

  onGossipUnicast(sender: PeerName, message: Uint8Array): void {
    let msg;
    try {
      msg = decodeIpamUnicast(message);
    } catch (e) {
      throw new SyntaxError(
        `Cannot handle IPAM unicast from ${formatPeerName(sender)}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    if (msg.type === 0) this.#target.onSpaceRequest(sender, msg.range);
    else if (msg.type === 2) this.#target.onSpaceRequestDenied(sender, msg.range);
    else this.#target.onGossipState(sender, msg.state);
  }

  onGossipBroadcast(origin: PeerName, update: Uint8Array): GossipData | null {
    const state = decodeGossipState(update).state;
    this.#target.onGossipState(origin, state);
    // Relay what came (as we now know it); Go relays its whole state.
    const only = state.ring === undefined && state.paxos !== undefined
      ? new Set(state.paxos.map(([id]) => nodeKey(id)))
      : undefined;
    return new IpamGossipData(this.#target, only);
  }

  gossip(): GossipData {
    return new IpamGossipData(this.#target);
  }

  onGossip(update: Uint8Array): GossipData | null {
    this.#target.onGossipState(UNKNOWN_PEER_NAME, decodeGossipState(update).state);
    return null;
  }
}
