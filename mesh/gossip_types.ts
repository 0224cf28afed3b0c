/**
 * The gossip seam, after weaveworks/mesh `gossip.go`: each channel (topology,
 * IPallocation, nameserver) has a {@link Gossiper} that turns received bytes
 * into state changes, and {@link GossipData} that the mesh queues per
 * connection, merges while pending, and encodes when it sends.
 *
 * Contract: a method that throws makes the mesh close the connection the
 * message came on (as a Go gossiper error does), so throw only for data that
 * is truly invalid.
 *
 * @module
 */
import type { PeerName } from "../lib/peer_name.ts";

/** State (or a delta of it) waiting to be sent on one channel. */
export interface GossipData {
  /** Encodes for sending; may yield several messages (each one payload). */
  encode(): Uint8Array[];
  /** Returns data holding both this and `other` (may mutate and return `this`). */
  merge(other: GossipData): GossipData;
}

/** The application side of one gossip channel. */
export interface Gossiper {
  /** A unicast addressed to us arrived from `sender`. */
  onGossipUnicast(sender: PeerName, message: Uint8Array): void;
  /** A broadcast from `origin` arrived; returns what to relay further (or null). */
  onGossipBroadcast(origin: PeerName, update: Uint8Array): GossipData | null;
  /** Our full state for periodic gossip (or null when there is nothing). */
  gossip(): GossipData | null;
  /** Gossip arrived; returns the part that was new to us (or null), to pass on. */
  onGossip(update: Uint8Array): GossipData | null;
}
