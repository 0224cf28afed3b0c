/**
 * The allocator's questions to the Paxos driver (`_consensus.ts`) while
 * there is no ring yet: how big the cluster is, what a quorum is, when to
 * start waiting for consensus, and the Paxos figures for the status report.
 *
 * @module
 */
import type { AllocatorState } from "./_allocator_state.ts";
import type { PaxosReportInput } from "./_report.ts";
import { quorumFor } from "./paxos/mod.ts";

/** Quorum for the cluster (Weave: N/2+1). */
export function quorum(s: Pick<AllocatorState, "init" | "clusterSize">): number {
  return quorumFor(clusterCount(s));
}

/** Peers in the cluster: `consensus=N`, or else the configured estimate. */
export function clusterCount(s: Pick<AllocatorState, "init" | "clusterSize">): number {
  if (s.init.mode === "consensus" && s.init.count !== undefined) return s.init.count;
  return Math.max(1, s.clusterSize());
}

/** Starts waiting for consensus unless the ring exists, we already wait, or we shut down. */
export function establishRing(
  s: Pick<AllocatorState, "ring" | "consensus" | "shuttingDown">,
): void {
  if (!s.ring.isEmpty() || s.consensus.awaiting || s.shuttingDown) return;
  s.consensus.start();
}

/** Paxos figures while we await consensus without a ring, else undefined. */
export function paxosStatus(
  s: Pick<AllocatorState, "ring" | "consensus">,
): PaxosReportInput | undefined {
  if (!s.consensus.awaiting || !s.ring.isEmpty()) return undefined;
  const paxos = s.consensus.participant;
  if (!paxos.isElector()) return { elector: false, knownNodes: 0, quorum: 0 };
  return { elector: true, ...paxos.status() };
}
