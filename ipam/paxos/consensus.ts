/**
 * Driving the Paxos that seeds the ring (spec §6.3): when to propose, what
 * to send to whom, and when the agreed value becomes the ring. The rules of
 * Paxos itself (promise, accept, consensus) are in `paxos.ts`; the semantics
 * are Weave's: quorum N/2+1, the agreed value is the set of peers the
 * winning proposer knew, split by recursive halving.
 *
 * Why this differs from Go's allocator, which broadcasts its whole Paxos
 * state to every peer on every change and proposes again on every 5 s tick.
 * With N peers that is N broadcasts of N claims to N−1 peers per step of a
 * round, O(N³) bytes, and once a round takes longer than a tick every waiting
 * peer starts a higher one, so rounds keep superseding each other (Weave
 * users saw 15–20 minutes at 180 nodes). Here, on the same wire format:
 *
 * 1. **Only what changed, only to whom it matters.** A change of our claims
 *    sends just our own claims (one map entry): broadcast while the proposal
 *    we promised is our own (our proposal, or our acceptance of it, which
 *    every acceptor must see), otherwise as a `RingUpdate` unicast to the
 *    proposer we promised — the only peer that counts promises and
 *    acceptances. The proposer reaches consensus, creates the ring and
 *    broadcasts it; every other peer learns the ring from it. A round costs
 *    O(N) messages of constant size plus one ring broadcast. Periodic gossip
 *    still carries the whole state (anti-entropy), and a Go peer receives
 *    valid, if smaller, `gossipState`s (Go handles Paxos in `RingUpdate`s
 *    too).
 * 2. **Changes in one task are sent once.** Sending waits for the end of the
 *    current task (and for saves in flight), so a peer that hears of ten
 *    higher proposals in one batch of messages sends once, to the last.
 * 3. **No new round while one is moving.** A tick proposes again only if
 *    nothing in our Paxos knowledge changed since the previous tick (the
 *    round stalled: a lost message or a dead proposer), instead of on every
 *    tick. Likewise a peer that starts waiting for the ring does not propose
 *    while it has promised another peer's proposal within the last tick.
 * 4. **Proposals spread out.** When many peers need the ring at once (every
 *    host starting containers after a reboot), each first waits a random
 *    delay below `spreadMs` (by default 1 ms per peer, at most 250 ms) and
 *    then proposes only if no other proposal reached it meanwhile, as Raft
 *    spreads its election timeouts: typically one or a few proposals compete
 *    instead of N, each costing N−1 messages.
 * 5. **The value names everyone who answers in time.** Weave's value is the
 *    set of peers the proposer knows when it accepts. Go learns of peers
 *    from everyone's broadcasts; here the proposer hears only the promises
 *    sent to it, so once a quorum promised it waits up to `gatherMs` (the
 *    same scale as the spread, at least 20 ms) for the rest of the cluster's
 *    expected size, and accepts at once when all promised. Peers left out
 *    would otherwise have to ask others for space first.
 *
 * Safety is Paxos's own and does not depend on who hears what: a node
 * accepts only the proposal it promised, and a proposer adopts the highest
 * accepted value among the promises it counts (each promise carries the
 * promiser's accepted value).
 *
 * @module
 */
import type { Logger } from "../../lib/log.ts";
import type { PeerName } from "../../lib/peer_name.ts";
import type { TimerId } from "../../lib/timer.ts";
import { type NodeID, nodeKey, type Participant, type PaxosGossip, sameNode } from "./paxos.ts";

/** Timing of the consensus driver. */
export interface ConsensusTiming {
  /** Upper bound of the random delay before a first proposal (0: propose at once), read at start. */
  spreadMs(): number;
  /** How long a proposer with a quorum of promises waits for the rest (0: accepts at quorum). */
  gatherMs(): number;
  /** How long without news a round counts as stalled (the tick period). */
  stallMs: number;
}

/** Default {@link ConsensusTiming.spreadMs} for a cluster of `n` peers: 1 ms per peer, at most 250. */
export function defaultSpreadMs(n: number): number {
  return Math.min(250, Math.max(0, n));
}

/** What the consensus driver needs from the allocator. */
export interface ConsensusHost {
  /** Quorum for the cluster (set when we start). */
  quorum(): number;
  /** How many peers the cluster is expected to have. */
  clusterSize(): number;
  /** Whether `name` is in the topology and reachable. */
  isKnownPeer(name: PeerName): boolean;
  /** Whether the ring exists (Paxos is over). */
  hasRing(): boolean;
  /** Broadcasts our gossip state, its Paxos part limited to the nodes in `only` (all when undefined). */
  broadcast(only?: ReadonlySet<string>): void;
  /** Sends our gossip state, Paxos limited to `only`, to `dst` as a `RingUpdate`. */
  unicast(dst: PeerName, only: ReadonlySet<string>): void;
  /** Runs `f` after the current task, once the state is saved (not after stop). */
  later(f: () => void): void;
  /** Milliseconds clock. */
  now(): number;
  /** Random number in [0,1). */
  random(): number;
  /** Consensus on `peers`: create the ring. */
  decided(peers: PeerName[]): void;
  log: Logger;
}

