/**
 * Weave's IPAM ring, a CRDT (`ipam/ring/ring.go`): the range
 * `[start, end)` is cut at tokens, each owned by one peer, and every peer
 * holds a copy that it merges with the copies gossiped to it. Only an owner
 * changes its entries (allocation reports, donations); others learn the
 * change through a higher version. Ownership moves in two ways: a donor
 * grants part of its range ({@link Ring.grantRangeToHost}, versions +1), or
 * an operator transfers a dead peer's ranges ({@link Ring.transfer}, +100 so
 * that it beats any concurrent +1 change).
 *
 * The class is pure: no clock, no I/O; randomness is passed in. Operations
 * that Go guards with assertions (panics) throw `RangeError` here and leave
 * the ring unchanged. A received ring is checked in full before anything is
 * applied, and a failed merge leaves the ring as it was.
 *
 * @module
 */
import { formatIPv4 } from "../../lib/cidr.ts";
import { formatPeerName, type PeerName, UNKNOWN_PEER_NAME } from "../../lib/peer_name.ts";
import { type Address, type Count, type Range, rangeAsCidrString } from "../address/mod.ts";
import {
  checkEntries,
  entryAt,
  type HasAllocations,
  mergeEntries,
  peerText,
  ringDistance,
  type RingEntry,
  RingError,
  splitRangesOverZero,
} from "./_entries.ts";

export { type HasAllocations, type RingEntry, RingError } from "./_entries.ts";

/** A ring as sent on the wire (gob `Ring`): what {@link Ring.merge} accepts. */
export interface RingData {
  start: Address;
  end: Address;
  /** The peer whose copy this is. */
  peer: PeerName;
  entries: readonly RingEntry[];
  seeds: readonly PeerName[];
}

/** One owned stretch of the ring, for status output (Go `RangeInfo`). */
export interface RangeInfo {
  peer: PeerName;
  range: Range;
  version: number;
}

/** Options of {@link Ring.merge}. */
export interface RingMergeOptions {
  /**
   * Whether we hold allocations inside the ranges: protects our entries
   * from being taken. Default: never (a ring without an allocator).
   */
  hasAllocations?: HasAllocations;
  /** Nicknames to annotate peer names in the seeds error, as Go does. */
  nicknames?: ReadonlyMap<PeerName, string>;
}

const never: HasAllocations = () => false;

/**
 * The local copy of the ring, owned by peer `peer`.
 *
 * @example
 * ```ts
 * import { Ring } from "./ring.ts";
 * const ring = new Ring(0x0a200000, 0x0a300000, 1n);
 * ring.claimForPeers([1n, 2n]);
 * ring.ownedRanges(); // [{ start: 0x0a200000, end: 0x0a280000 }]
 * ```
 */
export class Ring implements RingData {
  readonly start: Address;
  readonly end: Address;
  readonly peer: PeerName;
  #entries: RingEntry[] = [];
  #seeds: PeerName[] = [];

  /** An empty ring over `[start, end)` for the local peer `peer`; `start < end`. */
  constructor(start: Address, end: Address, peer: PeerName) {
    if (!(start < end)) {
      throw new RangeError(
        `Cannot create ring: start ${formatIPv4(start)} is not below end ${formatIPv4(end)}`,
      );
    }
    this.start = start;
    this.end = end;
    this.peer = peer;
  }

  /**
   * Rebuilds a ring from saved data (Go `Restore`), checking its invariants;
   * `peer` is the local peer (default: the one saved).
   */
  static fromData(data: RingData, peer: PeerName = data.peer): Ring {
    const ring = new Ring(data.start, data.end, peer);
    const error = checkEntries(data.entries, ring.range());
    if (error) throw error;
    ring.#entries = data.entries.map((e) => ({ ...e }));
    ring.#seeds = [...data.seeds];
    return ring;
  }

  /** Copies of the entries, sorted by token. */
  get entries(): RingEntry[] {
    return this.#entries.map((e) => ({ ...e }));
  }

