/**
 * The `nameserver` gossip channel (`shared/spec/weave-protocol.md` §7.2):
 * the gob codec of Weave's DNS `GossipData`, the gossip data the mesh queues
 * and merges, and the {@link Gossiper} that merges received entries into the
 * zone.
 *
 * Wire value: `GossipData{Timestamp int; Entries []Entry}` with
 * `Entry{ContainerID string; Origin uint; Addr uint; Hostname string;
 * Version int; Tombstone int}`, entries sorted case-sensitively. Go sends the
 * three type definitions with every message (a new encoder each time) using
 * its process-wide type ids; ours come from a registry (65.. by default).
 *
 * Receiving (as Weave 2.8.1's `receiveGossip`): gossip stamped more than
 * 900 s away from our clock is an error, which closes the connection; entries
 * of unknown peers are dropped; a stale copy of one of our own entries is
 * answered by re-broadcasting ours with a higher version (or a tombstone when
 * we no longer have it).
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import { formatPeerName, type PeerName } from "../lib/peer_name.ts";
import {
  checkStructKinds,
  gobField,
  GobStreamDecoder,
  type GobStruct,
  type GobValue,
} from "../mesh/gob/decoder.ts";
import { GobEncoder, GobTypeRegistry } from "../mesh/gob/encoder.ts";
import { gobSlice, gobStruct, type GobStructType, I, S, U } from "../mesh/gob/types.ts";
import type { GossipData, Gossiper } from "../mesh/gossip_types.ts";
import { compareEntriesCaseSensitive, copyEntry, Entries, type Entry } from "./entry.ts";

/** Largest accepted difference between a gossip Timestamp and our clock, in seconds. */
export const GOSSIP_WINDOW_S = 900;

/** The gob type of a DNS entry. */
export const ENTRY_TYPE: GobStructType = gobStruct("Entry", [
  ["ContainerID", S],
  ["Origin", U],
  ["Addr", U],
  ["Hostname", S],
  ["Version", I],
  ["Tombstone", I],
]);

/** The gob type of DNS gossip; `name` is Go's type name (informational for decoders). */
export function gossipDataType(name = "GossipData"): GobStructType {
  return gobStruct(name, [["Timestamp", I], ["Entries", gobSlice(ENTRY_TYPE, "Entries")]]);
}

const DEFAULT_TYPE = gossipDataType();

/** A decoded (or to-be-encoded) DNS gossip message. */
export interface DnsGossipMessage {
  /** Sender's clock, unix seconds. */
  timestamp: number;
  entries: Entry[];
}

/** Options of {@link encodeDnsGossip}. */
export interface DnsGossipEncodeOptions {
  /** Type ids (default: a fresh registry, ids from 65). */
  registry?: GobTypeRegistry;
  /** Struct type name sent for GossipData (default "GossipData", as Weave). */
  typeName?: string;
}

/**
 * Encodes one gob stream holding the message, entries sorted case-sensitively.
 *
 * @example
 * ```ts
 * import { decodeDnsGossip, encodeDnsGossip } from "./gossip.ts";
 * const bytes = encodeDnsGossip({ timestamp: 1795460275, entries: [] });
 * decodeDnsGossip(bytes); // { timestamp: 1795460275, entries: [] }
 * ```
 */
export function encodeDnsGossip(
  msg: DnsGossipMessage,
  opts: DnsGossipEncodeOptions = {},
): Uint8Array {
  const type = opts.typeName === undefined ? DEFAULT_TYPE : gossipDataType(opts.typeName);
  const entries = [...msg.entries].sort(compareEntriesCaseSensitive).map((e) => ({
    ContainerID: e.containerID,
    Origin: e.origin,
    Addr: e.addr,
    Hostname: e.hostname,
    Version: e.version,
    Tombstone: e.tombstone,
  }));
  const enc = new GobEncoder({ registry: opts.registry ?? new GobTypeRegistry() });
  return enc.encode({ Timestamp: msg.timestamp, Entries: entries }, type);
}

/**
 * Decodes the first value of a gob stream as DNS gossip (later bytes are
 * ignored, as Go's decoder leaves them unread). Throws SyntaxError/RangeError
 * for malformed or truncated input and TypeError for wrong kinds.
 */
export function decodeDnsGossip(bytes: Uint8Array): DnsGossipMessage {
  const { item } = new GobStreamDecoder().next(bytes, 0);
  checkStructKinds(item.type, "DNS gossip", { Timestamp: "int", Entries: "slice" });
  if (item.type.kind !== "struct") throw new TypeError("Cannot decode DNS gossip: not a struct");
  const entriesType = item.type.fields.find(([name]) => name === "Entries")?.[1];
  if (entriesType?.kind === "slice") {
    checkStructKinds(entriesType.elem, "DNS entry", {
      ContainerID: "string",
      Origin: "uint",
      Addr: "uint",
      Hostname: "string",
      Version: "int",
      Tombstone: "int",
    });
  }
  const value = item.value as GobStruct;
  const list = gobField<GobValue[]>(value, "Entries", []);
  return {
    timestamp: safeInt(gobField(value, "Timestamp", 0n), "Timestamp"),
    entries: list.map((v) => decodeEntry(v as GobStruct)),
  };
}

