/**
 * The `IPallocation` channel's {@link Gossiper} and {@link GossipData}
 * (spec §6.2, Weave's `ipam/allocator.go` gossip part). They only decode and
 * dispatch: the allocator decides. As in Go, the data is "always the latest":
 * merging does nothing and encoding reads the allocator's state at send time.
 *
 * Errors thrown by the target (a malformed payload, a ring that cannot be
 * merged) propagate, so the mesh closes the connection as Go's does.
 *
 * @module
 */
import { formatPeerName, type PeerName, UNKNOWN_PEER_NAME } from "../lib/peer_name.ts";
import type { GossipData, Gossiper } from "../mesh/gossip_types.ts";
import type { Range } from "./address.ts";
import { decodeGossipState, decodeIpamUnicast, type GossipState } from "./gossip_codec.ts";

/** Name of the gossip channel. */
export const IPAM_CHANNEL = "IPallocation";

/** What the gossiper drives (the {@link Allocator} fits). */
export interface IpamGossipTarget {
  /** Our state as a `gossipState` payload, read at send time. */
  encodeGossip(): Uint8Array;
  /** A `gossipState` arrived; `sender` is 0n when unknown (periodic gossip). */
  onGossipState(sender: PeerName, state: GossipState): void;
  /** A peer asks for space in `range`. */
  onSpaceRequest(sender: PeerName, range: Range): void;
  /** A peer refused our request for `range`. */
  onSpaceRequestDenied(sender: PeerName, range: Range): void;
}

/** Data that encodes the target's current state whenever it is sent. */
export class IpamGossipData implements GossipData {
  readonly #target: IpamGossipTarget;

  constructor(target: IpamGossipTarget) {
    this.#target = target;
  }

  encode(): Uint8Array[] {
    return [this.#target.encodeGossip()];
  }

  merge(_other: GossipData): GossipData {
    return this;
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
    this.#target.onGossipState(origin, decodeGossipState(update).state);
    return this.gossip();
  }

  gossip(): GossipData {
    return new IpamGossipData(this.#target);
  }

  onGossip(update: Uint8Array): GossipData | null {
    this.#target.onGossipState(UNKNOWN_PEER_NAME, decodeGossipState(update).state);
    return null;
  }
}
