/**
 * Weave's IPAM allocator (`ipam/allocator.go`, spec §6): brings together the
 * ring (who owns which range), our {@link Space} (which of our addresses are
 * free), the Paxos that seeds the ring, the `IPallocation` gossip, the
 * waiting operations and persistence.
 *
 * One owning object mutated synchronously (Deno's single thread plays Go's
 * actor loop). Only persistence is asynchronous, and it is a barrier: every
 * answer to a client and every ring sent to a peer waits until the state it
 * reflects is saved, so a `kill -9` at any moment can never make us hand out
 * an address twice or forget a range we gave away. Gossip always carries the
 * last saved ring for the same reason.
 *
 * Lifecycle: construct, {@link Allocator.register} with the mesh, then
 * {@link Allocator.start} (loads the store), {@link Allocator.stop}.
 * `rmpeer` adds a takeover hold and tie-break (see `_takeover.ts`).
 *
 * Parts kept elsewhere: when to propose and whom to tell (`_consensus.ts`,
 * why it scales to hundreds of peers), what goes into gossip and its
 * encode-once cache (`_gossip_out.ts`), owned addresses with the change set
 * a save writes (`_owned.ts`, so a save costs the same however many are
 * owned), nicknames and reachability (`_peer_directory.ts`). This class
 * holds the state (`_allocator_state.ts`) and the public surface; the work
 * is done by plain functions over that state: waiting calls
 * (`_pending_ops.ts`), allocation and release (`_allocate_ops.ts`), claims
 * (`_claim_ops.ts`), ring changes and takeovers (`_ring_changes.ts`), the
 * questions to Paxos (`_ring_seed.ts`), incoming gossip (`_gossip_in.ts`),
 * our space kept in step with the ring (`_space_sync.ts`), sending after
 * the durability barrier (`_sending.ts`) and the store glue
 * (`_allocator_persist.ts`).
 *
 * @module
 */
import type { IpamReport } from "../api/report.ts";
import { type Cidr, parseCidr } from "../lib/cidr.ts";
import type { Logger } from "../lib/log.ts";
import { formatPeerName, type PeerName } from "../lib/peer_name.ts";
import type { TimerId } from "../lib/timer.ts";
import type { Gossiper } from "../mesh/gossip_types.ts";
import { type Address, cidrRange, hostRange, type Range } from "./address/mod.ts";
import { encodeIpamUnicast, type GossipState, IpamMessageType } from "./gossip_codec.ts";
import { IPAM_CHANNEL, IpamGossipData, IpamGossiper, type IpamGossipTarget } from "./gossiper.ts";
import { type IpamInit, parseIpamInit } from "./_init.ts";
import { type AllocateOp, type ClaimOp, Once, type Operation } from "./_ops.ts";
import { PaxosNode, PaxosObserver } from "./paxos/mod.ts";
import { Consensus, defaultSpreadMs } from "./paxos/mod.ts";
import { EncodeCache, encodeOutgoing } from "./_gossip_out.ts";
import { OwnedBook } from "./_owned.ts";
import { type AllocatorPeer, PeerDirectory } from "./_peer_directory.ts";
import { Persister } from "./_persister.ts";
import { buildIpamReport, ipamStatus } from "./_report.ts";
import { Ring } from "./ring/mod.ts";
import { Space } from "./space/mod.ts";
import type { IpamStore, OwnedAddress } from "./store/mod.ts";
import type { AllocatorState, IpamChannel } from "./_allocator_state.ts";
import { deleteIdent, freeAddress } from "./_allocate_ops.ts";
import { loadPersisted, saveState } from "./_allocator_persist.ts";
import { claimsDenied } from "./_claim_ops.ts";
import { applyGossipState, donateSpace } from "./_gossip_in.ts";
import { cancelAll, doOperation, pendingCount, tryPendingOps } from "./_pending_ops.ts";
import { createRing, expireHolds, handOver, takeOver } from "./_ring_changes.ts";
import { clusterCount, establishRing, paxosStatus, quorum } from "./_ring_seed.ts";
import { peerText } from "./ring/mod.ts";
import { afterDurable, gossipState, guarded, outgoingInput, unicast } from "./_sending.ts";
import { reportFreeSpace } from "./_space_sync.ts";

/** Retry period (Go `tickInterval`). */
export const IPAM_TICK_MS = 5_000;
/** Default hold of ranges taken over by `rmpeer` (two ticks). */
export const DEFAULT_TAKEOVER_HOLD_MS = 10_000;