  /** The peers the ring was created for (empty until created or merged). */
  get seeds(): PeerName[] {
    return [...this.#seeds];
  }

  /** A deep copy for gossip or persistence. */
  toData(): RingData {
    return {
      start: this.start,
      end: this.end,
      peer: this.peer,
      entries: this.entries,
      seeds: this.seeds,
    };
  }

  /** The ring's whole range. */
  range(): Range {
    return { start: this.start, end: this.end };
  }

  /** True while no entry exists (before consensus or seeding). */
  isEmpty(): boolean {
    return this.#entries.length === 0;
  }

  /** Whether `addr` is inside the ring's range. */
  contains(addr: Address): boolean {
    return addr >= this.start && addr < this.end;
  }

  /** Throws the {@link RingError} for the first broken invariant, if any. */
  checkInvariants(): void {
    const error = checkEntries(this.#entries, this.range());
    if (error) throw error;
  }

  #distance(start: Address, end: Address): Count {
    return ringDistance(this.range(), start, end);
  }

  #split(ranges: Range[]): Range[] {
    return splitRangesOverZero(ranges, this.range());
  }

  /**
   * Merges a received ring into ours; returns whether we took anything of
   * theirs. Throws a {@link RingError} — and changes nothing — when their
   * ring breaks an invariant, was seeded by other peers, covers another
   * range, or conflicts with entries we own (see `mergeEntries`).
   */
  merge(incoming: RingData, options: RingMergeOptions = {}): boolean {
    const error = checkEntries(incoming.entries, { start: incoming.start, end: incoming.end });
    if (error) throw error;
    if (
      incoming.seeds.length > 0 && this.#seeds.length > 0 &&
      !sameNames(incoming.seeds, this.#seeds)
    ) {
      const show = (names: readonly PeerName[]) => annotate(names, options.nicknames);
      throw new RingError(
        "different-seeds",
        `IP allocation was seeded by different peers (received: ${show(incoming.seeds)}, ours: ${
          show(this.#seeds)
        })`,
      );
    }
    if (incoming.start !== this.start || incoming.end !== this.end) {
      throw new RingError(
        "different-range",
        `Incompatible IP allocation ranges (received: ${
          rangeAsCidrString({ start: incoming.start, end: incoming.end })
        }, ours: ${rangeAsCidrString(this.range())})`,
      );
    }
    const { entries, updated } = mergeEntries(this.#entries, incoming.entries, {
      ourPeer: this.peer,
      range: this.range(),
      hasAllocations: options.hasAllocations ?? never,
    });
    // A range of ours that was split without allocations may now claim too much free space.
    entries.forEach((e, i) => {
      const distance = this.#distance(e.token, entryAt(entries, i + 1).token);
      if (e.peer === this.peer && e.free > distance) e.free = distance;
    });
    const invalid = checkEntries(entries, this.range());
    if (invalid) {
      throw new RingError("merge-invalid", `Merge of incoming data causes: ${invalid.message}`);
    }
    if (this.#seeds.length === 0) this.#seeds = [...incoming.seeds];
    this.#entries = entries;
    return updated;
  }

  /**
   * Creates the ring for the agreed peers (Go `ClaimForPeers`): the range is
   * halved recursively, the first half going to the first half of the list,
   * so that every share is CIDR-aligned; each peer gets one entry, version
   * 0, `free` = its share. The list becomes the seeds; callers normalise it
   * first (sorted, no duplicates). Only valid on an empty ring.
   */
  claimForPeers(peers: readonly PeerName[]): void {
    if (!this.isEmpty()) throw new RangeError("Cannot claim ring for peers: ring is not empty");
    if (peers.length === 0) throw new RangeError("Cannot claim ring for peers: no peers given");
    const entries: RingEntry[] = [];
    const subdivide = (from: Address, to: Address, group: readonly PeerName[]) => {
      const share = to - from;
      if (share === 0) return;
      if (share === 1 || group.length === 1) {
        entries.push({ token: from, peer: group[0], version: 0, free: share });
        return;
      }
      const mid = from + Math.floor(share / 2);
      const half = Math.floor(group.length / 2);
      subdivide(from, mid, group.slice(0, half));
      subdivide(mid + (share % 2), to, group.slice(half));
    };
    subdivide(this.start, this.end, peers);
    this.#entries = entries;
    this.#seeds = [...peers];
  }

  /**
   * Gives `[start, end)`, which must be inside the ring and wholly ours, to
   * `peer` (Go `GrantRangeToHost`). Tokens are added at `start` and `end`
   * where missing; every entry touched gets version +1.
   */
  grantRangeToHost(start: Address, end: Address, peer: PeerName): void {
    const what = `Cannot grant ${formatIPv4(start)}-${formatIPv4(end)} to ${formatPeerName(peer)}`;
    if (!(start < end) || start < this.start || end > this.end) {
      throw new RangeError(`${what}: not a range inside the ring`);
    }
    if (this.isEmpty()) throw new RangeError(`${what}: the ring is empty`);
    const es = this.#entries.map((e) => ({ ...e }));
    let prev = es.findIndex((e) => e.token > start);
    prev = (prev === -1 ? es.length : prev) - 1;
    for (let pos = prev; pos < es.length && entryAt(es, pos).token < end; pos++) {
      if (entryAt(es, pos).peer !== this.peer) {
        throw new RangeError(`${what}: ${formatIPv4(entryAt(es, pos).token)} is not ours`);
      }
    }
    const bump = (e: RingEntry, owner: PeerName, free: Count) => {
      Object.assign(e, { peer: owner, version: (e.version + 1) >>> 0, free });
    };
    const startFree = Math.min(
      this.#distance(start, entryAt(es, prev + 1).token),
      this.#distance(start, end),
    );
    const previous = entryAt(es, prev);
    if (previous.token === start) {
      bump(previous, peer, startFree);
    } else {
      insertEntry(es, { token: start, peer, version: 0, free: startFree });
      prev++;
      bump(previous, this.peer, this.#distance(previous.token, start));
    }
    let pos = prev + 1;
    for (; pos < es.length && entryAt(es, pos).token < end; pos++) {
      const e = entryAt(es, pos);
      bump(e, peer, Math.min(e.free, this.#distance(e.token, end)));
    }
    const endToken = end === this.end ? this.start : end;
    if (!es.some((e) => e.token === endToken)) {
      const free = this.#distance(endToken, entryAt(es, pos).token);
      insertEntry(es, { token: endToken, peer: this.peer, version: 0, free });
    }
    this.#entries = es;
    this.checkInvariants();
  }

  /**
   * Records how many addresses are free in ranges we own, keyed by the
   * start of each range from {@link ownedRanges} (Go `ReportFree`); an
   * entry whose count changes gets version +1. Returns whether any did.
   */
  reportFree(freeByStart: ReadonlyMap<Address, Count>): boolean {
    if (this.isEmpty()) throw new RangeError("Cannot report free space: the ring is empty");
    const free = new Map(freeByStart);
    // ownedRanges splits a range that wraps round; fold its head back in.
    const head = free.get(this.start);
    if (head !== undefined && this.#entries[0].token !== this.start) {
      const last = this.#entries[this.#entries.length - 1].token;
      const tail = free.get(last);
      if (tail === undefined) {
        throw new RangeError("Cannot report free space: wrapped range reported without its start");
      }
      free.set(last, tail + head);
      free.delete(this.start);
    }
    const es = this.#entries.map((e) => ({ ...e }));
    let updated = false;
    for (const [start, count] of free) {
      const i = es.findIndex((e) => e.token === start);
      if (i === -1 || es[i].peer !== this.peer) {
        throw new RangeError(`Cannot report free space at ${formatIPv4(start)}: not our token`);
      }
      const size = this.#distance(es[i].token, entryAt(es, i + 1).token);
      if (count > size) {
        throw new RangeError(
          `Cannot report free space at ${formatIPv4(start)}: ${count} > range size ${size}`,
        );
      }
      if (es[i].free === count) continue;
      es[i].free = count;
      es[i].version = (es[i].version + 1) >>> 0;
      updated = true;
    }
    this.#entries = es;
    return updated;
  }

  /**
   * Hands every entry of `from` to `to` with version +100 (`rmpeer` and
   * shutdown) and returns the ranges moved, split at the ring's end.
   */
  transfer(from: PeerName, to: PeerName): Range[] {
    const moved: Range[] = [];
    const es = this.#entries.map((e) => ({ ...e }));
    es.forEach((e, i) => {
      if (e.peer !== from) return;
      e.peer = to;
      e.version = (e.version + 100) >>> 0;
      moved.push({ start: e.token, end: entryAt(es, i + 1).token });
    });
    this.#entries = es;
    return this.#split(moved);
  }

  /** Ranges owned by `peer` (default: us) in address order, split at the ring's end. */
  ownedRanges(peer: PeerName = this.peer): Range[] {
    const out: Range[] = [];
    this.#entries.forEach((e, i) => {
      if (e.peer === peer) out.push({ start: e.token, end: entryAt(this.#entries, i + 1).token });
    });
    return this.#split(out);
  }

  /** Every entry's range(s) with owner and version, for status output. */
  allRangeInfo(): RangeInfo[] {
    return this.#entries.flatMap((e, i) =>
      this.#split([{ start: e.token, end: entryAt(this.#entries, i + 1).token }]).map((range) => ({
        peer: e.peer,
        range,
        version: e.version,
      }))
    );
  }

  /**
   * Other peers with free space in `[start, end)`, most promising first: each
   * peer's free total times `random()` (in [0,1)), descending, as Go's
   * `ChoosePeersToAskForSpace`.
   */
  choosePeersToAskForSpace(start: Address, end: Address, random: () => number): PeerName[] {
    const totals = new Map<PeerName, Count>();
    const es = this.#entries;
    for (let i = 0; i < es.length; i++) {
      const e = es[i];
      if (i + 1 < es.length && ((es[i + 1].token - 1) >>> 0) < start) continue;
      if (e.token >= end) break;
      if (e.free === 0 || e.peer === this.peer) continue;
      totals.set(e.peer, (totals.get(e.peer) ?? 0) + e.free);
    }
    return [...totals].map(([peer, free]) => ({ peer, weight: free * random() }))
      .sort((a, b) => b.weight - a.weight).map((w) => w.peer);
  }

  /** The first owner in the ring, other than us, that `isValid` accepts; 0n if none. */
  pickPeerForTransfer(isValid: (peer: PeerName) => boolean): PeerName {
    const found = this.#entries.find((e) => e.peer !== this.peer && isValid(e.peer));
    return found ? found.peer : UNKNOWN_PEER_NAME;
  }

  /** The owner of `addr` (which must be inside the ring); 0n on an empty ring. */
  owner(addr: Address): PeerName {
    if (!this.contains(addr)) {
      throw new RangeError(`Cannot find owner of ${formatIPv4(addr)}: outside the ring`);
    }
    if (this.isEmpty()) return UNKNOWN_PEER_NAME;
    const after = this.#entries.findIndex((e) => e.token > addr);
    return entryAt(this.#entries, (after === -1 ? this.#entries.length : after) - 1).peer;
  }

  /** Every peer that owns at least one entry. */
  peerNames(): Set<PeerName> {
    return new Set(this.#entries.map((e) => e.peer));
  }
}

function insertEntry(es: RingEntry[], e: RingEntry): void {
  const at = es.findIndex((x) => x.token >= e.token);
  es.splice(at === -1 ? es.length : at, 0, e);
}

function sameNames(a: readonly PeerName[], b: readonly PeerName[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/** Go's `%v` of annotated names: `[02:00:00:00:00:01(h1) 02:00:00:00:00:03]`. */
function annotate(names: readonly PeerName[], nicknames?: ReadonlyMap<PeerName, string>): string {
  const shown = names.map((n) => {
    const nick = nicknames?.get(n);
    return nick === undefined ? peerText(n) : `${peerText(n)}(${nick})`;
  });
  return `[${shown.join(" ")}]`;
}