function decodeEntry(s: GobStruct): Entry {
  const addr = gobField(s, "Addr", 0n);
  if (addr > 0xffffffffn) {
    throw new RangeError(`Cannot decode DNS entry: Addr ${addr} does not fit in 32 bits`);
  }
  return {
    containerID: gobField(s, "ContainerID", ""),
    origin: gobField(s, "Origin", 0n),
    addr: Number(addr),
    hostname: gobField(s, "Hostname", ""),
    version: safeInt(gobField(s, "Version", 0n), "Version"),
    tombstone: safeInt(gobField(s, "Tombstone", 0n), "Tombstone"),
  };
}

function safeInt(v: bigint, field: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`Cannot decode DNS gossip: ${field} ${v} is out of range`);
  }
  return Number(v);
}

/**
 * Checks a gossip Timestamp against our clock (both unix seconds); throws
 * Weave's error when they are more than {@link GOSSIP_WINDOW_S} apart.
 *
 * @example
 * ```ts
 * import { checkClockSkew } from "./gossip.ts";
 * checkClockSkew(1000, 1500); // ok
 * // checkClockSkew(2000, 1000) throws "host clock skew of 1000s exceeds 900s limit"
 * ```
 */
export function checkClockSkew(timestamp: number, now: number): void {
  const delta = timestamp - now;
  if (delta > GOSSIP_WINDOW_S || delta < -GOSSIP_WINDOW_S) {
    throw new Error(`host clock skew of ${delta}s exceeds ${GOSSIP_WINDOW_S}s limit`);
  }
}

/** DNS gossip waiting to be sent; merging keeps the newer copy of each entry. */
export class DnsGossipData implements GossipData {
  constructor(readonly timestamp: number, readonly entries: readonly Entry[]) {}

  encode(): Uint8Array[] {
    return [encodeDnsGossip({ timestamp: this.timestamp, entries: [...this.entries] })];
  }

  merge(other: GossipData): GossipData {
    if (!(other instanceof DnsGossipData)) {
      throw new TypeError("Cannot merge DNS gossip: the other data is not DNS gossip");
    }
    const merged = Entries.from(this.entries);
    merged.merge(other.entries);
    return new DnsGossipData(Math.max(this.timestamp, other.timestamp), merged.all());
  }
}

/** Options of {@link DnsGossiper}. */
export interface DnsGossiperOptions {
  ourName: PeerName;
  /** The zone (shared with the DNS server). */
  entries: Entries;
  /** Whether a peer is in the topology; entries of other origins are dropped. */
  isKnownPeer(name: PeerName): boolean;
  /** Unix seconds. */
  now(): number;
  /** Broadcasts entries of ours that we had to correct (called after merging). */
  broadcast(entries: Entry[]): void;
  log: Logger;
}

/** The `nameserver` channel's gossiper. */
export class DnsGossiper implements Gossiper {
  constructor(private readonly opts: DnsGossiperOptions) {}

  onGossipUnicast(_sender: PeerName, _message: Uint8Array): void {}

  onGossipBroadcast(_origin: PeerName, update: Uint8Array): GossipData | null {
    return this.#receive(update).received;
  }

  gossip(): GossipData | null {
    return new DnsGossipData(this.opts.now(), this.opts.entries.all());
  }

  onGossip(update: Uint8Array): GossipData | null {
    const { changed } = this.#receive(update);
    return changed.length > 0 ? new DnsGossipData(this.opts.now(), changed) : null;
  }

  #receive(update: Uint8Array): { received: DnsGossipData; changed: Entry[] } {
    const { ourName, entries, now } = this.opts;
    const msg = decodeDnsGossip(update);
    checkClockSkew(msg.timestamp, now());
    const overridden: Entry[] = [];
    const incoming = msg.entries.filter((e) => this.opts.isKnownPeer(e.origin)).map((e) => {
      if (e.origin !== ourName) return e;
      const fixed = this.#correctOurs(e);
      if (fixed) overridden.push(fixed);
      return fixed ?? e;
    });
    const changed = entries.merge(incoming);
    if (overridden.length > 0) {
      this.opts.log.debug(
        `[nameserver ${formatPeerName(ourName)}] re-broadcasting ${overridden.length} own entries`,
      );
      this.opts.broadcast(overridden);
    }
    return { received: new DnsGossipData(msg.timestamp, incoming), changed };
  }

  /** A stale or unknown copy of our own entry → the entry to assert instead (or undefined). */
  #correctOurs(e: Entry): Entry | undefined {
    const ours = this.opts.entries.find(e);
    if (ours) {
      if (
        ours.version < e.version || (ours.version === e.version && ours.tombstone !== e.tombstone)
      ) {
        return { ...ours, version: e.version + 1 };
      }
      return undefined;
    }
    if (e.tombstone > 0) return undefined;
    return { ...copyEntry(e), tombstone: this.opts.now(), version: e.version + 1 };
  }
}
