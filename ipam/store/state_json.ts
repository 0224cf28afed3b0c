/**
 * The JSON form of the persisted IPAM state and of its parts (ring, ring
 * entry, owned addresses, holds): addresses and peer names as text. Shared
 * by the state file (`file_store.ts`) and its journal (`_journal.ts`).
 *
 * Decoding checks every field, since a file is untrusted after a crash or a
 * hand edit; errors are {@link IpamStoreCorruptError}s naming the field.
 *
 * @module
 */
import { formatIPv4, parseIPv4 } from "../../lib/cidr.ts";
import { formatPeerName, parsePeerName, type PeerName } from "../../lib/peer_name.ts";
import { type Address, isUint32 } from "../address/mod.ts";
import type { RingData, RingEntry } from "../ring/mod.ts";
import type { IpamState, OwnedData, TakeoverHold } from "./store.ts";
import { IpamStoreCorruptError } from "./store_error.ts";

/** JSON of a ring entry. */
export interface EntryJson {
  token: string;
  peer: string;
  version: number;
  free: number;
}

/** JSON of a ring. */
export interface RingJson {
  start: string;
  end: number;
  peer: string;
  entries: EntryJson[];
  seeds: string[];
}

/** JSON of what one identifier owns. */
export interface OwnedJson {
  isContainer: boolean;
  cidrs: string[];
}

/** JSON of one takeover hold. */
export interface HoldJson {
  token: string;
  from: string;
  until: number;
}

/** The JSON shape of {@link IpamState}. */
export interface IpamStateJson {
  peerName: string;
  ring: RingJson | null;
  owned: Record<string, OwnedJson>;
  holds: HoldJson[];
}

/** JSON of a ring entry. */
export function entryToJson(e: RingEntry): EntryJson {
  return {
    token: formatIPv4(e.token),
    peer: formatPeerName(e.peer),
    version: e.version,
    free: e.free,
  };
}

/** JSON of a ring. */
export function ringToJson(ring: RingData): RingJson {
  return {
    start: formatIPv4(ring.start),
    end: ring.end,
    peer: formatPeerName(ring.peer),
    entries: ring.entries.map(entryToJson),
    seeds: ring.seeds.map(formatPeerName),
  };
}

/** JSON of what one identifier owns. */
export function ownedToJson(d: OwnedData): OwnedJson {
  return {
    isContainer: d.isContainer,
    cidrs: d.cidrs.map((c) => `${formatIPv4(c.addr)}/${c.prefix}`),
  };
}

/** JSON of the takeover holds. */
export function holdsToJson(holds: ReadonlyMap<Address, TakeoverHold>): HoldJson[] {
  return [...holds].map(([token, h]) => ({
    token: formatIPv4(token),
    from: formatPeerName(h.from),
    until: h.until,
  }));
}

/**
 * Converts the state to plain JSON data (addresses and peer names as text).
 *
 * @example
 * ```ts
 * import { encodeIpamState } from "./state_json.ts";
 * encodeIpamState({ peerName: 1n, owned: new Map(), holds: new Map() }).peerName; // "00:00:00:00:00:01"
 * ```
 */
export function encodeIpamState(state: IpamState): IpamStateJson {
  const owned: IpamStateJson["owned"] = {};
  for (const [ident, d] of state.owned) owned[ident] = ownedToJson(d);
  return {
    peerName: formatPeerName(state.peerName),
    ring: state.ring ? ringToJson(state.ring) : null,
    owned,
    holds: holdsToJson(state.holds),
  };
}

/**
 * Reads checked values out of untrusted JSON; every failure throws an
 * {@link IpamStoreCorruptError} for `where` naming the field.
 *
 * @example
 * ```ts
 * import { JsonReader } from "./state_json.ts";
 * new JsonReader("state.json").ip("10.32.0.1", "token"); // 169869313
 * ```
 */
export class JsonReader {
  readonly where: string;

  constructor(where: string) {
    this.where = where;
  }

  /** Throws the store's corruption error. */
  bad(detail: string, cause?: unknown): never {
    throw new IpamStoreCorruptError(
      this.where,
      detail,
      cause === undefined ? undefined : { cause },
    );
  }

