/**
 * The Paxos-over-gossip that lets peers agree who seeds the IPAM ring
 * (Weave `ipam/paxos`, spec §6.3). There are no Paxos messages: every node
 * gossips what it knows of every node's claims (promise, accepted proposal
 * and value), merges what others know, and then "thinks" — adopts the
 * highest promise, accepts as proposer once a quorum promised its proposal,
 * and follows an acceptance of the proposal it promised. Consensus is a
 * quorum of nodes having accepted values of the same origin. Which claims
 * are sent to whom, and when, is the caller's choice (the allocator's is in
 * `consensus.ts`): merging is per node, so any subset may travel.
 *
 * Deterministic: claims are kept in the order first heard (Go iterates a map
 * at random; the outcome does not depend on that order). Node identity
 * includes the UID, so a restarted peer is a new acceptor, as Paxos needs.
 *
 * @module
 */
import type { PeerName } from "../../lib/peer_name.ts";

/** A Paxos node: peer name plus the UID of this run of the peer. */
export interface NodeID {
  name: PeerName;
  uid: bigint;
}

/** A proposal number; round 0 is "none" and precedes every real proposal. */
export interface ProposalID {
  round: bigint;
  proposer: NodeID;
}

/** A value (the seed peers) with the proposal that first chose it. */
export interface AcceptedValue {
  value: PeerName[];
  origin: ProposalID;
}

/** What one node has promised and accepted. */
export interface NodeClaims {
  promise: ProposalID;
  accepted: ProposalID;
  acceptedVal: AcceptedValue;
}

/** Go `GossipState` (`map[NodeID]NodeClaims`) as pairs, in wire order. */
export type PaxosGossip = [NodeID, NodeClaims][];

/** Result of {@link Participant.consensus}. */
export interface ConsensusResult {
  ok: boolean;
  /** The agreed value when `ok`. */
  value?: AcceptedValue;
}

/** Status figures (Go `paxos.Status`). */
export interface PaxosStatus {
  knownNodes: number;
  quorum: number;
}

/** A Paxos role: a voting {@link PaxosNode} or a silent {@link PaxosObserver}. */
export interface Participant {
  /** Goes up whenever what this participant knows or claims changes (caches key on it). */
  readonly version: number;
  /**
   * Our knowledge to gossip, limited to the nodes whose {@link nodeKey} is in
   * `only` when given; undefined for an observer (Go sends a nil map).
   */
  gossipState(only?: ReadonlySet<string>): PaxosGossip | undefined;
  /** The node whose proposal we promised (ourselves while our proposal leads); none before any. */
  promisedTo(): NodeID | undefined;
  /** Merges gossiped knowledge; returns whether we learned something new. */
  update(from: PaxosGossip): boolean;
  /** Sets how many nodes make a quorum. */
  setQuorum(quorum: number): void;
  /**
   * As proposer, accept only once this many nodes promised (never fewer than
   * a quorum; 0: a quorum), so that the value names more peers.
   */
  setAcceptAt(count: number): void;
  /** Nodes that promised our proposal while we lead one (ourselves included), else 0. */
  promises(): number;
  /** Starts a new round that supersedes every round seen (the Prepare step). */
  propose(): void;
  /** Applies the promise/accept rules; returns whether our own claims changed. */
  think(): boolean;
  /** Whether a quorum accepted values of one origin, and that value. */
  consensus(): ConsensusResult;
  /** Whether this participant may start ring establishment. */
  isElector(): boolean;
  /** Known nodes and quorum, for status output. */
  status(): PaxosStatus;
}

const NO_NODE: NodeID = Object.freeze({ name: 0n, uid: 0n });

/** The zero proposal (round 0), as Go's zero value. */
export function noProposal(): ProposalID {
  return { round: 0n, proposer: { ...NO_NODE } };
}

/** Fresh zero claims (nothing promised or accepted). */
export function emptyClaims(): NodeClaims {
  return {
    promise: noProposal(),
    accepted: noProposal(),
    acceptedVal: { value: [], origin: noProposal() },
  };
}

/** Whether proposal `a` comes before `b`: by round, then proposer name, then UID. */
export function precedes(a: ProposalID, b: ProposalID): boolean {
  if (a.round !== b.round) return a.round < b.round;
  if (a.proposer.name !== b.proposer.name) return a.proposer.name < b.proposer.name;
  return a.proposer.uid < b.proposer.uid;
}

