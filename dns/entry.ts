/**
 * The weaveDNS zone as gossiped data, after Weave's `nameserver/entry.go`:
 * a sorted set of (hostname, origin peer, container, address) entries, each
 * with a version and a tombstone time, merged between peers as a CRDT.
 *
 * Rules (`shared/spec/weave-protocol.md` §7.1):
 * - identity is (ContainerID, Origin, Addr, Hostname), the hostname compared
 *   exactly as supplied;
 * - the store is sorted by (lowercase hostname, origin, container, address),
 *   gossip on the wire by the same keys with the hostname as supplied; strings
 *   compare as Go compares them (UTF-8 bytes);
 * - merging an equal entry: the higher version wins; at equal versions the
 *   larger tombstone wins;
 * - only the origin peer tombstones its entries (tombstone = now, version+1);
 *   re-adding a tombstoned entry revives it (tombstone 0, version+1).
 *
 * Everything here is pure: times are passed in as unix seconds.
 *
 * @module
 */
import type { PeerName } from "../lib/peer_name.ts";

/** Tombstones are dropped this long after they were made (Weave: 30 min). */
export const TOMBSTONE_TIMEOUT_S = 30 * 60;

/** One name record. */
export interface Entry {
  containerID: string;
  /** The peer that owns the entry (only it may tombstone it). */
  origin: PeerName;
  /** IPv4 address as an unsigned 32-bit number. */
  addr: number;
  /** Fully qualified, with the trailing dot, case as supplied. */
  hostname: string;
  version: number;
  /** Unix seconds when deleted; 0 while live. */
  tombstone: number;
}

/** What {@link Entries.tombstone} matches; a part left out matches anything. */
export interface EntryMatch {
  containerID?: string;
  addr?: number;
  /** Compared exactly (case-sensitively), as Weave does. */
  hostname?: string;
}

/** An entry in the store, with the lowercase hostname it is sorted by. */
interface Stored extends Entry {
  lower: string;
}

/**
 * Compares strings as Go does (by UTF-8 bytes, i.e. by code point), unlike
 * JavaScript's `<` which compares UTF-16 code units.
 *
 * @example
 * ```ts
 * import { compareGoStrings } from "./entry.ts";
 * compareGoStrings("\uffff", "\u{10000}"); // -1 (JavaScript's `<` says the opposite)
 * ```
 */
export function compareGoStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) < codePointRank(y) ? -1 : 1;
  }
  return a.length < b.length ? -1 : 1;
}

/** Moves surrogates above U+FFFF so that code unit order becomes code point order. */
function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

function compareKeys(a: Entry, b: Entry, aHost: string, bHost: string): number {
  return compareGoStrings(aHost, bHost) ||
    (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0) ||
    compareGoStrings(a.containerID, b.containerID) ||
    a.addr - b.addr;
}

/**
 * Wire order: hostname as supplied, then origin, container, address.
 *
 * @example
 * ```ts
 * import { compareEntriesCaseSensitive } from "./entry.ts";
 * const e = { containerID: "c", origin: 1n, addr: 1, version: 0, tombstone: 0 };
 * compareEntriesCaseSensitive({ ...e, hostname: "B." }, { ...e, hostname: "a." }); // -1
 * ```
 */
export function compareEntriesCaseSensitive(a: Entry, b: Entry): number {
  return compareKeys(a, b, a.hostname, b.hostname);
}

/** Store order: lowercase hostname, then origin, container, address. */
export function compareEntries(a: Entry, b: Entry): number {
  return compareKeys(a, b, a.hostname.toLowerCase(), b.hostname.toLowerCase());
}

/** Whether two entries are the same record (versions aside). */
export function sameEntry(a: Entry, b: Entry): boolean {
  return a.containerID === b.containerID && a.origin === b.origin && a.addr === b.addr &&
    a.hostname === b.hostname;
}

/**
 * Merges `incoming` into `ours` (the same record); returns whether `ours` changed.
 *
 * @example
 * ```ts
 * import { mergeEntry } from "./entry.ts";
 * const base = { containerID: "c", origin: 1n, addr: 1, hostname: "a.", version: 1, tombstone: 0 };
 * const ours = { ...base };
 * mergeEntry(ours, { ...base, tombstone: 99 }); // true: equal versions, larger tombstone
 * ```
 */
export function mergeEntry(ours: Entry, incoming: Entry): boolean {
  if (incoming.version > ours.version) {
    ours.version = incoming.version;
    ours.tombstone = incoming.tombstone;
    return true;
  }
  if (incoming.version === ours.version && incoming.tombstone > ours.tombstone) {
    ours.tombstone = incoming.tombstone;
    return true;
  }
  return false;
}

/** A copy of an entry with exactly the {@link Entry} fields. */
export function copyEntry(e: Entry): Entry {
  return {
    containerID: e.containerID,
    origin: e.origin,
    addr: e.addr,
    hostname: e.hostname,
    version: e.version,
    tombstone: e.tombstone,
  };
}

function stored(e: Entry): Stored {
  return { ...copyEntry(e), lower: e.hostname.toLowerCase() };
}

function compareStored(a: Stored, b: Stored): number {
  return compareKeys(a, b, a.lower, b.lower);
}

