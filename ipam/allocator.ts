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
 * owned), nicknames and reachability (`_peer_directory.ts`).
 *
 * @module
 */
import type { ApiRoute } from "../api/ops.ts";
import type { IpamReport } from "../api/report.ts";
import { type Cidr, formatCidr, formatIPv4, parseCidr } from "../lib/cidr.ts";
import type { Logger } from "../lib/log.ts";
import { formatPeerName, type PeerName, UNKNOWN_PEER_NAME } from "../lib/peer_name.ts";
import type { TimerId } from "../lib/timer.ts";
import type { GossipData, Gossiper } from "../mesh/gossip_types.ts";
import { type Address, cidrRange, hostRange, type Range, rangeSize } from "./address.ts";
import {
  encodeIpamUnicast,
  type GossipState,
  IpamMessageType,
  ringUpdateFromEncoded,
} from "./gossip_codec.ts";
import { IPAM_CHANNEL, IpamGossipData, IpamGossiper, type IpamGossipTarget } from "./gossiper.ts";
import { ipamRoutes } from "./http.ts";
import { type IpamInit, parseIpamInit } from "./_init.ts";
import {
  type AllocateOp,
  CancelledError,
  type ClaimOp,
  Once,
  type Operation,
  opKindText,
} from "./_ops.ts";
import { normalizeConsensus, PaxosNode, PaxosObserver, quorumFor } from "./paxos.ts";
import { Consensus, defaultSpreadMs } from "./_consensus.ts";
import { EncodeCache, encodeOutgoing, type OutgoingInput, outgoingState } from "./_gossip_out.ts";
import { OwnedBook } from "./_owned.ts";
import { type AllocatorPeer, PeerDirectory } from "./_peer_directory.ts";
import { Persister } from "./_persister.ts";
import { buildIpamReport, ipamStatus } from "./_report.ts";
import { Ring, type RingData, RingError } from "./ring.ts";
import { peerText } from "./ring_entries.ts";
import { Space } from "./space.ts";
import type { IpamState, IpamStore, IpamUpdate, OwnedAddress, TakeoverHold } from "./store.ts";
import { bumpVersions, freeByToken, ownedRangesExcept, resolveTakeovers } from "./_takeover.ts";

/** Retry period (Go `tickInterval`). */
export const IPAM_TICK_MS = 5_000;
/** Default hold of ranges taken over by `rmpeer` (two ticks). */
export const DEFAULT_TAKEOVER_HOLD_MS = 10_000;

export type { AllocatorPeer } from "./_peer_directory.ts";

