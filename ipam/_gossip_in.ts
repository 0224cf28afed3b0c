/**
 * What the allocator does with `IPallocation` gossip from a peer, decided
 * from data: merge the ring it carries (after settling takeover tie-breaks,
 * see `_takeover.ts`), or answer a peer without one with ours, or feed its
 * Paxos state to the consensus driver, or start waiting for consensus; and
 * how much of a requested range a donation may come from. The
 * {@link Allocator} carries the decisions out; replies wait until its state
 * is saved.
 *
 * @module
 */
import { type PeerName, UNKNOWN_PEER_NAME } from "../lib/peer_name.ts";
import type { Address, Range } from "./address/mod.ts";
import type { GossipState } from "./gossip_codec.ts";
import type { PaxosGossip } from "./paxos/mod.ts";
import type { RingData, RingError } from "./ring/mod.ts";
import { resolveTakeovers } from "./_takeover.ts";
import type { TakeoverHold } from "./store/mod.ts";
import { ipText } from "./_operations.ts";

/** What a received gossip state asks of us (see {@link gossipStep}). */
export type GossipStep =
  | { do: "merge"; ring: RingData }
  /** We have a ring and the sender sent none: send it ours. */
  | { do: "send-ring" }
  | { do: "paxos"; paxos: PaxosGossip }
  /** An elector without a ring heard from a peer: start waiting for consensus. */
  | { do: "establish" }
  | { do: "nothing" };

/**
 * The step for `state` from `sender` (Go `onGossip`/`update`), given
 * whether we have a ring and whether we take part in Paxos.
 *
 * @example
 * ```ts
 * import { gossipStep } from "./_gossip_in.ts";
 * gossipStep({ now: 0n, nicknames: new Map() }, 2n, { hasRing: true, elector: true });
 * // { do: "send-ring" }
 * ```
 */
export function gossipStep(
  state: GossipState,
  sender: PeerName,
  us: { hasRing: boolean; elector: boolean },
): GossipStep {
  const known = sender !== UNKNOWN_PEER_NAME;
  if (state.ring) return { do: "merge", ring: state.ring };
  if (us.hasRing) return known ? { do: "send-ring" } : { do: "nothing" };
  if (state.paxos !== undefined) return { do: "paxos", paxos: state.paxos };
  return us.elector && known ? { do: "establish" } : { do: "nothing" };
}

/** The outcome of {@link tieBreakHeld}. */
export interface HeldTieBreak {
  /** Our ring to continue with, when we gave up held entries (undefined: unchanged). */
  ours: RingData | undefined;
  /** The received ring to merge (entries we beat replaced by ours). */
  incoming: RingData;
  /** Held tokens given up: their holds end. */
  released: Address[];
  /** Log lines telling what was decided. */
  notes: { level: "warn" | "info"; text: string }[];
}

/**
 * Settles, before a merge, the held tokens that `incoming` says another
 * peer took over too (the tie-break of `_takeover.ts`).
 */
export function tieBreakHeld(
  ours: RingData,
  incoming: RingData,
  held: { us: PeerName; holds: ReadonlyMap<Address, TakeoverHold> },
  annotate: (peer: PeerName) => string,
): HeldTieBreak {
  const dead = new Map([...held.holds].map(([t, h]) => [t, h.from]));
  const res = resolveTakeovers(ours, incoming, held.us, dead);
  const notes: HeldTieBreak["notes"] = [];
  for (const r of res.released) {
    notes.push({
      level: "warn",
      text: `${annotate(r.to)} also took over the range at ${ipText(r.token)}; ` +
        "it wins the tie-break, so it is theirs",
    });
  }
  for (const k of res.kept) {
    notes.push({
      level: "info",
      text: `${annotate(k.against)} also took over the range at ${ipText(k.token)}; ` +
        "we win the tie-break, so it stays ours",
    });
  }
  return {
    ours: res.released.length > 0 ? res.ours : undefined,
    incoming: res.incoming,
    released: res.released.map((r) => r.token),
    notes,
  };
}

/** The log line for a ring from `from` that cannot merge. */
export function ringErrorText(e: RingError, from: string): string {
  if (e.code === "different-seeds") {
    return `${e.message} (from ${from}): these peers formed separate IPAM clusters and cannot ` +
      "connect. To join them, keep one cluster and on every peer of the other run " +
      "'weave reset' (it releases that peer's addresses and deletes its IPAM state), " +
      "then launch it again connected to the kept cluster";
  }
  return `Cannot merge IPAM ring from ${from}: ${e.message}`;
}

/** The part of `requested` inside the ring's range (empty when none). */
export function clipToRing(ring: Range, requested: Range): Range {
  return {
    start: Math.max(requested.start, ring.start),
    end: Math.min(requested.end, ring.end),
  };
}