/** Whether two proposal ids are the same. */
export function sameProposal(a: ProposalID, b: ProposalID): boolean {
  return a.round === b.round && sameNode(a.proposer, b.proposer);
}

/** Whether two node ids are the same. */
export function sameNode(a: NodeID, b: NodeID): boolean {
  return a.name === b.name && a.uid === b.uid;
}

/** Quorum for a cluster of `n` peers: a strict majority, `n/2 + 1`. */
export function quorumFor(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** The agreed value as ring seeds: sorted ascending, duplicates removed (Go `normalizeConsensus`). */
export function normalizeConsensus(peers: readonly PeerName[]): PeerName[] {
  return [...new Set(peers)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function copyProposal(p: ProposalID): ProposalID {
  return { round: p.round, proposer: { ...p.proposer } };
}

function copyClaims(c: NodeClaims): NodeClaims {
  return {
    promise: copyProposal(c.promise),
    accepted: copyProposal(c.accepted),
    acceptedVal: { value: [...c.acceptedVal.value], origin: copyProposal(c.acceptedVal.origin) },
  };
}

function sameClaims(a: NodeClaims, b: NodeClaims): boolean {
  return sameProposal(a.promise, b.promise) && sameProposal(a.accepted, b.accepted) &&
    sameProposal(a.acceptedVal.origin, b.acceptedVal.origin);
}

/**
 * The text key of a node id, as used by {@link Participant.gossipState}'s
 * `only` filter.
 *
 * @example
 * ```ts
 * import { nodeKey } from "./paxos.ts";
 * nodeKey({ name: 1n, uid: 7n }); // "1/7"
 * ```
 */
export function nodeKey(id: NodeID): string {
  return `${id.name}/${id.uid}`;
}

const key = nodeKey;

/**
 * A voting Paxos node.
 *
 * @example
 * ```ts
 * import { PaxosNode } from "./paxos.ts";
 * const node = new PaxosNode({ name: 1n, uid: 7n }, 1);
 * node.propose(); // with quorum 1 it accepts at once
 * node.consensus().value?.value; // [1n]
 * ```
 */
export class PaxosNode implements Participant {
  readonly id: NodeID;
  #quorum: number;
  #knows = new Map<string, [NodeID, NodeClaims]>();
  #version = 0;
  #acceptAt = 0;

  /** A node with identity `id` needing `quorum` nodes (0 = not yet known; propose then throws). */
  constructor(id: NodeID, quorum: number) {
    this.id = { ...id };
    this.#quorum = quorum;
  }

  get version(): number {
    return this.#version;
  }

  gossipState(only?: ReadonlySet<string>): PaxosGossip {
    const pairs = only === undefined
      ? [...this.#knows.values()]
      : [...only].map((k) => this.#knows.get(k)).filter((p) => p !== undefined);
    return pairs.map(([id, c]) => [{ ...id }, copyClaims(c)]);
  }

  promisedTo(): NodeID | undefined {
    const ours = this.#knows.get(key(this.id));
    return ours && ours[1].promise.round > 0n ? { ...ours[1].promise.proposer } : undefined;
  }

  setQuorum(quorum: number): void {
    this.#quorum = quorum;
  }

  setAcceptAt(count: number): void {
    this.#acceptAt = count;
  }

  promises(): number {
    const ours = this.#knows.get(key(this.id))?.[1];
    if (!ours || !sameNode(ours.promise.proposer, this.id)) return 0;
    let n = 0;
    for (const [, c] of this.#knows.values()) if (sameProposal(c.promise, ours.promise)) n++;
    return n;
  }

  update(from: PaxosGossip): boolean {
    let changed = false;
    for (const [id, theirs] of from) {
      const known = this.#knows.get(key(id));
      if (!known) {
        this.#knows.set(key(id), [{ ...id }, copyClaims(theirs)]);
        changed = true;
        continue;
      }
      const claims = known[1];
      if (precedes(claims.promise, theirs.promise)) {
        claims.promise = copyProposal(theirs.promise);
        changed = true;
      }
      if (precedes(claims.accepted, theirs.accepted)) {
        claims.accepted = copyProposal(theirs.accepted);
        claims.acceptedVal = copyClaims(theirs).acceptedVal;
        changed = true;
      }
    }
    if (changed) this.#version++;
    return changed;
  }

  propose(): void {
    if (this.#quorum <= 0) {
      throw new RangeError("Cannot propose a Paxos round: no quorum set");
    }
    let round = 0n;
    for (const [, c] of this.#knows.values()) {
      if (c.promise.round > round) round = c.promise.round;
      if (c.accepted.round > round) round = c.accepted.round;
    }
    const ours = this.#ours();
    ours.promise = { round: round + 1n, proposer: { ...this.id } };
    this.#knows.set(key(this.id), [{ ...this.id }, ours]);
    this.#version++;
    if (this.#quorum === 1) this.think();
  }

  #ours(): NodeClaims {
    const known = this.#knows.get(key(this.id));
    return known ? copyClaims(known[1]) : emptyClaims();
  }

  think(): boolean {
    const ours = this.#ours();
    const all = [...this.#knows.values()].map(([, c]) => c);
    // Promise: adopt the highest promise anyone made.
    for (const c of all) {
      if (precedes(ours.promise, c.promise)) ours.promise = copyProposal(c.promise);
    }
    // Accept request: as proposer, once a quorum promised our proposal.
    if (sameNode(ours.promise.proposer, this.id)) this.#acceptIfPromised(ours, all);
    // Accepted: follow anyone who accepted the proposal we promised.
    const follow = all.find((c) => sameProposal(c.accepted, ours.promise));
    if (follow) {
      ours.accepted = copyProposal(follow.accepted);
      ours.acceptedVal = copyClaims(follow).acceptedVal;
    }
    const before = this.#knows.get(key(this.id))?.[1] ?? emptyClaims();
    if (sameClaims(before, ours)) return false;
    this.#knows.set(key(this.id), [{ ...this.id }, ours]);
    this.#version++;
    return true;
  }

  #acceptIfPromised(ours: NodeClaims, all: NodeClaims[]): void {
    let count = 0;
    let best = noProposal();
    let bestVal: AcceptedValue = { value: [], origin: noProposal() };
    for (const c of all) {
      if (!sameProposal(c.promise, ours.promise)) continue;
      count++;
      if (precedes(best, c.accepted)) {
        best = c.accepted;
        bestVal = copyClaims(c).acceptedVal;
      }
    }
    if (count < Math.max(this.#quorum, this.#acceptAt)) return;
    if (best.round === 0n) {
      bestVal = { value: [...this.#knows.values()].map(([id]) => id.name), origin: ours.promise };
    }
    ours.accepted = copyProposal(ours.promise);
    ours.acceptedVal = { value: [...bestVal.value], origin: copyProposal(bestVal.origin) };
  }

  consensus(): ConsensusResult {
    const counts = new Map<string, number>();
    for (const [, c] of this.#knows.values()) {
      if (c.accepted.round === 0n) continue;
      const origin = `${c.acceptedVal.origin.round}/${key(c.acceptedVal.origin.proposer)}`;
      const count = (counts.get(origin) ?? 0) + 1;
      counts.set(origin, count);
      if (count >= this.#quorum) return { ok: true, value: copyClaims(c).acceptedVal };
    }
    return { ok: false };
  }

  isElector(): boolean {
    return true;
  }

  status(): PaxosStatus {
    return { knownNodes: this.#knows.size, quorum: this.#quorum };
  }
}

/**
 * A non-voting participant (`--ipalloc-init=observer`): never proposes or
 * learns, gossips no Paxos state, and waits for a ring from others.
 */
export class PaxosObserver implements Participant {
  readonly version = 0;
  gossipState(_only?: ReadonlySet<string>): undefined {
    return undefined;
  }
  promisedTo(): undefined {
    return undefined;
  }
  update(_from: PaxosGossip): boolean {
    return false;
  }
  setQuorum(_quorum: number): void {}
  setAcceptAt(_count: number): void {}
  promises(): number {
    return 0;
  }
  propose(): void {}
  think(): boolean {
    return false;
  }
  consensus(): ConsensusResult {
    return { ok: false };
  }
  isElector(): boolean {
    return false;
  }
  status(): PaxosStatus {
    return { knownNodes: 0, quorum: 0 };
  }
}
