/**
 * Weave's IPAM allocator (`ipam/allocator.go`, spec §6): brings together the
 * ring (who owns which range), our {@link Space} (which of our addresses are
 * free), the Paxos that seeds the ring, the `IPallocation` gossip, the
 * operations that wait and persistence.
 *
 * One class owns all of it, in private fields changed only by its methods,
 * synchronously (Deno's single thread plays Go's actor loop). The decisions
 * are plain functions over data, in files that never see those fields: what
 * an operation does next (`_operations.ts`, with the queue of waiting
 * operations), what received gossip asks of us (`_gossip_in.ts`), what our
 * gossip carries and its encode-once cache (`_gossip_out.ts`), the `rmpeer`
 * hold and tie-break and the space they leave us (`_takeover.ts`), whether
 * loaded state is ours (`_restore.ts`), the status report (`_report.ts`).
 * Helpers owning their own state: the Paxos driver (`paxos/consensus.ts`),
 * owned addresses with the change set a save writes (`_owned.ts`),
 * nicknames and reachability (`_peer_directory.ts`), write-behind saves
 * (`_persister.ts`) and sending (`_outbox.ts`).
 *
 * Waiting operations are retried once at the end of the task that changed
 * the ring (a microtask queued by the change, never a call from inside it),
 * at start and on every tick. Persistence is a barrier: every answer to a
 * client and every ring sent to a peer waits until the state it reflects is
 * saved, so a `kill -9` at any moment can never make us hand out an address
 * twice or forget a range we gave away. Gossip always carries the last saved
 * ring for the same reason.
 *
 * Lifecycle: construct, {@link Allocator.register} with the mesh, then
 * {@link Allocator.start} (loads the store), {@link Allocator.stop}.
 *
 * @module
 */
import type { IpamReport } from "../api/report.ts";
import { type Cidr, formatCidr, parseCidr } from "../lib/cidr.ts";
import type { Logger } from "../lib/log.ts";
import { formatPeerName, type PeerName, UNKNOWN_PEER_NAME } from "../lib/peer_name.ts";
import type { TimerId } from "../lib/timer.ts";
import { type Address, cidrRange, hostRange, type Range, rangeSize } from "./address/mod.ts";
import {
  encodeIpamUnicast,
  type GossipState,
  IpamMessageType,
  ringUpdateFromEncoded,
} from "./gossip_codec.ts";
import { IPAM_CHANNEL, IpamGossipData, IpamGossiper, type IpamGossipTarget } from "./gossiper.ts";
import { type IpamInit, parseIpamInit } from "./_init.ts";
import {
  allocateAnswer,
  type AllocateOp,
  cancel,
  chooseDonor,
  type ClaimOp,
  claimStep,
  deniedError,
  ipText,
  Once,
  type Operation,
  opKindText,
  type OpView,
  PendingOps,
} from "./_operations.ts";
import {
  Consensus,
  defaultSpreadMs,
  normalizeConsensus,
  PaxosNode,
  PaxosObserver,
  quorumFor,
} from "./paxos/mod.ts";
import { EncodeCache, encodeOutgoing, type OutgoingInput, outgoingState } from "./_gossip_out.ts";
import { clipToRing, gossipStep, ringErrorText, tieBreakHeld } from "./_gossip_in.ts";
import { OwnedBook } from "./_owned.ts";
import { PeerDirectory } from "./_peer_directory.ts";
import { Outbox } from "./_outbox.ts";
import { Persister } from "./_persister.ts";
import { buildIpamReport, ipamStatus, type PaxosReportInput } from "./_report.ts";
import { persistedVerdict } from "./_restore.ts";
import {
  type AllocatorMesh,
  type AllocatorOptions,
  DEFAULT_TAKEOVER_HOLD_MS,
  IPAM_TICK_MS,
  type WaitOptions,
} from "./allocator_options.ts";

