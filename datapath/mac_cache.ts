/**
 * Where each MAC address lives (after Weave's `router/mac_cache.go`): ourselves for MACs seen
 * on frames captured from the local bridge, the source peer for MACs seen on frames arriving
 * over the overlay. Entries not refreshed for 10 minutes (`macMaxAge`, longer than typical ARP
 * cache lifetimes) are forgotten.
 *
 * MACs are keyed as 48-bit numbers ({@link macKey}) so the per-frame lookups allocate nothing;
 * `lastSeen` is refreshed at most every tenth of the maximum age, as Weave does, so a busy
 * flow does not write on every frame. Pure: the clock is passed in.
 *
 * @module
 */
import type { PeerName } from "../lib/peer_name.ts";

/** How long an entry lives without being refreshed. */
export const MAC_MAX_AGE_MS = 10 * 60_000;

/** Outcome of {@link MacCache.add} / {@link MacCache.addForced}. */
export const MacAdd = {
  /** Known at that peer already. */
  Known: 0,
  /** First seen. */
  New: 1,
  /** Was at another peer ({@link MacCache.previous}); now here (forced adds only). */
  Moved: 2,
  /** Is at another peer ({@link MacCache.previous}); left there (non-forced adds). */
  Conflict: 3,
} as const;
/** One of {@link MacAdd}. */
export type MacAdd = typeof MacAdd[keyof typeof MacAdd];

/** A MAC entry as listed by {@link MacCache.entries}. */
export interface MacEntry {
  mac: number;
  peer: PeerName;
  /** Milliseconds since the epoch (the cache's clock). */
  lastSeen: number;
}

/**
 * The 6 bytes at `bytes[offset..]` as a number (exact: below 2^53).
 *
 * @example
 * ```ts
 * import { macKey } from "./mac_cache.ts";
 * macKey(new Uint8Array([0, 0, 0, 0, 1, 0]), 0); // 256
 * ```
 */
export function macKey(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] << 8) | bytes[offset + 1]) * 0x100000000 +
    (((bytes[offset + 2] << 24) | (bytes[offset + 3] << 16) | (bytes[offset + 4] << 8) |
      bytes[offset + 5]) >>> 0);
}

/**
 * Whether a {@link macKey} can be a frame's source: not all zeros, and not a group address
 * (the low bit of the first byte set: multicast, broadcast).
 *
 * @example
 * ```ts
 * import { isUnicastMac } from "./mac_cache.ts";
 * isUnicastMac(0x0a0000000001); // true
 * isUnicastMac(0xffffffffffff); // false
 * isUnicastMac(0x01005e000001); // false
 * ```
 */
export function isUnicastMac(key: number): boolean {
  return key !== 0 && Math.floor(key / 0x10000000000) % 2 === 0;
}

/**
 * `aa:bb:cc:dd:ee:ff` for a {@link macKey}.
 *
 * @example
 * ```ts
 * import { formatMac } from "./mac_cache.ts";
 * formatMac(0x0a0000000001); // "0a:00:00:00:00:01"
 * ```
 */
export function formatMac(key: number): string {
  return key.toString(16).padStart(12, "0").replace(/(..)(?!$)/g, "$1:");
}

/** Options of {@link MacCache}. */
export interface MacCacheOptions {
  /** Default {@link MAC_MAX_AGE_MS}. */
  maxAgeMs?: number;
  /** Milliseconds since the epoch; default `Date.now`. */
  now?: () => number;
}

interface Slot {
  peer: PeerName;
  lastSeen: number;
}

/**
 * MAC → peer, with expiry.
 *
 * @example
 * ```ts
 * import { MacAdd, MacCache } from "./mac_cache.ts";
 * const cache = new MacCache({ now: () => 0 });
 * cache.addForced(0x0a0000000001, 2n) === MacAdd.New; // true
 * cache.lookup(0x0a0000000001); // 2n
 * ```
 */
export class MacCache {
  readonly #table = new Map<number, Slot>();
  readonly #maxAge: number;
  readonly #refresh: number;
  readonly #now: () => number;
  /** The peer a MAC was at, after an add returned Moved or Conflict. */
  previous: PeerName | undefined;

  constructor(options: MacCacheOptions = {}) {
    this.#maxAge = options.maxAgeMs ?? MAC_MAX_AGE_MS;
    this.#refresh = this.#maxAge / 10;
    this.#now = options.now ?? Date.now;
  }

  /** Entries held (expired ones included until {@link expire} runs). */
  get size(): number {
    return this.#table.size;
  }

  /** Records `mac` at `peer` unless it is at another peer (then Conflict, unchanged). */
  add(mac: number, peer: PeerName): MacAdd {
    return this.#enter(mac, peer, false);
  }

  /** Records `mac` at `peer`, moving it from any other peer. */
  addForced(mac: number, peer: PeerName): MacAdd {
    return this.#enter(mac, peer, true);
  }

  #enter(mac: number, peer: PeerName, force: boolean): MacAdd {
    const now = this.#now();
    const slot = this.#table.get(mac);
    if (slot === undefined || now - slot.lastSeen > this.#maxAge) {
      if (slot === undefined) this.#table.set(mac, { peer, lastSeen: now });
      else [slot.peer, slot.lastSeen] = [peer, now];
      return MacAdd.New;
    }
    if (slot.peer !== peer) {
      this.previous = slot.peer;
      if (!force) return MacAdd.Conflict;
      slot.peer = peer;
      slot.lastSeen = now;
      return MacAdd.Moved;
    }
    if (now - slot.lastSeen > this.#refresh) slot.lastSeen = now;
    return MacAdd.Known;
  }

  /** Where `mac` is, if known and not expired. */
  lookup(mac: number): PeerName | undefined {
    const slot = this.#table.get(mac);
    if (slot === undefined || this.#now() - slot.lastSeen > this.#maxAge) return undefined;
    return slot.peer;
  }

  /** Removes and returns the entries not refreshed within the maximum age. */
  expire(): MacEntry[] {
    const now = this.#now();
    const gone: MacEntry[] = [];
    for (const [mac, slot] of this.#table) {
      if (now - slot.lastSeen > this.#maxAge) {
        this.#table.delete(mac);
        gone.push({ mac, ...slot });
      }
    }
    return gone;
  }

  /** Forgets every MAC at `peer`; returns how many. */
  deletePeer(peer: PeerName): number {
    let n = 0;
    for (const [mac, slot] of this.#table) {
      if (slot.peer === peer) {
        this.#table.delete(mac);
        n++;
      }
    }
    return n;
  }

  /** Every entry, in insertion order. */
  entries(): MacEntry[] {
    return [...this.#table].map(([mac, slot]) => ({ mac, ...slot }));
  }
}