export type { AllocatorPeer } from "./_peer_directory.ts";
export type { IpamChannel } from "./_allocator_state.ts";

/** What the allocator needs from the mesh router (a `MeshRouter` fits). */
export interface AllocatorMesh {
  newGossip(name: string, gossiper: Gossiper): IpamChannel;
  onPeerGone(fn: (name: PeerName) => void): void;
}

/** Options of {@link Allocator}. */
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
   * accepts at quorum). See `_consensus.ts`.
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

const toCidr = (c: Cidr | string) => (typeof c === "string" ? parseCidr(c) : c);

/**
 * The IPAM allocator of one peer.
 *
 * @example
 * ```ts ignore
 * const alloc = new Allocator({ ourName, ourUID, nickName: "h1", range: "10.32.0.0/12",
 *   init: "consensus=2", store: new FileStore(ipamStatePath(prefix)), log, peers });
 * alloc.register(router);
 * await alloc.start();
 * const { addr } = await alloc.allocate("container-1");
 * ```
 */
export class Allocator implements IpamGossipTarget {
  readonly ourName: PeerName;
  readonly ourUID: bigint;
  readonly universe: Cidr;
  readonly defaultSubnet: Cidr;
  /** Everything the allocator decides with; changed only by the `_*.ts` parts, synchronously. */
  #s: AllocatorState;
  #tickMs: number;
  #timer: TimerId | undefined;
  #encodeCache = new EncodeCache();
  /** Gossip that arrived before {@link start}, replayed once started. */
  #early: (() => void)[] = [];