export * from "./allocator_options.ts";
export type { AllocatorPeer } from "./_peer_directory.ts";
export type { IpamChannel } from "./_outbox.ts";
export { CancelledError, CLAIM_UNREACHABLE_GRACE_MS } from "./_operations.ts";
import { peerText, Ring, type RingData, RingError } from "./ring/mod.ts";
import { Space } from "./space/mod.ts";
import type { IpamStore, OwnedAddress, TakeoverHold } from "./store/mod.ts";
import { bumpVersions, expiredHolds, freeByToken, ownerToken, spaceFor } from "./_takeover.ts";

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
  readonly #init: IpamInit;
  readonly #store: IpamStore;
  readonly #log: Logger;
  /** Cluster size estimate for plain `consensus`. */
  readonly #clusterSize: () => number;
  readonly #clock: () => number;
  readonly #random: () => number;
  /** Takeover hold in ms (0: no hold). */
  readonly #holdMs: number;
  readonly #tickMs: number;

  /** Who owns which range; replaced whole after a takeover tie-break or when a hold ends. */
  #ring: Ring;
  /** Our free and allocated addresses; rebuilt from the ring by {@link #syncSpace}. */
  #space = new Space();
  readonly #owned = new OwnedBook();
  /** Ranges taken over by `rmpeer`, by token, not allocatable until `until`. */
  #holds = new Map<Address, TakeoverHold>();
  readonly #dir: PeerDirectory;
  readonly #consensus: Consensus;
  /** The operations that wait, retried by {@link #retryPending}. */
  readonly #pending = new PendingOps();
  /** A retry of the waiting operations is queued for the end of this task. */
  #retryQueued = false;
  readonly #persister = new Persister(() => this.#save());
  readonly #outbox: Outbox;
  /** The next save writes every owned identifier (the first after start). */
  #fullSave = true;
  /** The last saved ring, and a serial that changes with it (for the gossip encode cache). */
  #durableRing: RingData | undefined;
  #durableSerial = 0;
  #started = false;
  #stopped = false;
  #shuttingDown = false;
  #timer: TimerId | undefined;
  readonly #encodeCache = new EncodeCache();
  /** Gossip that arrived before {@link start}, replayed once started. */
  #early: (() => void)[] = [];
  /** What the operation decisions read (live: each call reads the current state). */
  readonly #view: OpView;

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
    this.#holdMs = opts.takeoverHoldMs ?? DEFAULT_TAKEOVER_HOLD_MS;
    this.#tickMs = opts.tickMs ?? IPAM_TICK_MS;
    const r = cidrRange(this.universe);
    this.#ring = new Ring(r.start, r.end, this.ourName);
    this.#dir = new PeerDirectory(this.ourName, opts.nickName, opts.peers);
    this.#consensus = this.#newConsensus(opts);
    this.#outbox = new Outbox(this.#persister, this.#log);
    this.#view = this.#newView();
  }

  /** The Paxos driver, wired to our state (read when it calls, never while constructing). */
  #newConsensus(opts: AllocatorOptions): Consensus {
    const id = { name: this.ourName, uid: this.ourUID };
    const participant = this.#init.mode === "observer" ? new PaxosObserver() : new PaxosNode(id, 0);
    const spreadMs = () => opts.proposalSpreadMs ?? defaultSpreadMs(this.#clusterCount());
    return new Consensus(participant, id, {
      quorum: () => quorumFor(this.#clusterCount()),
      clusterSize: () => this.#clusterCount(),
      isKnownPeer: (n) => this.#dir.isKnown(n),
      hasRing: () => !this.#ring.isEmpty(),
      broadcast: (only) => this.#outbox.broadcast(new IpamGossipData(this, only)),
      unicast: (dst, only) => {
        const state = outgoingState(this.#outgoing(only));
        this.#outbox.unicast(dst, encodeIpamUnicast({ type: IpamMessageType.RingUpdate, state }));
      },
      later: (f) => this.#outbox.afterDurable(f),
      now: () => this.#clock(),
      random: () => this.#random(),
      decided: (peers) => this.#createRing(peers),
      log: this.#log,
    }, {
      spreadMs,
      gatherMs: () => {
        const spread = spreadMs();
        return spread > 0 ? Math.max(20, spread) : 0;
      },
      stallMs: this.#tickMs > 0 ? this.#tickMs : IPAM_TICK_MS,
    });
  }

  #newView(): OpView {
    return {
      universe: this.universe,
      ourName: this.ourName,
      ring: () => this.#ring,
      owned: this.#owned,
      isHeld: (addr) =>
        this.#holds.size > 0 && this.#holds.has(ownerToken(this.#ring.entries, addr)),
      isKnown: (peer) => this.#dir.isKnown(peer),
      nickname: (peer) => this.#dir.nicknames.get(peer),
      now: () => this.#clock(),
    };
  }

  // ---- lifecycle ------------------------------------------------------------------

  /** Creates the `IPallocation` channel and follows peers leaving the topology. */
  register(mesh: AllocatorMesh): void {
    this.#outbox.attach(mesh.newGossip(IPAM_CHANNEL, new IpamGossiper(this)));
    mesh.onPeerGone((name) => this.#dir.gone(name, this.#ring.peerNames()));
  }

  /**
   * Loads the persisted state (throws IpamStoreCorruptError for a damaged
   * one), creates the ring for `seed=`, and starts the tick.
   */
  async start(): Promise<void> {
    const loaded = await this.#load();
    const seeds = this.#init.mode === "seed" ? this.#init.seeds : [];
    const log = this.#log;
    if (loaded && seeds.length > 0) {
      log.info("Found persisted IPAM data, ignoring supplied IPAM seed");
    } else if (loaded) log.info("Initialising with persisted data");
    else if (seeds.length > 0) {
      log.info("Initialising with supplied IPAM seed");
      this.#createRing(seeds);
    } else if (this.#consensus.participant.isElector()) {
      log.info("Initialising via deferred consensus");
    } else log.info("Initialising as observer - awaiting IPAM data from another peer");
    this.#started = true;
    for (const f of this.#early.splice(0)) this.#outbox.guarded(f);
    this.#retryPending();
    this.#reportFreeSpace();
    if (this.#tickMs > 0 && !this.#stopped) {
      this.#timer = setInterval(() => this.tick(), this.#tickMs);
    }
    await this.#persister.whenDurable();
  }

  /** Stops the tick and cancels every waiting call; nothing is sent any more. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#consensus.stop();
    this.#outbox.close();
    this.#pending.cancelAll();
  }

  /** One tick (every 5 s): retry consensus or waiting calls, end takeover holds, report free space. */
  tick(): void {
    if (this.#stopped || !this.#started) return;
    this.#pending.forgetAsks();
    if (this.#ring.isEmpty()) this.#consensus.tick();
    if (!this.#consensus.awaiting && this.#pending.size > 0) {
      if (this.#ring.isEmpty()) this.#establishRing();
      else this.#retryPending();
    }
    this.#expireHolds();
    this.#reportFreeSpace();
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
    this.#submit(op, opts.signal);
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
    this.#submit(op, opts.signal);
    return op.done.promise;
  }

  /** Waits until the ring exists, starting consensus if needed (`weave prime`). */
  prime(opts: { signal?: AbortSignal } = {}): Promise<void> {
    const op: Operation = { kind: "prime", ident: "ring", done: new Once() };
    this.#submit(op, opts.signal);
    return op.done.promise;
  }

  /** Releases one address of `ident`; resolves once saved. */
  async free(ident: string, addr: Address): Promise<void> {
    if (!this.#removeOwned(ident, addr)) {
      throw new Error(`Free: address ${ipText(addr)} not found for ${ident}`);
    }
    this.#log.debug(`Freed ${ipText(addr)} for ${ident}`);
    this.#reportFreeSpace();
    await this.#persister.whenDurable();
  }

  /** Releases every address of `ident`; resolves once saved. */
  async delete(ident: string): Promise<void> {
    const d = this.#owned.get(ident);
    if (!d || d.cidrs.length === 0) throw new Error(`Delete: no addresses for ${ident}`);
    for (const c of [...d.cidrs]) this.#removeOwned(ident, c.addr);
    this.#reportFreeSpace();
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
   * With a hold, they become allocatable only when it ends (see `_takeover.ts`).
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
    this.#pending.cancelAll();
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
      pendingClaims: this.#pending.claims.map((c) => ({ ident: c.ident, cidr: c.cidr })),
      pendingAllocates: this.#pending.allocates.map((a) => ({ ident: a.ident, subnet: a.subnet })),
    });
  }

  /** The `Status:` line (`ready`, `awaiting consensus (…)`, …). */
  status(): string {
    return ipamStatus(this.report(), this.#paxosStatus());
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

  /** A peer's gossip state (throws RingError for a ring that cannot merge). */
  onGossipState(sender: PeerName, state: GossipState): void {
    if (!this.#started) return void this.#early.push(() => this.onGossipState(sender, state));
    if (this.#stopped) return;
    try {
      for (const [peer, nick] of state.nicknames) this.#dir.nicknames.set(peer, nick);
      const step = gossipStep(state, sender, {
        hasRing: !this.#ring.isEmpty(),
        elector: this.#consensus.participant.isElector(),
      });
      if (step.do === "merge") this.#mergeRing(sender, step.ring);
      else if (step.do === "send-ring") this.#sendRingUpdate(sender);
      else if (step.do === "paxos") this.#consensus.received(step.paxos);
      else if (step.do === "establish") this.#establishRing();
    } finally {
      this.#reportFreeSpace();
    }
  }

  /** A peer asks for space in `range`: give it a free chunk if we have one, else deny. */
  onSpaceRequest(sender: PeerName, range: Range): void {
    if (!this.#started) return void this.#early.push(() => this.onSpaceRequest(sender, range));
    if (this.#stopped || this.#ring.isEmpty()) return;
    this.#log.debug(`Peer ${peerText(sender)} asked me for space`);
    this.#donateSpace(range, sender);
    this.#reportFreeSpace();
  }

  /**
   * `sender` refused space in `range`: fails the waiting claims of addresses in it that `sender`
   * still owns in our ring. A claim whose address has meanwhile moved to another peer (our ring
   * learnt it, e.g. from the ring the sender sent just before) stays, asking the new owner.
   */
  onSpaceRequestDenied(sender: PeerName, range: Range): void {
    if (!this.#started) {
      return void this.#early.push(() => this.onSpaceRequestDenied(sender, range));
    }
    for (const op of this.#pending.claimsIn(range)) {
      const addr = op.cidr.addr;
      if (this.#ring.contains(addr) && this.#ring.owner(addr) !== sender) {
        this.#log.debug(`${ipText(addr)} moved on from ${peerText(sender)}; asking its new owner`);
        if (this.#tryClaim(op)) this.#pending.remove(op);
        continue;
      }
      this.#pending.remove(op);
      op.done.reject(deniedError(this.#view, op, sender));
    }
  }

  // ---- operations -----------------------------------------------------------------

  /** Tries `op` now, else queues it until finished or `signal` aborts. */
  #submit(op: Operation, signal: AbortSignal | undefined): void {
    if (this.#shuttingDown || this.#stopped || signal?.aborted) return cancel(op);
    if (signal) this.#pending.cancelOnAbort(op, signal);
    if (this.#started && this.#tryOp(op)) return this.#reportFreeSpace();
    this.#pending.add(op);
    if (this.#started) {
      this.#log.info(`${opKindText(op)} for ${op.ident} is waiting: ${this.status()}`);
      this.#reportFreeSpace();
    }
  }

  /** Queues one retry of the waiting operations for the end of the current task. */
  #retrySoon(): void {
    if (this.#retryQueued) return;
    this.#retryQueued = true;
    queueMicrotask(() => {
      this.#retryQueued = false;
      this.#retryPending();
    });
  }

  /** One pass over the waiting operations (once started). */
  #retryPending(): void {
    if (!this.#started || this.#stopped || this.#pending.size === 0) return;
    this.#pending.retry((op) => this.#tryOp(op));
    this.#reportFreeSpace();
  }

  /** Tries one operation; true when it is finished (succeeded or failed). */
  #tryOp(op: Operation): boolean {
    if (op.kind === "allocate") return this.#tryAllocate(op);
    if (op.kind === "claim") return this.#tryClaim(op);
    this.#establishRing();
    if (this.#ring.isEmpty()) return false;
    op.done.resolve();
    return true;
  }

  #tryAllocate(op: AllocateOp): boolean {
    const settled = allocateAnswer(this.#view, op);
    if (settled !== undefined) {
      if ("error" in settled) op.done.reject(settled.error);
      else this.#outbox.answer(op.done, settled.existing, op.ident);
      return true;
    }
    this.#establishRing();
    if (this.#ring.isEmpty()) return false;
    const addr = this.#space.allocate(hostRange(op.subnet));
    if (addr === undefined) {
      this.#askForSpace(cidrRange(op.subnet));
      return false;
    }
    // Ident "_" (the Docker plugin's) files the address under itself, as Weave does, so that
    // `DELETE /ip/<address>` releases it.
    const ident = op.ident === "_" ? ipText(addr) : op.ident;
    this.#log.debug(`Allocated ${ipText(addr)} for ${ident} in ${formatCidr(op.subnet)}`);
    const result = { addr, prefix: op.subnet.prefix };
    this.#addOwned(ident, result, op.isContainer);
    this.#outbox.answer(op.done, result, ident);
    return true;
  }

  #tryClaim(op: ClaimOp): boolean {
    const addr = op.cidr.addr;
    if (this.#ring.contains(addr)) this.#establishRing();
    const step = claimStep(this.#view, op);
    switch (step.do) {
      case "record":
        this.#log.info(`Address ${ipText(addr)} claimed by ${op.ident} - not in our range`);
        this.#addOwned(op.ident, op.cidr, op.isContainer);
        this.#outbox.answer(op.done, undefined, op.ident);
        return true;
      case "take":
        try {
          this.#space.claim(addr);
        } catch (e) {
          op.done.reject(e as Error);
          return true;
        }
        this.#log.debug(`Claimed ${ipText(addr)} for ${step.ident}`);
        this.#addOwned(step.ident, op.cidr, op.isContainer);
        this.#outbox.answer(op.done, undefined, op.ident);
        return true;
      case "resolve":
        if (step.note) this.#log.info(step.note);
        op.done.resolve();
        return !step.wait;
      case "fail":
        op.done.reject(step.error);
        return true;
      case "ask":
        this.#log.debug(
          `requesting address ${ipText(addr)} from other peer ${peerText(step.owner)}`,
        );
        this.#sendSpaceRequest(step.owner, { start: addr, end: addr + 1 });
        return false;
      case "wait":
        return false;
    }
  }

  /** Asks one reachable peer owning space in `r` for some, once per donor and range per pass. */
  #askForSpace(r: Range): void {
    const { donor, range } = chooseDonor(this.#view, r, this.#random);
    const text = `${ipText(range.start)}-${ipText(range.end - 1)}`;
    if (donor === undefined) {
      this.#log.debug(`No reachable peer to ask for space in ${text}`);
      return;
    }
    if (!this.#pending.firstAsk(`${donor}/${range.start}/${range.end}`)) return;
    this.#log.debug(`Decided to ask peer ${peerText(donor)} for space in range ${text}`);
    this.#sendSpaceRequest(donor, range);
  }

  // ---- the ring -------------------------------------------------------------------

  /** Starts waiting for consensus unless the ring exists, we already wait, or we shut down. */
  #establishRing(): void {
    if (!this.#ring.isEmpty() || this.#consensus.awaiting || this.#shuttingDown) return;
    this.#consensus.start();
  }

  /** Peers in the cluster: `consensus=N`, or else the configured estimate. */
  #clusterCount(): number {
    if (this.#init.mode === "consensus" && this.#init.count !== undefined) return this.#init.count;
    return Math.max(1, this.#clusterSize());
  }

  /** Paxos figures while we await consensus without a ring, else undefined. */
  #paxosStatus(): PaxosReportInput | undefined {
    if (!this.#consensus.awaiting || !this.#ring.isEmpty()) return undefined;
    const paxos = this.#consensus.participant;
    if (!paxos.isElector()) return { elector: false, knownNodes: 0, quorum: 0 };
    return { elector: true, ...paxos.status() };
  }

  /** Creates the ring split among `peers` (seeds or the Paxos value) unless it exists. */
  #createRing(peers: readonly PeerName[]): void {
    if (!this.#ring.isEmpty()) return;
    const seeds = normalizeConsensus(peers);
    this.#log.debug(`Paxos consensus: [${seeds.map(peerText).join(" ")}]`);
    this.#ring.claimForPeers(seeds);
    this.#ringUpdated();
    this.#broadcast();
  }

  /**
   * After any ring change: end consensus, drop holds no longer ours, rebuild
   * our space, retry the waiting operations at the end of this task (queued
   * before the save starts, so the save covers what they allocate), save.
   */
  #ringUpdated(): void {
    this.#consensus.finish();
    for (const [token] of this.#holds) {
      if (!this.#ring.entries.some((e) => e.token === token && e.peer === this.ourName)) {
        this.#holds.delete(token);
      }
    }
    this.#syncSpace();
    this.#retrySoon();
    this.#persister.markDirty();
  }

  /** Merges a peer's ring, settling takeover tie-breaks first (throws RingError). */
  #mergeRing(sender: PeerName, incoming: RingData): void {
    let theirs = incoming;
    let changed = false;
    if (this.#holds.size > 0) {
      const held = { us: this.ourName, holds: this.#holds };
      const t = tieBreakHeld(this.#ring.toData(), incoming, held, (p) => this.#dir.annotate(p));
      for (const note of t.notes) this.#log[note.level](note.text);
      for (const token of t.released) this.#holds.delete(token);
      if (t.ours) {
        this.#ring = Ring.fromData(t.ours, this.ourName);
        changed = true;
      }
      theirs = t.incoming;
    }
    let updated: boolean;
    try {
      updated = this.#ring.merge(theirs, {
        hasAllocations: (ranges) => this.#space.hasAllocationsIn(ranges),
        nicknames: this.#dir.nicknames,
      });
    } catch (e) {
      if (changed) this.#ringUpdated();
      if (e instanceof RingError) {
        const from = sender === UNKNOWN_PEER_NAME ? "a peer" : this.#dir.annotate(sender);
        this.#log.error(ringErrorText(e, from));
      }
      throw e;
    }
    if (updated || changed) {
      this.#dir.prune(this.#ring.peerNames());
      this.#ringUpdated();
    }
  }

  /** Makes takeovers whose hold ended final (their entries get a new version). */
  #expireHolds(): void {
    const expired = expiredHolds(this.#holds, this.#clock());
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

  /** Gives `to` a free chunk of `requested` if we have one, else denies; then sends our ring. */
  #donateSpace(requested: Range, to: PeerName): void {
    const r = clipToRing(this.#ring.range(), requested);
    const chunk = r.start < r.end ? this.#space.donate(r) : undefined;
    if (!chunk) {
      this.#log.debug(`No space to give to peer ${peerText(to)}`);
    } else {
      const text = `${ipText(chunk.start)}-${ipText(chunk.end - 1)}`;
      this.#log.debug(`Giving range ${text} to ${peerText(to)}`);
      try {
        this.#ring.grantRangeToHost(chunk.start, chunk.end, to);
      } catch (e) {
        this.#log.error(`Cannot give range to ${peerText(to)}: ${(e as Error).message}`);
        this.#syncSpace();
      }
      this.#persister.markDirty();
      this.#broadcast();
    }
    this.#outbox.afterDurable(() => {
      // The ring first (Go sends it after the denial): a peer that asked us for an address we
      // gave away meanwhile then learns the new owner before our "no", and asks that owner
      // instead of failing (see onSpaceRequestDenied).
      this.#sendRingNow(to);
      if (!chunk) {
        const denied = { type: IpamMessageType.SpaceRequestDenied, range: requested } as const;
        this.#outbox.unicast(to, encodeIpamUnicast(denied));
      }
    });
  }

  // ---- our space ------------------------------------------------------------------

  /** Rebuilds our space from the ring (held ranges left out) and the owned addresses. */
  #syncSpace(): void {
    const input = {
      ring: this.#ring.toData(),
      us: this.ourName,
      holds: this.#holds,
      owned: this.#owned.entries(),
      withRanges: !this.#shuttingDown,
    };
    this.#space = spaceFor(input, (ident, addr) => {
      this.#log.warn(`Address ${ipText(addr)} of ${ident} is not in a range we own`);
    });
  }

  /** After every action: record free counts in our entries (Go `reportFreeSpace`). */
  #reportFreeSpace(): void {
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

  #addOwned(ident: string, cidr: OwnedAddress, isContainer: boolean): void {
    this.#owned.add(ident, cidr, isContainer);
    this.#persister.markDirty();
  }

  /** Releases `addr` of `ident` back to our space; false when `ident` does not own it. */
  #removeOwned(ident: string, addr: Address): boolean {
    if (!this.#owned.remove(ident, addr)) return false;
    if (this.#space.isAllocated(addr)) this.#space.free(addr);
    this.#persister.markDirty();
    return true;
  }

  // ---- sending --------------------------------------------------------------------

  /** What our gossip state is encoded from (Paxos limited to `only` when given). */
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

  /** Broadcasts our gossip state once saved. */
  #broadcast(): void {
    this.#outbox.afterDurable(() => this.#outbox.broadcast(new IpamGossipData(this)));
  }

  /** Sends our ring to `dst` once saved. */
  #sendRingUpdate(dst: PeerName): void {
    this.#outbox.afterDurable(() => this.#sendRingNow(dst));
  }

  /** Sends our (last saved) gossip state to `dst` as a `RingUpdate` now. */
  #sendRingNow(dst: PeerName): void {
    this.#outbox.unicast(dst, ringUpdateFromEncoded(this.encodeGossip()));
  }

  #sendSpaceRequest(dst: PeerName, range: Range): void {
    this.#outbox.unicast(dst, encodeIpamUnicast({ type: IpamMessageType.SpaceRequest, range }));
  }

  // ---- persistence ----------------------------------------------------------------

  /**
   * Saves what changed, captured now: the ring and holds whole (one entry
   * per range: they grow with the peers), and only the identifiers whose
   * addresses changed, so a save costs the same however many are owned.
   * The saved ring then goes into gossip.
   */
  #save(): Promise<void> {
    const full = this.#fullSave;
    this.#fullSave = false;
    const update = {
      peerName: this.ourName,
      ring: this.#ring.isEmpty() ? undefined : this.#ring.toData(),
      holds: new Map([...this.#holds].map(([t, h]) => [t, { ...h }])),
      owned: this.#owned.takeChanges(full),
      full,
    };
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
  async #load(): Promise<boolean> {
    let loaded;
    try {
      loaded = await this.#store.load();
    } catch (e) {
      this.#log.error((e as Error).message);
      throw e;
    }
    const verdict = persistedVerdict(loaded, { ourName: this.ourName, universe: this.universe });
    if (!verdict.use) {
      this.#log.info(verdict.why);
      this.#persister.markDirty();
      return false;
    }
    const { state } = verdict;
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
    if (!this.#ring.isEmpty()) return true;
    this.#log.info("No valid persisted data");
    this.#persister.markDirty();
    return false;
  }
}
