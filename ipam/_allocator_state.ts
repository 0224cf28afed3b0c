/**
 * The allocator's state as one plain object, so the parts of the allocator
 * kept in their own files (`_pending_ops.ts`, `_allocate_ops.ts`,
 * `_claim_ops.ts`, `_ring_changes.ts`, `_gossip_in.ts`, `_space_sync.ts`,
 * `_sending.ts`, `_allocator_persist.ts`) read and change the same state the
 * {@link Allocator} owns. Only the allocator creates it; every change goes
 * through those functions, synchronously (no `await` between reading and
 * writing).
 *
 * @module
 */
import { type Cidr, formatIPv4 } from "../lib/cidr.ts";
import type { Logger } from "../lib/log.ts";
import type { PeerName } from "../lib/peer_name.ts";
import type { GossipData } from "../mesh/gossip_types.ts";
import type { Address } from "./address/mod.ts";
import type { Consensus } from "./paxos/mod.ts";
import type { IpamGossipTarget } from "./gossiper.ts";
import type { IpamInit } from "./_init.ts";
import type { AllocateOp, ClaimOp, Operation } from "./_ops.ts";
import type { OwnedBook } from "./_owned.ts";
import type { PeerDirectory } from "./_peer_directory.ts";
import type { Persister } from "./_persister.ts";
import type { Ring, RingData } from "./ring/mod.ts";
import type { Space } from "./space/mod.ts";
import type { IpamStore, TakeoverHold } from "./store/mod.ts";

/** The channel operations the allocator uses. */
export interface IpamChannel {
  gossipUnicast(dst: PeerName, payload: Uint8Array): void;
  gossipBroadcast(data: GossipData): void;
}

/** What the parts need from the allocator object itself. */
export interface AllocatorSelf extends IpamGossipTarget {
  /** The `Status:` line, logged when a call starts waiting. */
  status(): string;
}

/** Everything the allocator knows and decides with. */
export interface AllocatorState {
  /** The allocator: the source of our gossip payloads and status line. */
  readonly self: AllocatorSelf;
  readonly ourName: PeerName;
  /** `--ipalloc-range`. */
  readonly universe: Cidr;
  readonly init: IpamInit;
  readonly store: IpamStore;
  readonly log: Logger;
  /** Cluster size estimate for plain `consensus`. */
  readonly clusterSize: () => number;
  readonly clock: () => number;
  readonly random: () => number;
  /** Takeover hold in ms (0: no hold). */
  readonly holdMs: number;

  /** Who owns which range; replaced whole after a takeover tie-break or a hold ends. */
  ring: Ring;
  /** Our free and allocated addresses; rebuilt from the ring by `syncSpace`. */
  space: Space;
  readonly owned: OwnedBook;
  readonly dir: PeerDirectory;
  readonly consensus: Consensus;
  readonly allocates: AllocateOp[];
  readonly claims: ClaimOp[];
  readonly primes: Operation[];
  /** Ranges taken over by `rmpeer`, by token, not allocatable until `until`. */
  holds: Map<Address, TakeoverHold>;
  channel: IpamChannel | undefined;
  readonly persister: Persister;
  /** The next save writes every owned identifier (the first after start). */
  fullSave: boolean;
  /** The last saved ring, and a serial that changes with it (for the gossip encode cache). */
  durableRing: RingData | undefined;
  durableSerial: number;
  started: boolean;
  stopped: boolean;
  shuttingDown: boolean;
  tryingOps: boolean;
  retryOps: boolean;
  /** Space requests sent during the current pass over waiting calls. */
  readonly asked: Set<string>;
}

/** Dotted-quad text of an address, as every allocator log line writes it. */
export const ipText: (addr: Address) => string = formatIPv4;