  /** A plain object. */
  object(v: unknown, field: string): Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v)
      ? v as Record<string, unknown>
      : this.bad(`${field} is not an object`);
  }

  /** A list. */
  list(v: unknown, field: string): unknown[] {
    return Array.isArray(v) ? v : this.bad(`${field} is not a list`);
  }

  /** A peer name in MAC form. */
  peer(v: unknown, field: string): PeerName {
    if (typeof v !== "string") return this.bad(`${field} is not a peer name`);
    try {
      return parsePeerName(v);
    } catch (e) {
      return this.bad(`${field} ${JSON.stringify(v)} is not a peer name`, e);
    }
  }

  /** A dotted IPv4 address. */
  ip(v: unknown, field: string): Address {
    if (typeof v !== "string") return this.bad(`${field} is not an IPv4 address`);
    try {
      return parseIPv4(v);
    } catch (e) {
      return this.bad(`${field} ${JSON.stringify(v)} is not an IPv4 address`, e);
    }
  }

  /** A uint32. */
  u32(v: unknown, field: string): number {
    return typeof v === "number" && isUint32(v) ? v : this.bad(`${field} is not a uint32`);
  }

  /** A ring entry. */
  entry(v: unknown, field: string): RingEntry {
    const e = this.object(v, field);
    return {
      token: this.ip(e.token, `${field}.token`),
      peer: this.peer(e.peer, `${field}.peer`),
      version: this.u32(e.version, `${field}.version`),
      free: this.u32(e.free, `${field}.free`),
    };
  }

  /** A ring (invariants are left to `Ring.fromData`). */
  ring(v: unknown, field: string): RingData {
    const r = this.object(v, field);
    const end = r.end;
    if (typeof end !== "number" || !Number.isInteger(end) || end < 1 || end > 2 ** 32) {
      this.bad(`${field}.end is out of range`);
    }
    return {
      start: this.ip(r.start, `${field}.start`),
      end: end as number,
      peer: this.peer(r.peer, `${field}.peer`),
      entries: this.list(r.entries, `${field}.entries`).map((x, i) =>
        this.entry(x, `${field}.entries[${i}]`)
      ),
      seeds: this.list(r.seeds, `${field}.seeds`).map((s, i) =>
        this.peer(s, `${field}.seeds[${i}]`)
      ),
    };
  }

  /** What one identifier owns. */
  owned(v: unknown, field: string): OwnedData {
    const d = this.object(v, field);
    if (typeof d.isContainer !== "boolean") this.bad(`${field}.isContainer`);
    const cidrs = this.list(d.cidrs, `${field}.cidrs`).map((c) => {
      const m = typeof c === "string" ? /^([^/]+)\/(\d{1,2})$/.exec(c) : null;
      if (!m || Number(m[2]) > 32) {
        return this.bad(`owned address ${JSON.stringify(c)} is not a CIDR`);
      }
      return { addr: this.ip(m[1], "owned address"), prefix: Number(m[2]) };
    });
    return { isContainer: d.isContainer as boolean, cidrs };
  }

  /** The takeover holds. */
  holds(v: unknown, field: string): Map<Address, TakeoverHold> {
    const out = new Map<Address, TakeoverHold>();
    for (const [i, x] of this.list(v, field).entries()) {
      const h = this.object(x, `${field}[${i}]`);
      if (typeof h.until !== "number" || !Number.isFinite(h.until)) {
        this.bad(`${field}[${i}].until`);
      }
      out.set(this.ip(h.token, `${field}[${i}].token`), {
        from: this.peer(h.from, `${field}[${i}].from`),
        until: h.until as number,
      });
    }
    return out;
  }
}

/**
 * Checks and converts JSON data back to the state; `where` names the source
 * in errors. Throws {@link IpamStoreCorruptError} on any wrong field.
 */
export function decodeIpamState(doc: unknown, where: string): IpamState {
  const read = new JsonReader(where);
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    read.bad("state is not an object");
  }
  const j = doc as Record<string, unknown>;
  const state: IpamState = {
    peerName: read.peer(j.peerName, "peerName"),
    owned: new Map(),
    holds: new Map(),
  };
  if (j.ring !== null && j.ring !== undefined) state.ring = read.ring(j.ring, "ring");
  const owned = read.object(j.owned, "owned");
  for (const [ident, x] of Object.entries(owned)) {
    state.owned.set(ident, read.owned(x, `owned[${JSON.stringify(ident)}]`));
  }
  state.holds = read.holds(j.holds, "holds");
  return state;
}