/**
 * The allocator's side of Paxos.
 *
 * @example
 * ```ts ignore
 * const consensus = new Consensus(new PaxosNode(id, 0), id, host);
 * consensus.start(); // the first allocation needs the ring
 * consensus.received(state.paxos); // from gossip
 * consensus.tick(); // every 5 s
 * ```
 */
export class Consensus {
  readonly participant: Participant;
  #id: NodeID;
  #host: ConsensusHost;
  #opts: ConsensusTiming;
  #awaiting = false;
  #versionAtTick = -1;
  #sendPending = false;
  /** When our Paxos knowledge last changed through gossip (ms). */
  #heardAt = -Infinity;
  #timer: TimerId | undefined;
  #gatherTimer: TimerId | undefined;
  #gatherMs = 0;

  constructor(participant: Participant, id: NodeID, host: ConsensusHost, opts: ConsensusTiming) {
    this.participant = participant;
    this.#id = { ...id };
    this.#host = host;
    this.#opts = opts;
  }

  /** Whether we asked for the ring and wait for consensus (Go `awaitingConsensus`). */
  get awaiting(): boolean {
    return this.#awaiting;
  }

  /**
   * Starts waiting for consensus (Go `establishRing`): sets the quorum and
   * proposes, after a random delay below the spread when others may compete.
   */
  start(): void {
    if (this.#awaiting) return;
    this.#awaiting = true;
    const quorum = this.#host.quorum();
    this.participant.setQuorum(quorum);
    const spread = quorum > 1 && this.participant.isElector() ? this.#opts.spreadMs() : 0;
    const delay = Math.floor(this.#host.random() * spread);
    if (delay <= 0) return this.#proposeUnlessRunning();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#proposeUnlessRunning();
    }, delay);
  }

  /** The ring exists: stop waiting. */
  finish(): void {
    this.#awaiting = false;
    this.stop();
  }

  /** Cancels a delayed proposal and a wait for promises. */
  stop(): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#gatherTimer);
    this.#timer = undefined;
    this.#gatherTimer = undefined;
  }

  /** Proposes unless another peer's round is under way (we promised it within a tick). */
  #proposeUnlessRunning(): void {
    if (!this.#awaiting || this.#host.hasRing()) return;
    const to = this.participant.promisedTo();
    const running = to !== undefined && !sameNode(to, this.#id) &&
      this.#host.now() - this.#heardAt < this.#opts.stallMs;
    if (!running) this.#propose();
    this.#checkConsensus();
  }

  /**
   * The 5 s tick while there is no ring. When nothing changed for a whole
   * tick, a peer waiting for consensus proposes again (the round stalled);
   * a peer that only took part sends its claims to its proposer again, which
   * answers with the ring if it has one (a missed broadcast costs a tick or
   * two instead of waiting for periodic gossip).
   */
  tick(): void {
    if (this.#host.hasRing()) return;
    const stalled = this.participant.version === this.#versionAtTick;
    if (this.#awaiting) {
      if (stalled) this.#propose();
      this.#checkConsensus();
    } else if (stalled && this.participant.promisedTo() !== undefined) {
      this.#sendClaims();
    }
    this.#versionAtTick = this.participant.version;
  }

  /** Paxos claims arrived in gossip. */
  received(paxos: PaxosGossip): void {
    if (!this.participant.update(paxos)) return;
    this.#heardAt = this.#host.now();
    this.#gather();
    if (this.participant.think()) this.#claimsChanged();
    // As Go: a node that never set its quorum (never asked for the ring) only
    // follows; it learns the ring from the proposer's broadcast.
    if (this.participant.status().quorum > 0) this.#checkConsensus();
  }

  #propose(): void {
    this.#host.log.debug("Paxos proposing");
    clearTimeout(this.#gatherTimer);
    this.#gatherTimer = undefined;
    this.#gatherMs = this.#opts.gatherMs();
    this.participant.setAcceptAt(this.#gatherMs > 0 ? this.#host.clusterSize() : 0);
    this.participant.propose();
    this.#claimsChanged();
  }

  /** Once a quorum promised our proposal, waits `gatherMs` at most for the others. */
  #gather(): void {
    if (this.#gatherMs <= 0 || this.#gatherTimer !== undefined) return;
    if (this.participant.promises() < this.#host.quorum()) return;
    this.#gatherTimer = setTimeout(() => {
      this.participant.setAcceptAt(0);
      if (this.participant.think()) this.#claimsChanged();
      this.#checkConsensus();
    }, this.#gatherMs);
  }

  #claimsChanged(): void {
    if (this.#sendPending) return;
    this.#sendPending = true;
    this.#host.later(() => {
      this.#sendPending = false;
      this.#sendClaims();
    });
  }

  #sendClaims(): void {
    if (this.#host.hasRing()) return;
    const to = this.participant.promisedTo();
    // An observer has no claims: its broadcast asks electors for the ring.
    if (to === undefined) return this.#host.broadcast();
    const own = new Set([nodeKey(this.#id)]);
    if (sameNode(to, this.#id) || !this.#host.isKnownPeer(to.name)) this.#host.broadcast(own);
    else this.#host.unicast(to.name, own);
  }

  #checkConsensus(): void {
    if (this.#host.hasRing()) return;
    const c = this.participant.consensus();
    if (c.ok) this.#host.decided(c.value!.value);
  }
}
