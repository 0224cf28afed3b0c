/**
 * The IPAM persistence seam, after CNI host-local's `backend/store.go`: the
 * allocator hands a whole {@link IpamState} snapshot to {@link IpamStore.save}
 * and reads it back once at start. The state replaces Weave's BoltDB keys
 * (`peername`, `ring`, `ownedAddresses`) and adds the takeover holds of
 * `rmpeer` (see `allocator.ts`).
 *
 * This file also holds the pure JSON form of the state (encode, and a decoder
 * that checks every field, since the file is untrusted after a crash or a
 * hand edit). `store_file.ts` is the only code that touches the disk.
 *
 * @module
 */
import { formatIPv4, parseIPv4 } from "../lib/cidr.ts";
import { formatPeerName, parsePeerName, type PeerName } from "../lib/peer_name.ts";
import { type Address, isUint32 } from "./address.ts";
import type { RingData, RingEntry } from "./ring.ts";

/** An address handed to an identifier, with the prefix length of its subnet. */
export interface OwnedAddress {
  addr: Address;
  prefix: number;
}

/** What one identifier (container ID, `weave:expose`, …) owns. */
export interface OwnedData {
  isContainer: boolean;
  cidrs: OwnedAddress[];
}

/** A range taken over from `from`, kept out of allocation until `until` (ms since epoch). */
export interface TakeoverHold {
  from: PeerName;
  until: number;
}

/** Everything the allocator persists. */
export interface IpamState {
  /** The peer the data belongs to; data of another peer is never used. */
  peerName: PeerName;
  /** The ring, or undefined before consensus. */
  ring?: RingData;
  /** Addresses per identifier. */
  owned: Map<string, OwnedData>;
  /** Ring tokens taken over by `rmpeer` and still on hold (see `_takeover.ts`). */
  holds: Map<Address, TakeoverHold>;
}

/**
 * Where the allocator keeps its state. Implementations must make `save`
 * atomic: after a crash, `load` returns either the previous or the new state.
 */
export interface IpamStore {
  /** The saved state; undefined when none was ever saved. Throws {@link IpamStoreCorruptError}. */
  load(): Promise<IpamState | undefined>;
  /** Replaces the saved state; resolves once it is durable. */
  save(state: IpamState): Promise<void>;
}

/** The saved state exists but cannot be trusted (truncated, edited, wrong format). */
export class IpamStoreCorruptError extends Error {
  constructor(where: string, detail: string, options?: ErrorOptions) {
    super(
      `IPAM state "${where}" is damaged: ${detail}; move it away or run 'weave reset'`,
      options,
    );
    this.name = "IpamStoreCorruptError";
  }
}

/** The JSON shape of {@link IpamState}. */
export interface IpamStateJson {
  peerName: string;
  ring: {
    start: string;
    end: number;
    peer: string;
    entries: { token: string; peer: string; version: number; free: number }[];
    seeds: string[];
  } | null;
  owned: Record<string, { isContainer: boolean; cidrs: string[] }>;
  holds: { token: string; from: string; until: number }[];
}

/**
 * Converts the state to plain JSON data (addresses and peer names as text).
 *
 * @example
 * ```ts
 * import { encodeIpamState } from "./store.ts";
 * encodeIpamState({ peerName: 1n, owned: new Map(), holds: new Map() }).peerName; // "00:00:00:00:00:01"
 * ```
 */
export function encodeIpamState(state: IpamState): IpamStateJson {
  const owned: IpamStateJson["owned"] = {};
  for (const [ident, d] of state.owned) {
    owned[ident] = {
      isContainer: d.isContainer,
      cidrs: d.cidrs.map((c) => `${formatIPv4(c.addr)}/${c.prefix}`),
    };
  }
  const ring = state.ring;
  return {
    peerName: formatPeerName(state.peerName),
    ring: ring
      ? {
        start: formatIPv4(ring.start),
        end: ring.end,
        peer: formatPeerName(ring.peer),
        entries: ring.entries.map((e) => ({
          token: formatIPv4(e.token),
          peer: formatPeerName(e.peer),
          version: e.version,
          free: e.free,
        })),
        seeds: ring.seeds.map(formatPeerName),
      }
      : null,
    owned,
    holds: [...state.holds].map(([token, h]) => ({
      token: formatIPv4(token),
      from: formatPeerName(h.from),
      until: h.until,
    })),
  };
}