  constructor(opts: AllocatorOptions) {
    this.ourName = opts.ourName;
    this.ourUID = opts.ourUID;
    this.universe = toCidr(opts.range);
    this.defaultSubnet = toCidr(opts.defaultSubnet ?? this.universe);
    const init = typeof opts.init === "object" ? opts.init : parseIpamInit(opts.init ?? "");
    const log = opts.log.withPrefix(`[allocator ${formatPeerName(opts.ourName)}]`);
    this.#tickMs = opts.tickMs ?? IPAM_TICK_MS;
    const r = cidrRange(this.universe);
    this.#s = {
      self: this,
      ourName: this.ourName,
      universe: this.universe,
      init,
      store: opts.store,
      log,
      clusterSize: opts.clusterSize ??
        (() => 1 + opts.peers().filter((p) => p.reachable && p.name !== opts.ourName).length),
      clock: opts.clock ?? Date.now,
      random: opts.random ?? Math.random,
      holdMs: opts.takeoverHoldMs ?? DEFAULT_TAKEOVER_HOLD_MS,
      ring: new Ring(r.start, r.end, this.ourName),
      space: new Space(),
      owned: new OwnedBook(),
      dir: new PeerDirectory(this.ourName, opts.nickName, opts.peers),
      consensus: this.#newConsensus(init, opts, log),
      allocates: [],
      claims: [],
      primes: [],
      holds: new Map(),
      channel: undefined,
      persister: new Persister(() => saveState(this.#s)),
      fullSave: true,
      durableRing: undefined,
      durableSerial: 0,
      started: false,
      stopped: false,
      shuttingDown: false,
      tryingOps: false,
      retryOps: false,
      asked: new Set(),
    };
  }

  /** The Paxos driver, wired to our state (read when it calls, never while constructing). */
  #newConsensus(init: IpamInit, opts: AllocatorOptions, log: Logger): Consensus {
    const id = { name: this.ourName, uid: this.ourUID };
    const participant = init.mode === "observer" ? new PaxosObserver() : new PaxosNode(id, 0);
    return new Consensus(participant, id, {
      quorum: () => quorum(this.#s),
      clusterSize: () => clusterCount(this.#s),
      isKnownPeer: (n) => this.#s.dir.isKnown(n),
      hasRing: () => !this.#s.ring.isEmpty(),
      broadcast: (only) => this.#s.channel?.gossipBroadcast(new IpamGossipData(this, only)),
      unicast: (dst, only) =>
        unicast(
          this.#s,
          dst,
          encodeIpamUnicast({
            type: IpamMessageType.RingUpdate,
            state: gossipState(this.#s, only),
          }),
        ),
      later: (f) => afterDurable(this.#s, f),
      now: () => this.#s.clock(),
      random: () => this.#s.random(),
      decided: (peers) => createRing(this.#s, peers),
      log,
    }, {
      spreadMs: () => opts.proposalSpreadMs ?? defaultSpreadMs(clusterCount(this.#s)),
      gatherMs: () => {
        const spread = opts.proposalSpreadMs ?? defaultSpreadMs(clusterCount(this.#s));
        return spread > 0 ? Math.max(20, spread) : 0;
      },
      stallMs: this.#tickMs > 0 ? this.#tickMs : IPAM_TICK_MS,
    });
  }

  // ---- lifecycle ------------------------------------------------------------------

  /** Creates the `IPallocation` channel and follows peers leaving the topology. */
  register(mesh: AllocatorMesh): void {
    this.#s.channel = mesh.newGossip(IPAM_CHANNEL, new IpamGossiper(this));
    mesh.onPeerGone((name) => this.#s.dir.gone(name, this.#s.ring.peerNames()));
  }

  /**
   * Loads the persisted state (throws IpamStoreCorruptError for a damaged
   * one), creates the ring for `seed=`, and starts the tick.
   */
  async start(): Promise<void> {
    const s = this.#s;
    const loaded = await loadPersisted(s);
    const seeds = s.init.mode === "seed" ? s.init.seeds : [];
    if (loaded && seeds.length > 0) {
      s.log.info("Found persisted IPAM data, ignoring supplied IPAM seed");
    } else if (loaded) s.log.info("Initialising with persisted data");
    else if (seeds.length > 0) {
      s.log.info("Initialising with supplied IPAM seed");
      createRing(s, seeds);
    } else if (s.consensus.participant.isElector()) {
      s.log.info("Initialising via deferred consensus");
    } else s.log.info("Initialising as observer - awaiting IPAM data from another peer");
    s.started = true;
    for (const f of this.#early.splice(0)) guarded(s, f);
    tryPendingOps(s);
    reportFreeSpace(s);
    if (this.#tickMs > 0 && !s.stopped) {
      this.#timer = setInterval(() => this.tick(), this.#tickMs);
    }
    await s.persister.whenDurable();
  }

  /** Stops the tick and cancels every waiting call. */
  stop(): void {
    const s = this.#s;
    if (s.stopped) return;
    s.stopped = true;
    clearInterval(this.#timer);
    s.consensus.stop();
    cancelAll(s);
  }

  /** One tick (every 5 s): retry consensus or waiting calls, end takeover holds, report free space. */
  tick(): void {
    const s = this.#s;
    if (s.stopped || !s.started) return;
    s.asked.clear();
    if (s.ring.isEmpty()) s.consensus.tick();
    if (!s.consensus.awaiting && pendingCount(s) > 0) {
      if (s.ring.isEmpty()) establishRing(s);
      else tryPendingOps(s);
    }
    expireHolds(s);
    reportFreeSpace(s);
  }

  // ---- client API -----------------------------------------------------------------

  /** Allocates the lowest free address in `subnet` (default subnet if omitted); waits for space. */
  allocate(ident: string, subnet?: Cidr, opts: WaitOptions = {}): Promise<OwnedAddress> {
    const op: AllocateOp = {
      kind: "allocate",
      ident,
      subnet: subnet ?? this.defaultSubnet,
      isContainer: opts.isContainer ?? true,
      done: new Once(),
    };
    doOperation(this.#s, op, { list: this.#s.allocates, signal: opts.signal });
    return op.done.promise;
  }

  /** Claims a specific address for `ident` (`ip:<cidr>`); waits while its owner is asked. */
  claim(
    ident: string,
    cidr: OwnedAddress,
    opts: WaitOptions & { noErrorOnUnknown?: boolean } = {},
  ): Promise<void> {
    const op: ClaimOp = {
      kind: "claim",
      ident,
      cidr,
      isContainer: opts.isContainer ?? true,
      noErrorOnUnknown: opts.noErrorOnUnknown ?? false,
      done: new Once(),
    };
    doOperation(this.#s, op, { list: this.#s.claims, signal: opts.signal });
    return op.done.promise;
  }

  /** Waits until the ring exists, starting consensus if needed (`weave prime`). */
  prime(opts: { signal?: AbortSignal } = {}): Promise<void> {
    const op: Operation = { kind: "prime", ident: "ring", done: new Once() };
    doOperation(this.#s, op, { list: this.#s.primes, signal: opts.signal });
    return op.done.promise;
  }

  /** Releases one address of `ident`. */
  free(ident: string, addr: Address): Promise<void> {
    return freeAddress(this.#s, ident, addr);
  }

  /** Releases every address of `ident`. */
  delete(ident: string): Promise<void> {
    return deleteIdent(this.#s, ident);
  }

  /** Addresses of `ident` inside `subnet` (default subnet if omitted). */
  lookup(ident: string, subnet?: Cidr): OwnedAddress[] {
    const r = hostRange(subnet ?? this.defaultSubnet);
    return (this.#s.owned.get(ident)?.cidrs ?? []).filter((c) =>
      c.addr >= r.start && c.addr < r.end
    ).map((c) => ({ ...c }));
  }

  /** Every identifier with its addresses. */
  ownedAddresses(): { ident: string; cidrs: OwnedAddress[] }[] {
    return [...this.#s.owned.entries()].map(([ident, d]) => ({
      ident,
      cidrs: d.cidrs.map((c) => ({ ...c })),
    }));
  }

  /**
   * Takes over the ranges of a dead peer (name or nickname) and returns how
   * many addresses we gained (`rmpeer`); 0 for an unknown peer or ourselves.
   */
  rmpeer(peerNameOrNick: string): Promise<number> {
    return takeOver(this.#s, peerNameOrNick);
  }

  /** Hands all our ranges to a live peer and stops allocating (`DELETE /peer`, `weave reset`). */
  shutdown(): Promise<void> {
    return handOver(this.#s);
  }

  /** The status snapshot's IPAM part (Weave's field names, `Status` filled). */
  report(): IpamReport {
    const s = this.#s;
    return buildIpamReport({
      ourName: this.ourName,
      universe: this.universe,
      defaultSubnet: this.defaultSubnet,
      ranges: s.ring.isEmpty() ? [] : s.ring.allRangeInfo(),
      nickname: (n) => s.dir.nicknames.get(n) ?? "",
      isKnownPeer: (n) => s.dir.isKnown(n),
      activeIPs: s.space.numAllocatedAddresses(),
      paxos: paxosStatus(s),
      pendingClaims: s.claims.map((c) => ({ ident: c.ident, cidr: c.cidr })),
      pendingAllocates: s.allocates.map((a) => ({ ident: a.ident, subnet: a.subnet })),
    });
  }

  /** The `Status:` line (`ready`, `awaiting consensus (…)`, …). */
  status(): string {
    return ipamStatus(this.report(), paxosStatus(this.#s));
  }

  // ---- gossip target --------------------------------------------------------------

  /**
   * Our `gossipState` (last saved ring, or Paxos while there is none, limited
   * to the nodes in `only` when given); the whole state is encoded once per change.
   */
  encodeGossip(only?: ReadonlySet<string>): Uint8Array {
    if (only !== undefined) return encodeOutgoing(outgoingInput(this.#s, only));
    return this.#encodeCache.get(this.gossipStamp(), () => encodeOutgoing(outgoingInput(this.#s)));
  }

  /** Names everything {@link encodeGossip} reads; changes when any of it does. */
  gossipStamp(): string {
    const s = this.#s;
    const { version } = s.consensus.participant;
    const now = Math.floor(s.clock() / 1000);
    return `${version}/${s.dir.nicknames.version}/${s.durableSerial}/${now}`;
  }

  onGossipState(sender: PeerName, state: GossipState): void {
    if (!this.#s.started) return void this.#early.push(() => this.onGossipState(sender, state));
    if (this.#s.stopped) return;
    try {
      applyGossipState(this.#s, sender, state);
    } finally {
      reportFreeSpace(this.#s);
    }
  }

  onSpaceRequest(sender: PeerName, range: Range): void {
    const s = this.#s;
    if (!s.started) return void this.#early.push(() => this.onSpaceRequest(sender, range));
    if (s.stopped || s.ring.isEmpty()) return;
    s.log.debug(`Peer ${peerText(sender)} asked me for space`);
    donateSpace(s, range, sender);
    reportFreeSpace(s);
  }

  onSpaceRequestDenied(sender: PeerName, range: Range): void {
    if (!this.#s.started) {
      return void this.#early.push(() => this.onSpaceRequestDenied(sender, range));
    }
    claimsDenied(this.#s, sender, range);
  }
}