/** The channel operations the allocator uses. */
export interface IpamChannel {
  gossipUnicast(dst: PeerName, payload: Uint8Array): void;
  gossipBroadcast(data: GossipData): void;
}

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
const ipText = formatIPv4;

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
  #init: IpamInit;
  #store: IpamStore;
  #log: Logger;
  #clusterSize: () => number;
  #clock: () => number;
  #random: () => number;
  #tickMs: number;
  #holdMs: number;

  #ring: Ring;
  #space = new Space();
  #owned = new OwnedBook();
  #dir: PeerDirectory;
  #consensus: Consensus;
  #allocates: AllocateOp[] = [];
  #claims: ClaimOp[] = [];
  #primes: Operation[] = [];
  #holds = new Map<Address, TakeoverHold>();
  #channel: IpamChannel | undefined;
  #timer: TimerId | undefined;
  #persister: Persister;
  /** The next save writes every owned identifier (the first after start). */
  #fullSave = true;
  /** The last saved ring, and a serial that changes with it (for the gossip encode cache). */
  #durableRing: RingData | undefined;
  #durableSerial = 0;
  #encodeCache = new EncodeCache();
  #early: (() => void)[] = [];
  #started = false;
  #stopped = false;
  #shuttingDown = false;
  #tryingOps = false;
  #retryOps = false;
  /** Space requests sent during the current pass over waiting calls. */
  #asked = new Set<string>();

  constructor(opts: AllocatorOptions) {
    this.ourName = opts.ourName;
    this.ourUID = opts.ourUID;
    this.universe = toCidr(opts.range);
    this.defaultSubnet = toCidr(opts.defaultSubnet ?? this.universe);
    this.#init = typeof opts.init === "object" ? opts.init : parseIpamInit(opts.init ?? "");
    this.#store = opts.store;
    this.#log = opts.log.withPrefix(`[allocator ${formatPeerName(opts.ourName)}]`);
    this.#clusterSize = opts.clusterSize ??
      (() => 1 + opts.peers().filter((p) => p.reachable && p.name !== opts.ourName).length);
    this.#clock = opts.clock ?? Date.now;
    this.#random = opts.random ?? Math.random;
    this.#tickMs = opts.tickMs ?? IPAM_TICK_MS;
    this.#holdMs = opts.takeoverHoldMs ?? DEFAULT_TAKEOVER_HOLD_MS;
    const r = cidrRange(this.universe);
    this.#ring = new Ring(r.start, r.end, this.ourName);
    this.#dir = new PeerDirectory(this.ourName, opts.nickName, opts.peers);
    const id = { name: this.ourName, uid: this.ourUID };
    const participant = this.#init.mode === "observer" ? new PaxosObserver() : new PaxosNode(id, 0);
    this.#consensus = new Consensus(participant, id, {
      quorum: () => this.#quorum(),
      clusterSize: () => this.#clusterCount(),
      isKnownPeer: (n) => this.#dir.isKnown(n),
      hasRing: () => !this.#ring.isEmpty(),
      broadcast: (only) => this.#channel?.gossipBroadcast(new IpamGossipData(this, only)),
      unicast: (dst, only) =>
        this.#unicast(
          dst,
          encodeIpamUnicast({ type: IpamMessageType.RingUpdate, state: this.#gossipState(only) }),
        ),
      later: (f) => this.#afterDurable(f),
      now: () => this.#clock(),
      random: () => this.#random(),
      decided: (peers) => this.#createRing(peers),
      log: this.#log,
    }, {
      spreadMs: () => opts.proposalSpreadMs ?? defaultSpreadMs(this.#clusterCount()),
      gatherMs: () => {
        const spread = opts.proposalSpreadMs ?? defaultSpreadMs(this.#clusterCount());
        return spread > 0 ? Math.max(20, spread) : 0;
      },
      stallMs: this.#tickMs > 0 ? this.#tickMs : IPAM_TICK_MS,
    });
    this.#persister = new Persister(() => this.#save());
  }

  // ---- lifecycle ------------------------------------------------------------------

  /** Creates the `IPallocation` channel and follows peers leaving the topology. */
  register(mesh: AllocatorMesh): void {
    this.#channel = mesh.newGossip(IPAM_CHANNEL, new IpamGossiper(this));
    mesh.onPeerGone((name) => this.#dir.gone(name, this.#ring.peerNames()));
  }

  /**
   * Loads the persisted state (throws IpamStoreCorruptError for a damaged
   * one), creates the ring for `seed=`, and starts the tick.
   */
  async start(): Promise<void> {
    const loaded = await this.#loadPersisted();
    const seeds = this.#init.mode === "seed" ? this.#init.seeds : [];
    if (loaded && seeds.length > 0) {
      this.#log.info("Found persisted IPAM data, ignoring supplied IPAM seed");
    } else if (loaded) this.#log.info("Initialising with persisted data");
    else if (seeds.length > 0) {
      this.#log.info("Initialising with supplied IPAM seed");
      this.#createRing(seeds);
    } else if (this.#consensus.participant.isElector()) {
      this.#log.info("Initialising via deferred consensus");
    } else this.#log.info("Initialising as observer - awaiting IPAM data from another peer");
    this.#started = true;
    for (const f of this.#early.splice(0)) this.#guarded(f);
    this.#tryPendingOps();
    this.#afterAction();
    if (this.#tickMs > 0 && !this.#stopped) {
      this.#timer = setInterval(() => this.tick(), this.#tickMs);
    }
    await this.#persister.whenDurable();
  }

  /** Stops the tick and cancels every waiting call. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#consensus.stop();
    this.#cancelAll();
  }

  /** One tick (every 5 s): retry consensus or waiting calls, end takeover holds, report free space. */
  tick(): void {
    if (this.#stopped || !this.#started) return;
    this.#asked.clear();
    if (this.#ring.isEmpty()) this.#consensus.tick();
    if (!this.#consensus.awaiting && this.#pendingCount() > 0) {
      if (this.#ring.isEmpty()) this.#establishRing();
      else this.#tryPendingOps();
    }
    this.#expireHolds();
    this.#afterAction();
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
    this.#doOperation(op, this.#allocates, opts.signal);
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
    this.#doOperation(op, this.#claims, opts.signal);
    return op.done.promise;
  }

  /** Waits until the ring exists, starting consensus if needed (`weave prime`). */
  prime(opts: { signal?: AbortSignal } = {}): Promise<void> {
    const op: Operation = { kind: "prime", ident: "ring", done: new Once() };
    this.#doOperation(op, this.#primes, opts.signal);
    return op.done.promise;
  }

  /** Releases one address of `ident`. */
  async free(ident: string, addr: Address): Promise<void> {
    if (!this.#removeOwned(ident, addr)) {
      throw new Error(`Free: address ${ipText(addr)} not found for ${ident}`);
    }
    this.#log.debug(`Freed ${ipText(addr)} for ${ident}`);
    this.#afterAction();
    await this.#persister.whenDurable();
  }

  /** Releases every address of `ident`. */
  async delete(ident: string): Promise<void> {
    const d = this.#owned.get(ident);
    if (!d || d.cidrs.length === 0) throw new Error(`Delete: no addresses for ${ident}`);
    for (const c of [...d.cidrs]) this.#removeOwned(ident, c.addr);
    this.#afterAction();
    await this.#persister.whenDurable();
  }

  /** Addresses of `ident` inside `subnet` (default subnet if omitted). */
  lookup(ident: string, subnet?: Cidr): OwnedAddress[] {
    const r = hostRange(subnet ?? this.defaultSubnet);
    return (this.#owned.get(ident)?.cidrs ?? []).filter((c) => c.addr >= r.start && c.addr < r.end)
      .map((c) => ({ ...c }));
  }

  /** Every identifier with its addresses. */
  ownedAddresses(): { ident: string; cidrs: OwnedAddress[] }[] {
    return [...this.#owned.entries()].map(([ident, d]) => ({
      ident,
      cidrs: d.cidrs.map((c) => ({ ...c })),
    }));
  }

  /**
   * Takes over the ranges of a dead peer (name or nickname) and returns how
   * many addresses we gained (`rmpeer`); 0 for an unknown peer or ourselves.
   */
  async rmpeer(peerNameOrNick: string): Promise<number> {
    const peer = this.#dir.lookup(peerNameOrNick);
    if (peer === undefined) {
      this.#log.warn(`attempt to take over range from unknown peer '${peerNameOrNick}'`);
      return 0;
    }
    if (peer === this.ourName) {
      this.#log.warn("attempt to take over range from ourself");
      return 0;
    }
    const tokens = this.#ring.entries.filter((e) => e.peer === peer).map((e) => e.token);
    const moved = this.#ring.transfer(peer, this.ourName);
    if (moved.length === 0) return 0;
    const count = moved.reduce((n, r) => n + rangeSize(r), 0);
    if (this.#holdMs > 0) {
      const until = this.#clock() + this.#holdMs;
      for (const token of tokens) this.#holds.set(token, { from: peer, until });
      this.#log.info(
        `Took over ${count} IPs from ${this.#dir.annotate(peer)}; they become allocatable in ` +
          `${this.#holdMs / 1000}s unless another peer took them over at the same time`,
      );
    }
    this.#ringUpdated();
    this.#broadcast();
    await this.#persister.whenDurable();
    return count;
  }

  /** Hands all our ranges to a live peer and stops allocating (`DELETE /peer`, `weave reset`). */
  async shutdown(): Promise<void> {
    this.#log.info("Shutdown");
    this.#shuttingDown = true;
    this.#consensus.stop();
    this.#cancelAll();
    const heir = this.#dir.pickHeir((valid) => this.#ring.pickPeerForTransfer(valid));
    if (heir === UNKNOWN_PEER_NAME) {
      this.#log.warn("No peer to hand our IP ranges to; they stay ours until 'rmpeer'");
      return;
    }
    this.#ring.transfer(this.ourName, heir);
    this.#holds.clear();
    this.#space.clear();
    this.#log.info(`Handed our IP ranges to ${this.#dir.annotate(heir)}`);
    this.#persister.markDirty();
    this.#broadcast();
    await this.#persister.whenDurable();
  }

  /** The status snapshot's IPAM part (Weave's field names, `Status` filled). */
  report(): IpamReport {
    return buildIpamReport({
      ourName: this.ourName,
      universe: this.universe,
      defaultSubnet: this.defaultSubnet,
      ranges: this.#ring.isEmpty() ? [] : this.#ring.allRangeInfo(),
      nickname: (n) => this.#dir.nicknames.get(n) ?? "",
      isKnownPeer: (n) => this.#dir.isKnown(n),
      activeIPs: this.#space.numAllocatedAddresses(),
      paxos: this.#paxosStatus(),
      pendingClaims: this.#claims.map((c) => ({ ident: c.ident, cidr: c.cidr })),
      pendingAllocates: this.#allocates.map((a) => ({ ident: a.ident, subnet: a.subnet })),
    });
  }

  /** The `Status:` line (`ready`, `awaiting consensus (…)`, …). */
  status(): string {
    return ipamStatus(this.report(), this.#paxosStatus());
  }

  /** The HTTP routes (`/ip`, `/ring`, `/ipinfo`, `/peer`). */
  routes(): ApiRoute[] {
    return ipamRoutes(this);
  }

  // ---- gossip target --------------------------------------------------------------

  /**
   * Our `gossipState` (last saved ring, or Paxos while there is none, limited
   * to the nodes in `only` when given); the whole state is encoded once per change.
   */
  encodeGossip(only?: ReadonlySet<string>): Uint8Array {
    if (only !== undefined) return encodeOutgoing(this.#outgoing(only));
    return this.#encodeCache.get(this.gossipStamp(), () => encodeOutgoing(this.#outgoing()));
  }

  /** Names everything {@link encodeGossip} reads; changes when any of it does. */
  gossipStamp(): string {
    const { version } = this.#consensus.participant;
    const now = Math.floor(this.#clock() / 1000);
    return `${version}/${this.#dir.nicknames.version}/${this.#durableSerial}/${now}`;
  }

  onGossipState(sender: PeerName, state: GossipState): void {
    if (!this.#started) return void this.#early.push(() => this.onGossipState(sender, state));
    if (this.#stopped) return;
    try {
      this.#update(sender, state);
    } finally {
      this.#afterAction();
    }
  }

  onSpaceRequest(sender: PeerName, range: Range): void {
    if (!this.#started) return void this.#early.push(() => this.onSpaceRequest(sender, range));
    if (this.#stopped || this.#ring.isEmpty()) return;
    this.#log.debug(`Peer ${peerText(sender)} asked me for space`);
    this.#donateSpace(range, sender);
    this.#afterAction();
  }

  onSpaceRequestDenied(sender: PeerName, range: Range): void {
    if (!this.#started) {
      return void this.#early.push(() => this.onSpaceRequestDenied(sender, range));
    }
    for (const op of [...this.#claims]) {
      if (op.cidr.addr >= range.start && op.cidr.addr < range.end) {
        this.#claims.splice(this.#claims.indexOf(op), 1);
        this.#deniedBy(op, sender);
      }
    }
  }

  // ---- gossip handling ------------------------------------------------------------

  #outgoing(only?: ReadonlySet<string>): OutgoingInput {
    return {
      now: this.#clock(),
      ourName: this.ourName,
      nicknames: this.#dir.nicknames,
      ring: this.#durableRing,
      paxos: this.#consensus.participant,
      only,
    };
  }

  #gossipState(only?: ReadonlySet<string>): GossipState {
    return outgoingState(this.#outgoing(only));
  }

  #update(sender: PeerName, state: GossipState): void {
    for (const [peer, nick] of state.nicknames) this.#dir.nicknames.set(peer, nick);
    if (state.ring) {
      this.#mergeRing(sender, state.ring);
    } else if (!this.#ring.isEmpty()) {
      if (sender !== UNKNOWN_PEER_NAME) this.#sendRingUpdate(sender);
    } else if (state.paxos !== undefined) {
      this.#consensus.received(state.paxos);
    } else if (this.#consensus.participant.isElector() && sender !== UNKNOWN_PEER_NAME) {
      this.#establishRing();
    }
  }

  #mergeRing(sender: PeerName, incoming: RingData): void {
    let theirs = incoming;
    let changed = false;
    if (this.#holds.size > 0) {
      const dead = new Map([...this.#holds].map(([t, h]) => [t, h.from]));
      const res = resolveTakeovers(this.#ring.toData(), incoming, this.ourName, dead);
      for (const r of res.released) {
        this.#log.warn(
          `${this.#dir.annotate(r.to)} also took over the range at ${ipText(r.token)}; ` +
            "it wins the tie-break, so it is theirs",
        );
        this.#holds.delete(r.token);
      }
      for (const k of res.kept) {
        this.#log.info(
          `${this.#dir.annotate(k.against)} also took over the range at ${ipText(k.token)}; ` +
            "we win the tie-break, so it stays ours",
        );
      }
      if (res.released.length > 0) {
        this.#ring = Ring.fromData(res.ours, this.ourName);
        changed = true;
      }
      theirs = res.incoming;
    }
    let updated: boolean;
    try {
      updated = this.#ring.merge(theirs, {
        hasAllocations: (ranges) => this.#space.hasAllocationsIn(ranges),
        nicknames: this.#dir.nicknames,
      });
    } catch (e) {
      if (changed) this.#ringUpdated();
      if (e instanceof RingError) this.#logRingError(sender, e);
      throw e;
    }
    if (updated || changed) {
      this.#dir.prune(this.#ring.peerNames());
      this.#ringUpdated();
    }
  }

  #logRingError(sender: PeerName, e: RingError): void {
    const from = sender === UNKNOWN_PEER_NAME ? "a peer" : this.#dir.annotate(sender);
    if (e.code === "different-seeds") {
      this.#log.error(
        `${e.message} (from ${from}): these peers formed separate IPAM clusters and cannot ` +
          "connect. To join them, keep one cluster and on every peer of the other run " +
          "'weave reset' (it releases that peer's addresses and deletes its IPAM state), " +
          "then launch it again connected to the kept cluster",
      );
    } else {
      this.#log.error(`Cannot merge IPAM ring from ${from}: ${e.message}`);
    }
  }

  #donateSpace(requested: Range, to: PeerName): void {
    const ring = this.#ring.range();
    const r = {
      start: Math.max(requested.start, ring.start),
      end: Math.min(requested.end, ring.end),
    };
    const chunk = r.start < r.end ? this.#space.donate(r) : undefined;
    let denied = false;
    if (!chunk) {
      this.#log.debug(`No space to give to peer ${peerText(to)}`);
      denied = true;
    } else {
      this.#log.debug(
        `Giving range ${ipText(chunk.start)}-${ipText(chunk.end - 1)} to ${peerText(to)}`,
      );
      try {
        this.#ring.grantRangeToHost(chunk.start, chunk.end, to);
      } catch (e) {
        this.#log.error(`Cannot give range to ${peerText(to)}: ${(e as Error).message}`);
        this.#syncSpace();
      }
      this.#persister.markDirty();
      this.#broadcast();
    }
    this.#afterDurable(() => {
      if (denied) {
        this.#unicast(
          to,
          encodeIpamUnicast({ type: IpamMessageType.SpaceRequestDenied, range: requested }),
        );
      }
      this.#sendRingUpdateNow(to);
    });
  }

  // ---- consensus ------------------------------------------------------------------

  #quorum(): number {
    return quorumFor(this.#clusterCount());
  }

  /** Peers in the cluster: `consensus=N`, or else the configured estimate. */
  #clusterCount(): number {
    if (this.#init.mode === "consensus" && this.#init.count !== undefined) return this.#init.count;
    return Math.max(1, this.#clusterSize());
  }

  #establishRing(): void {
    if (!this.#ring.isEmpty() || this.#consensus.awaiting || this.#shuttingDown) return;
    this.#consensus.start();
  }

  #createRing(peers: readonly PeerName[]): void {
    if (!this.#ring.isEmpty()) return;
    const seeds = normalizeConsensus(peers);
    this.#log.debug(`Paxos consensus: [${seeds.map(peerText).join(" ")}]`);
    this.#ring.claimForPeers(seeds);
    this.#ringUpdated();
    this.#broadcast();
  }

  #paxosStatus() {
    if (!this.#consensus.awaiting || !this.#ring.isEmpty()) return undefined;
    const paxos = this.#consensus.participant;
    if (!paxos.isElector()) return { elector: false, knownNodes: 0, quorum: 0 };
    return { elector: true, ...paxos.status() };
  }

  // ---- ring and space -------------------------------------------------------------

  #ringUpdated(): void {
    this.#consensus.finish();
    for (const [token] of this.#holds) {
      if (!this.#ring.entries.some((e) => e.token === token && e.peer === this.ourName)) {
        this.#holds.delete(token);
      }
    }
    this.#syncSpace();
    this.#persister.markDirty();
    this.#tryPendingOps();
  }

  /** Rebuilds our space from the ring (held ranges left out) and the owned addresses. */
  #syncSpace(): void {
    const space = new Space();
    if (!this.#shuttingDown && !this.#ring.isEmpty()) {
      space.addRanges(ownedRangesExcept(this.#ring.toData(), this.ourName, this.#holds));
    }
    for (const [ident, d] of this.#owned.entries()) {
      for (const c of d.cidrs) {
        if (!this.#ring.contains(c.addr)) continue;
        if (space.isFree(c.addr)) space.claim(c.addr);
        else if (!this.#ring.isEmpty()) {
          this.#log.warn(`Address ${ipText(c.addr)} of ${ident} is not in a range we own`);
        }
      }
    }
    this.#space = space;
  }

  #expireHolds(): void {
    const now = this.#clock();
    const expired = [...this.#holds].filter(([, h]) => h.until <= now);
    if (expired.length === 0) return;
    for (const [token, h] of expired) {
      this.#holds.delete(token);
      this.#log.info(
        `Takeover of the range at ${ipText(token)} from ${this.#dir.annotate(h.from)} is final`,
      );
    }
    const data = bumpVersions(this.#ring.toData(), this.ourName, expired.map(([t]) => t));
    this.#ring = Ring.fromData(data, this.ourName);
    this.#ringUpdated();
    this.#broadcast();
  }

  /** After every action: record free counts in our entries (Go `reportFreeSpace`). */
  #afterAction(): void {
    if (this.#ring.isEmpty() || this.#shuttingDown || !this.#started) return;
    const free = freeByToken(
      this.#ring.toData(),
      this.ourName,
      this.#holds,
      (r) => this.#space.numFreeAddressesInRange(r),
    );
    try {
      if (free.size > 0 && this.#ring.reportFree(free)) this.#persister.markDirty();
    } catch (e) {
      this.#log.error(`Cannot report free space: ${(e as Error).message}`);
    }
  }

  // ---- operations -----------------------------------------------------------------

  #doOperation(op: Operation, list: Operation[], signal?: AbortSignal): void {
    const cancel = () => op.done.reject(new CancelledError(opKindText(op), op.ident));
    if (this.#shuttingDown || this.#stopped || signal?.aborted) return cancel();
    if (signal) {
      const onAbort = () => {
        const i = list.indexOf(op);
        if (i !== -1) list.splice(i, 1);
        cancel();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      const cleanup = () => signal.removeEventListener("abort", onAbort);
      op.done.promise.then(cleanup, cleanup);
    }
    if (this.#started && this.#tryOp(op)) return this.#afterAction();
    list.push(op);
    if (this.#started) {
      this.#log.info(`${opKindText(op)} for ${op.ident} is waiting: ${this.status()}`);
      this.#afterAction();
    }
  }

  #pendingCount(): number {
    return this.#primes.length + this.#claims.length + this.#allocates.length;
  }

  #tryPendingOps(): void {
    if (!this.#started) return;
    if (this.#tryingOps) {
      this.#retryOps = true;
      return;
    }
    this.#tryingOps = true;
    this.#asked.clear();
    try {
      do {
        this.#retryOps = false;
        for (const list of [this.#primes, this.#claims, this.#allocates] as Operation[][]) {
          for (const op of [...list]) {
            if (!list.includes(op)) continue;
            if (this.#tryOp(op)) list.splice(list.indexOf(op), 1);
          }
        }
      } while (this.#retryOps);
    } finally {
      this.#tryingOps = false;
    }
  }

  /** Tries one operation; true when it is finished (succeeded or failed). */
  #tryOp(op: Operation): boolean {
    if (op.kind === "allocate") return this.#tryAllocate(op);
    if (op.kind === "claim") return this.#tryClaim(op);
    if (!this.#ring.isEmpty()) {
      op.done.resolve();
      return true;
    }
    this.#establishRing();
    if (this.#ring.isEmpty()) return false;
    op.done.resolve();
    return true;
  }

  #tryAllocate(op: AllocateOp): boolean {
    const subnet = cidrRange(op.subnet);
    const existing = this.#owned.get(op.ident)?.cidrs.find((c) =>
      c.addr >= subnet.start && c.addr < subnet.end
    );
    if (existing) {
      this.#answerWhenDurable(op.done, { ...existing }, op.ident);
      return true;
    }
    const universe = cidrRange(this.universe);
    if (subnet.start >= universe.end || subnet.end <= universe.start) {
      op.done.reject(
        new RangeError(
          `range ${formatCidr(op.subnet)} out of bounds: ${formatCidr(this.universe)}`,
        ),
      );
      return true;
    }
    this.#establishRing();
    if (this.#ring.isEmpty()) return false;
    const addr = this.#space.allocate(hostRange(op.subnet));
    if (addr !== undefined) {
      this.#log.debug(`Allocated ${ipText(addr)} for ${op.ident} in ${formatCidr(op.subnet)}`);
      const result = { addr, prefix: op.subnet.prefix };
      this.#addOwned(op.ident, result, op.isContainer);
      this.#answerWhenDurable(op.done, result, op.ident);
      return true;
    }
    this.#askForSpace(subnet);
    return false;
  }

  #tryClaim(op: ClaimOp): boolean {
    const addr = op.cidr.addr;
    if (!this.#ring.contains(addr)) {
      this.#log.info(`Address ${ipText(addr)} claimed by ${op.ident} - not in our range`);
      this.#addOwned(op.ident, op.cidr, op.isContainer);
      this.#answerWhenDurable(op.done, undefined, op.ident);
      return true;
    }
    this.#establishRing();
    const owner = this.#ring.owner(addr);
    if (owner === UNKNOWN_PEER_NAME) {
      if (!op.noErrorOnUnknown) {
        op.done.reject(
          new Error(
            `${ipText(addr)} is in the range ${formatCidr(this.universe)}, ` +
              "but the allocator is not initialized yet",
          ),
        );
        return true;
      }
      this.#log.info(
        `Claim ${
          ipText(addr)
        } for ${op.ident}: address allocator still initializing; will try later.`,
      );
      op.done.resolve();
      return false;
    }
    if (owner !== this.ourName) {
      if (this.#dir.isKnown(owner)) {
        this.#log.debug(`requesting address ${ipText(addr)} from other peer ${peerText(owner)}`);
        this.#sendSpaceRequest(owner, { start: addr, end: addr + 1 });
        return false;
      }
      if (op.noErrorOnUnknown) {
        op.done.resolve();
        return false;
      }
      this.#deniedBy(op, owner);
      return true;
    }
    if (this.#holds.has(this.#ownerToken(addr))) return false;
    return this.#claimOurs(op);
  }

  #claimOurs(op: ClaimOp): boolean {
    const addr = op.cidr.addr;
    const existing = this.#owned.owner(addr);
    if (existing === undefined) {
      try {
        this.#space.claim(addr);
      } catch (e) {
        op.done.reject(e as Error);
        return true;
      }
      const ident = op.ident === "_" ? ipText(addr) : op.ident;
      this.#log.debug(`Claimed ${ipText(addr)} for ${ident}`);
      this.#addOwned(ident, op.cidr, op.isContainer);
      this.#answerWhenDurable(op.done, undefined, op.ident);
    } else if (existing === op.ident) {
      op.done.resolve();
    } else if (existing === ipText(addr)) {
      op.done.reject(new Error(`address ${ipText(addr)} already in use`));
    } else {
      op.done.reject(new Error(`address ${ipText(addr)} is already owned by ${existing}`));
    }
    return true;
  }

  #deniedBy(op: ClaimOp, owner: PeerName): void {
    const nick = this.#dir.nicknames.get(owner);
    op.done.reject(
      new Error(
        `address ${ipText(op.cidr.addr)} is owned by other peer ${peerText(owner)}${
          nick === undefined ? "" : ` (${nick})`
        }`,
      ),
    );
  }

  #answerWhenDurable<T>(done: Once<T>, value: T, ident: string): void {
    this.#persister.whenDurable().then(
      () => done.resolve(value),
      (e: Error) =>
        done.reject(new Error(`Cannot answer for ${ident}: ${e.message}`, { cause: e })),
    );
  }

  #askForSpace(r: Range): void {
    const ring = this.#ring.range();
    const start = Math.max(r.start, ring.start);
    const end = Math.min(r.end, ring.end);
    const donors = this.#ring.choosePeersToAskForSpace(start, end, this.#random);
    const donor = donors.find((d) => this.#dir.isKnown(d));
    if (donor === undefined) {
      this.#log.debug(`No reachable peer to ask for space in ${ipText(start)}-${ipText(end - 1)}`);
      return;
    }
    // One request per donor and range per pass: many waiting calls need the same space.
    const key = `${donor}/${start}/${end}`;
    if (this.#asked.has(key)) return;
    this.#asked.add(key);
    this.#log.debug(
      `Decided to ask peer ${peerText(donor)} for space in range ${ipText(start)}-${
        ipText(end - 1)
      }`,
    );
    this.#sendSpaceRequest(donor, { start, end });
  }

  #cancelAll(): void {
    for (const list of [this.#primes, this.#claims, this.#allocates] as Operation[][]) {
      for (const op of list.splice(0)) {
        op.done.reject(new CancelledError(opKindText(op), op.ident));
      }
    }
  }

  // ---- owned addresses ------------------------------------------------------------

  #addOwned(ident: string, cidr: OwnedAddress, isContainer: boolean): void {
    this.#owned.add(ident, cidr, isContainer);
    this.#persister.markDirty();
  }

  #removeOwned(ident: string, addr: Address): boolean {
    if (!this.#owned.remove(ident, addr)) return false;
    if (this.#space.isAllocated(addr)) this.#space.free(addr);
    this.#persister.markDirty();
    return true;
  }

  #ownerToken(addr: Address): Address {
    const es = this.#ring.entries;
    let token = es[es.length - 1].token;
    for (const e of es) if (e.token <= addr) token = e.token;
    return token;
  }

  // ---- sending --------------------------------------------------------------------

  #afterDurable(f: () => void): void {
    this.#persister.whenDurable().then(
      () => {
        if (!this.#stopped) this.#guarded(f);
      },
      (e: Error) => this.#log.error(`Not sending IPAM data: state not saved: ${e.message}`),
    );
  }

  #broadcast(): void {
    this.#afterDurable(() => this.#channel?.gossipBroadcast(new IpamGossipData(this)));
  }

  #sendRingUpdate(dst: PeerName): void {
    this.#afterDurable(() => this.#sendRingUpdateNow(dst));
  }

  #sendRingUpdateNow(dst: PeerName): void {
    this.#unicast(dst, ringUpdateFromEncoded(this.encodeGossip()));
  }

  #sendSpaceRequest(dst: PeerName, range: Range): void {
    this.#unicast(dst, encodeIpamUnicast({ type: IpamMessageType.SpaceRequest, range }));
  }

  #unicast(dst: PeerName, payload: Uint8Array): void {
    this.#guarded(() => this.#channel?.gossipUnicast(dst, payload));
  }

  #guarded(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.#log.error((e as Error).message);
    }
  }

  // ---- persistence ----------------------------------------------------------------

  /**
   * What changed since the last save: the ring and holds whole (one entry
   * per range: they grow with the peers), and only the identifiers whose
   * addresses changed — so a save costs the same however many are owned.
   */
  #changesToSave(): IpamUpdate {
    const full = this.#fullSave;
    this.#fullSave = false;
    return {
      peerName: this.ourName,
      ring: this.#ring.isEmpty() ? undefined : this.#ring.toData(),
      holds: new Map([...this.#holds].map(([t, h]) => [t, { ...h }])),
      owned: this.#owned.takeChanges(full),
      full,
    };
  }

  #save(): Promise<void> {
    const update = this.#changesToSave();
    return this.#store.save(update).then(
      () => {
        this.#durableRing = update.ring;
        this.#durableSerial++;
      },
      (e: Error) => {
        this.#log.error(`Error persisting IPAM data: ${e.message}`);
        throw e;
      },
    );
  }

  /** Loads the store; true when a ring was restored. */
  async #loadPersisted(): Promise<boolean> {
    let state: IpamState | undefined;
    try {
      state = await this.#store.load();
    } catch (e) {
      this.#log.error((e as Error).message);
      throw e;
    }
    const overwrite = (message: string) => {
      this.#log.info(message);
      this.#persister.markDirty();
      return false;
    };
    if (!state) return overwrite("No valid persisted data");
    if (state.peerName !== this.ourName) {
      return overwrite(`Deleting persisted data for peername ${peerText(state.peerName)}`);
    }
    const universe = cidrRange(this.universe);
    if (state.ring && (state.ring.start !== universe.start || state.ring.end !== universe.end)) {
      const theirs = `${ipText(state.ring.start)}-${ipText(state.ring.end - 1)}`;
      return overwrite(
        `Deleting persisted data for IPAM range ${theirs}; our range is ${
          formatCidr(this.universe)
        }`,
      );
    }
    if (state.ring) {
      try {
        this.#ring = Ring.fromData(state.ring, this.ourName);
      } catch (e) {
        const msg = `IPAM state is damaged: ${
          (e as Error).message
        }; move it away or run 'weave reset'`;
        this.#log.error(msg);
        throw new Error(msg, { cause: e });
      }
    }
    this.#owned.reset(state.owned);
    this.#holds = state.holds;
    this.#syncSpace();
    this.#durableRing = this.#ring.isEmpty() ? undefined : this.#ring.toData();
    this.#durableSerial++;
    if (this.#ring.isEmpty()) return overwrite("No valid persisted data");
    return true;
  }
}