/**
 * Checks and converts JSON data back to the state; `where` names the source
 * in errors. Throws {@link IpamStoreCorruptError} on any wrong field.
 */
export function decodeIpamState(doc: unknown, where: string): IpamState {
  const bad = (detail: string, cause?: unknown): never => {
    throw new IpamStoreCorruptError(where, detail, cause === undefined ? undefined : { cause });
  };
  const j = asObject(doc) ?? bad("state is not an object");
  const peer = (v: unknown, field: string): PeerName => {
    if (typeof v !== "string") return bad(`${field} is not a peer name`);
    try {
      return parsePeerName(v);
    } catch (e) {
      return bad(`${field} ${JSON.stringify(v)} is not a peer name`, e);
    }
  };
  const ip = (v: unknown, field: string): Address => {
    if (typeof v !== "string") return bad(`${field} is not an IPv4 address`);
    try {
      return parseIPv4(v);
    } catch (e) {
      return bad(`${field} ${JSON.stringify(v)} is not an IPv4 address`, e);
    }
  };
  const u32 = (v: unknown, field: string): number =>
    typeof v === "number" && isUint32(v) ? v : bad(`${field} is not a uint32`);
  const list = (v: unknown, field: string): unknown[] =>
    Array.isArray(v) ? v : bad(`${field} is not a list`);

  const state: IpamState = {
    peerName: peer(j.peerName, "peerName"),
    owned: new Map(),
    holds: new Map(),
  };
  if (j.ring !== null && j.ring !== undefined) {
    const r = asObject(j.ring) ?? bad("ring is not an object");
    const end = r.end;
    if (typeof end !== "number" || !Number.isInteger(end) || end < 1 || end > 2 ** 32) {
      bad("ring.end is out of range");
    }
    const entries: RingEntry[] = list(r.entries, "ring.entries").map((x, i) => {
      const e = asObject(x) ?? bad(`ring.entries[${i}] is not an object`);
      return {
        token: ip(e.token, `ring.entries[${i}].token`),
        peer: peer(e.peer, `ring.entries[${i}].peer`),
        version: u32(e.version, `ring.entries[${i}].version`),
        free: u32(e.free, `ring.entries[${i}].free`),
      };
    });
    state.ring = {
      start: ip(r.start, "ring.start"),
      end: end as number,
      peer: peer(r.peer, "ring.peer"),
      entries,
      seeds: list(r.seeds, "ring.seeds").map((s, i) => peer(s, `ring.seeds[${i}]`)),
    };
  }
  const owned = asObject(j.owned) ?? bad("owned is not an object");
  for (const [ident, x] of Object.entries(owned)) {
    const d = asObject(x) ?? bad(`owned[${JSON.stringify(ident)}] is not an object`);
    if (typeof d.isContainer !== "boolean") bad(`owned[${JSON.stringify(ident)}].isContainer`);
    const cidrs = list(d.cidrs, `owned[${JSON.stringify(ident)}].cidrs`).map((c) => {
      const m = typeof c === "string" ? /^([^/]+)\/(\d{1,2})$/.exec(c) : null;
      if (!m || Number(m[2]) > 32) return bad(`owned address ${JSON.stringify(c)} is not a CIDR`);
      return { addr: ip(m[1], "owned address"), prefix: Number(m[2]) };
    });
    state.owned.set(ident, { isContainer: d.isContainer as boolean, cidrs });
  }
  for (const [i, x] of list(j.holds, "holds").entries()) {
    const h = asObject(x) ?? bad(`holds[${i}] is not an object`);
    if (typeof h.until !== "number" || !Number.isFinite(h.until)) bad(`holds[${i}].until`);
    state.holds.set(ip(h.token, `holds[${i}].token`), {
      from: peer(h.from, `holds[${i}].from`),
      until: h.until as number,
    });
  }
  return state;
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v)
    ? v as Record<string, unknown>
    : undefined;
}

/** A deep copy of a state (stores keep copies so that later changes do not leak in). */
export function cloneIpamState(state: IpamState): IpamState {
  return decodeIpamState(encodeIpamState(state), "copy");
}
