/**
 * The topology data that travels in the `topology` gossip channel, decoded.
 * Field meanings as Weave's `peerSummary` / `connectionSummary`
 * (`../shared/spec/weave-protocol.md` §2.4, §9.3). Shared by the codec
 * (`topology_codec/`) and the peer table (`peers.ts`).
 *
 * @module
 */
import type { PeerName } from "../lib/peer_name.ts";

/** One peer's own record. */
export interface PeerSummary {
  name: PeerName;
  nickName: string;
  /** Random non-zero per process start; 0n marks a placeholder peer. */
  uid: bigint;
  /** Bumped by the peer on every change to its own state. */
  version: bigint;
  /** 12-bit short ID (0..4095); meaningful only when hasShortID. */
  shortID: number;
  hasShortID: boolean;
}

/** One connection as listed by the peer that holds it. */
export interface ConnectionSummary {
  /** The remote peer of this connection. */
  name: PeerName;
  /** `ip:port` of the remote end as the holder sees it. */
  remoteTCPAddr: string;
  outbound: boolean;
  established: boolean;
}

/** One entry of a topology update: a peer and its connection list. */
export interface TopologyEntry {
  peer: PeerSummary;
  connections: ConnectionSummary[];
}
