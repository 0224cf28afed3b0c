/**
 * Making `rmpeer` safe when it is issued on two hosts at once (Weave users'
 * duplicate-IP problem, ww#1949).
 *
 * Why Go is not safe: both takers bump the dead peer's entries by +100 from
 * the same version, so each ends with an entry of the same version naming
 * itself. The ring merge keeps, on a tie, the entry with more free addresses
 * and ours on equal free — equal here — so each taker keeps its own copy
 * forever, third peers keep whichever arrived first, and both takers hand
 * out the same addresses.
 *
 * What we add, without changing the wire format:
 * 1. **Hold.** Entries taken over stay out of our allocatable space for a
 *    hold period (default two 5 s ticks); during it we neither allocate,
 *    claim nor donate from them, so we can still give them up.
 * 2. **Deterministic tie-break.** Before merging a received ring, each held
 *    token where the sender names another taker at the same version is
 *    decided for the larger peer name: the loser adopts the winner's entry,
 *    the winner ignores the loser's. A higher version always wins (and the
 *    merge's "repair" rule accepts it, as a held range has no allocations).
 * 3. **Re-assertion.** When the hold ends, entries still ours get version +1
 *    and are broadcast, so every peer (Go peers too) converges on the winner.
 *
 * Limit: if the two takers cannot exchange gossip for the whole hold period
 * (a partition), both may allocate; the later merge then fails loudly with
 * Go's "Received update for IP range I own" instead of silently duplicating.
 *
 * @module
 */
import type { PeerName } from "../lib/peer_name.ts";
import type { Address, Count, Range } from "./address/mod.ts";
import type { RingData, RingEntry } from "./ring/mod.ts";

/** The address ranges of entry `i`, split at the ring's end. */
export function entryRanges(ring: RingData, i: number): Range[] {
  const es = ring.entries;
  const e = es[i];
  if (i + 1 < es.length) return [{ start: e.token, end: es[i + 1].token }];
  const out: Range[] = [];
  if (es[0].token > ring.start) out.push({ start: ring.start, end: es[0].token });
  out.push({ start: e.token, end: ring.end });
  return out;
}

/** Ranges of the entries owned by `peer`, except those at `skip` tokens. */
export function ownedRangesExcept(
  ring: RingData,
  peer: PeerName,
  skip: ReadonlySet<Address> | ReadonlyMap<Address, unknown>,
): Range[] {
  const out: Range[] = [];
  ring.entries.forEach((e, i) => {
    if (e.peer === peer && !skip.has(e.token)) out.push(...entryRanges(ring, i));
  });
  return out.sort((a, b) => a.start - b.start);
}

/** Free counts per token of our entries (for `Ring.reportFree`), held tokens left out. */
export function freeByToken(
  ring: RingData,
  peer: PeerName,
  skip: ReadonlyMap<Address, unknown>,
  countFree: (r: Range) => Count,
): Map<Address, Count> {
  const out = new Map<Address, Count>();
  ring.entries.forEach((e, i) => {
    if (e.peer !== peer || skip.has(e.token)) return;
    out.set(e.token, entryRanges(ring, i).reduce((n, r) => n + countFree(r), 0));
  });
  return out;
}

/** What {@link resolveTakeovers} decided. */
export interface TakeoverResolution {
  /** Our ring data to continue with (entries we yielded replaced). */
  ours: RingData;
  /** The received ring to merge (entries we beat replaced by ours). */
  incoming: RingData;
  /** Held tokens given up: someone else owns them now. */
  released: { token: Address; to: PeerName }[];
  /** Held tokens we keep against a concurrent taker. */
  kept: { token: Address; against: PeerName }[];
}

/**
 * Applies the tie-break to held tokens before a merge (pure). `dead` maps
 * each held token to the peer it was taken from; entries naming that peer are
 * stale and left to the merge.
 */
export function resolveTakeovers(
  ours: RingData,
  incoming: RingData,
  us: PeerName,
  dead: ReadonlyMap<Address, PeerName>,
): TakeoverResolution {
  const result: TakeoverResolution = { ours, incoming, released: [], kept: [] };
  if (dead.size === 0) return result;
  const mine = ours.entries.map((e) => ({ ...e }));
  const theirs = incoming.entries.map((e) => ({ ...e }));
  mine.forEach((m, i) => {
    if (m.peer !== us || !dead.has(m.token)) return;
    const j = theirs.findIndex((t) => t.token === m.token);
    const t = j === -1 ? undefined : theirs[j];
    if (!t || t.peer === us || t.peer === dead.get(m.token)) return;
    if (t.version > m.version || (t.version === m.version && t.peer > us)) {
      mine[i] = { ...t, free: Math.min(t.free, sizeOf(ours, mine, i)) };
      result.released.push({ token: m.token, to: t.peer });
    } else if (t.version === m.version) {
      theirs[j] = { ...m, free: Math.min(m.free, sizeOf(incoming, theirs, j)) };
      result.kept.push({ token: m.token, against: t.peer });
    }
  });
  result.ours = { ...ours, entries: mine };
  result.incoming = { ...incoming, entries: theirs };
  return result;
}

function sizeOf(ring: RingData, entries: RingEntry[], i: number): Count {
  return entryRanges({ ...ring, entries }, i).reduce((n, r) => n + r.end - r.start, 0);
}

/** Our entries at `tokens` with version +1 (the re-assertion at the end of a hold). */
export function bumpVersions(ring: RingData, us: PeerName, tokens: Iterable<Address>): RingData {
  const set = new Set(tokens);
  return {
    ...ring,
    entries: ring.entries.map((e) =>
      e.peer === us && set.has(e.token) ? { ...e, version: (e.version + 1) >>> 0 } : { ...e }
    ),
  };
}