/**
 * The sorted entry set. Methods that change entries return copies of what
 * changed, for the caller to gossip.
 *
 * @example
 * ```ts
 * import { Entries } from "./entry.ts";
 * const zone = new Entries();
 * zone.add({ hostname: "web.weave.local.", containerID: "c1", origin: 1n, addr: 0x0a200001 });
 * zone.lookup("WEB.weave.local."); // [0x0a200001]
 * ```
 */
export class Entries {
  #list: Stored[] = [];

  /** A store holding copies of `entries` (merged where they repeat). */
  static from(entries: readonly Entry[]): Entries {
    const es = new Entries();
    es.merge(entries);
    return es;
  }

  /** Number of entries, tombstones included. */
  get size(): number {
    return this.#list.length;
  }

  /** Copies of all entries in store order. */
  all(): Entry[] {
    return this.#list.map(copyEntry);
  }

  /** Adds a live entry, or revives it if it is a tombstone; returns a copy of it. */
  add(e: Pick<Entry, "hostname" | "containerID" | "origin" | "addr">): Entry {
    const entry = stored({ ...e, version: 0, tombstone: 0 });
    const i = this.#search(entry);
    const found = this.#list[i];
    if (found && sameEntry(found, entry)) {
      if (found.tombstone > 0) {
        found.tombstone = 0;
        found.version++;
      }
      return copyEntry(found);
    }
    this.#list.splice(i, 0, entry);
    return copyEntry(entry);
  }

  /** The stored entry equal to `e` (a copy), if any. */
  find(e: Entry): Entry | undefined {
    const found = this.#list[this.#search(stored(e))];
    return found && sameEntry(found, e) ? copyEntry(found) : undefined;
  }

  /**
   * Merges entries (any order) into the store; returns copies of those that
   * were new or changed something, in store order.
   */
  merge(incoming: readonly Entry[]): Entry[] {
    const sorted = incoming.map(stored).sort(compareStored);
    const out: Stored[] = [];
    const changed: Entry[] = [];
    let i = 0;
    for (const e of sorted) {
      while (i < this.#list.length && compareStored(this.#list[i], e) < 0) {
        out.push(this.#list[i++]);
      }
      const existing = i < this.#list.length && sameEntry(this.#list[i], e)
        ? this.#list[i]
        : out.length > 0 && sameEntry(out[out.length - 1], e)
        ? out[out.length - 1]
        : undefined;
      if (existing === undefined) {
        out.push(e);
        changed.push(copyEntry(e));
      } else if (mergeEntry(existing, e)) {
        changed.push(copyEntry(e));
      }
    }
    while (i < this.#list.length) out.push(this.#list[i++]);
    this.#list = out;
    return changed;
  }

  /**
   * Tombstones the live entries of `origin` that match (at `now`, unix
   * seconds); returns copies of the tombstoned entries.
   */
  tombstone(origin: PeerName, match: EntryMatch, now: number): Entry[] {
    const done: Entry[] = [];
    for (const e of this.#list) {
      if (e.origin !== origin || e.tombstone > 0) continue;
      if (match.containerID !== undefined && e.containerID !== match.containerID) continue;
      if (match.addr !== undefined && e.addr !== match.addr) continue;
      if (match.hostname !== undefined && e.hostname !== match.hostname) continue;
      e.tombstone = now;
      e.version++;
      done.push(copyEntry(e));
    }
    return done;
  }

  /** Drops every entry of a peer that left the topology; returns how many. */
  deleteOrigin(origin: PeerName): number {
    return this.#keep((e) => e.origin !== origin);
  }

  /** Drops tombstones older than `maxAge` seconds at `now`; returns how many. */
  purgeTombstones(now: number, maxAge = TOMBSTONE_TIMEOUT_S): number {
    return this.#keep((e) => e.tombstone === 0 || now - e.tombstone <= maxAge);
  }

  /** Live addresses of a name (compared case-insensitively), in store order. */
  lookup(hostname: string): number[] {
    const lower = hostname.toLowerCase();
    let i = this.#lowerBound(lower);
    const addrs: number[] = [];
    for (; i < this.#list.length && this.#list[i].lower === lower; i++) {
      if (this.#list[i].tombstone === 0) addrs.push(this.#list[i].addr);
    }
    return addrs;
  }

  /** The hostname of the first live entry with this address (for PTR answers). */
  reverseLookup(addr: number): string | undefined {
    return this.#list.find((e) => e.tombstone === 0 && e.addr === addr)?.hostname;
  }

  /** Number of live entries whose origin is `origin`. */
  countLive(origin: PeerName): number {
    return this.#list.filter((e) => e.origin === origin && e.tombstone === 0).length;
  }

  #keep(pred: (e: Stored) => boolean): number {
    const before = this.#list.length;
    this.#list = this.#list.filter(pred);
    return before - this.#list.length;
  }

  /** First index whose entry is not less than `e`. */
  #search(e: Stored): number {
    let lo = 0, hi = this.#list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareStored(this.#list[mid], e) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index whose lowercase hostname is not less than `lower`. */
  #lowerBound(lower: string): number {
    let lo = 0, hi = this.#list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareGoStrings(this.#list[mid].lower, lower) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
