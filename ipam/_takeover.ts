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
 * Pure functions over ring data, applied by the allocator: the tie-break
 * ({@link resolveTakeovers}), the re-assertion ({@link bumpVersions}), the
 * holds that end ({@link expiredHolds}), and the space a ring leaves us with
 * held ranges left out ({@link spaceFor}, {@link freeByToken}).
 *
 * @module
 */
import type { PeerName } from "../lib/peer_name.ts";
import type { Address, Count, Range } from "./address/mod.ts";
import type { RingData, RingEntry } from "./ring/mod.ts";
import { Space } from "./space/mod.ts";
import type { OwnedData, TakeoverHold } from "./store/mod.ts";

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

/** What our allocatable space is built from (see {@link spaceFor}). */
export interface SpaceInput {
  ring: RingData;
  us: PeerName;
  /** Held tokens: their ranges are left out. */
  holds: ReadonlyMap<Address, unknown>;
  owned: Iterable<[string, Readonly<OwnedData>]>;
  /** False while shutting down: no ranges, only the owned addresses inside the ring. */
  withRanges: boolean;
}

/**
 * Our space: the ranges the ring gives us (held takeovers left out) with the
 * owned addresses taken; `stray` hears of an owned address inside the ring
 * but outside those ranges (logged by the caller).
 *
 * @example
 * ```ts
 * import { spaceFor } from "./_takeover.ts";
 * const ring = { start: 0, end: 16, peer: 1n, seeds: [1n],
 *   entries: [{ token: 0, peer: 1n, version: 0, free: 16 }] };
 * const owned = new Map([["c1", { isContainer: true, cidrs: [{ addr: 3, prefix: 28 }] }]]);
 * spaceFor({ ring, us: 1n, holds: new Map(), owned, withRanges: true }, () => {})
 *   .numFreeAddresses(); // 15
 * ```
 */
export function spaceFor(
  input: SpaceInput,
  stray: (ident: string, addr: Address) => void,
): Space {
  const { ring, us, holds, owned, withRanges } = input;
  const space = new Space();
  const empty = ring.entries.length === 0;
  if (withRanges && !empty) space.addRanges(ownedRangesExcept(ring, us, holds));
  for (const [ident, d] of owned) {
    for (const c of d.cidrs) {
      if (c.addr < ring.start || c.addr >= ring.end) continue;
      if (space.isFree(c.addr)) space.claim(c.addr);
      else if (!empty) stray(ident, c.addr);
    }
  }
  return space;
}

/** The token of the entry whose range holds `addr` (`entries` must not be empty). */
export function ownerToken(entries: readonly RingEntry[], addr: Address): Address {
  let token = entries[entries.length - 1].token;
  for (const e of entries) if (e.token <= addr) token = e.token;
  return token;
}

/** The holds that end by `now`. */
export function expiredHolds(
  holds: ReadonlyMap<Address, TakeoverHold>,
  now: number,
): [Address, TakeoverHold][] {
  return [...holds].filter(([, h]) => h.until <= now);
}
