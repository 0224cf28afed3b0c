/**
 * What an {@link Allocator} is built from: its options, what it needs from
 * the mesh, and the timing constants.
 *
 * @module
 */
import type { Cidr } from "../lib/cidr.ts";
import type { Logger } from "../lib/log.ts";
import type { PeerName } from "../lib/peer_name.ts";
import type { Gossiper } from "../mesh/gossip_types.ts";
import type { IpamInit } from "./_init.ts";
import type { IpamChannel } from "./_outbox.ts";
import type { AllocatorPeer } from "./_peer_directory.ts";
import type { IpamStore } from "./store/mod.ts";

/** Retry period (Go `tickInterval`). */
export const IPAM_TICK_MS = 5_000;
/** Default hold of ranges taken over by `rmpeer` (two ticks). */
export const DEFAULT_TAKEOVER_HOLD_MS = 10_000;

/** What the allocator needs from the mesh router (a `MeshRouter` fits). */
export interface AllocatorMesh {
  newGossip(name: string, gossiper: Gossiper): IpamChannel;
  onPeerGone(fn: (name: PeerName) => void): void;
}

/** Options of the allocator. */
export interface AllocatorOptions {
  ourName: PeerName;
  ourUID: bigint;
  nickName: string;
  /** `--ipalloc-range`. */
  range: Cidr | string;
  /** `--ipalloc-default-subnet` (default: the range). */
  defaultSubnet?: Cidr | string;
  /** `--ipalloc-init` (default consensus). */
  init?: string | IpamInit;
  store: IpamStore;
  log: Logger;
  /** The mesh's peers (ourselves may be included). */
  peers: () => AllocatorPeer[];
  /** Cluster size for plain `consensus` (Weave: initial targets + 1; default: reachable peers + 1). */
  clusterSize?: () => number;
  /** Milliseconds clock (default Date.now). */
  clock?: () => number;
  /** Random source in [0,1) for choosing donors (default Math.random). */
  random?: () => number;
  /** Tick period in ms (default 5000); 0 disables the timer (tests call {@link Allocator.tick}). */
  tickMs?: number;
  /** Takeover hold in ms (default 10000); 0 behaves as Go (no hold, no tie-break). */
  takeoverHoldMs?: number;
  /**
   * Upper bound of the random delay before our first Paxos proposal, skipped
   * if another peer's proposal arrives first (default 1 ms per peer of the
   * cluster, at most 250; 0 proposes at once); also how long, at least
   * 20 ms, our proposal waits for more than a quorum of promises (0: it
   * accepts at quorum). See `paxos/consensus.ts`.
   */
  proposalSpreadMs?: number;
}

/** Options of a waiting call. */
export interface WaitOptions {
  /** Cancels the call (e.g. the HTTP client went away). */
  signal?: AbortSignal;
  /** Whether the identifier is a container (default true). */
  isContainer?: boolean;
}
