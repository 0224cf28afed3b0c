/**
 * The `IPallocation` channel's payloads (spec §6.2): a gob `gossipState` in
 * broadcast and periodic gossip, and the unicast messages — one type byte
 * (0 SpaceRequest, 1 RingUpdate, 2 SpaceRequestDenied) followed by a gob
 * `Range` or `gossipState`. Each payload is a fresh gob stream, so it carries
 * every type definition of its static type tree, as Go's does.
 *
 * Decoding accepts any type ids, Go's random map order, omitted zero fields
 * and unknown fields; it checks kinds (Go refuses int for uint) and that
 * uint32 fields fit (Go refuses overflow). Ring invariants are not checked
 * here: {@link Ring.merge} checks them before applying anything.
 *
 * @module
 */
import type { PeerName } from "../lib/peer_name.ts";
import {
  type GobItem,
  GobStreamDecoder,
  type GobStruct,
  type GobValue,
} from "../mesh/gob/decoder.ts";
import { GobEncoder, type GobTypeRegistry } from "../mesh/gob/encoder.ts";
import { MAX_UINT32, type Range } from "./address/mod.ts";
import {
  checkShape,
  gossipStateSchema,
  type GossipTypeNames,
  RANGE_TYPE,
  ringSchema,
  WEAVE_TYPE_NAMES,
} from "./gossip_schema.ts";
import type { NodeClaims, NodeID, PaxosGossip, ProposalID } from "./paxos/mod.ts";
import type { RingData, RingEntry } from "./ring/mod.ts";

/** A decoded or to-be-encoded `gossipState`. */
export interface GossipState {
  /** Sender's clock, unix seconds (Go int64). */
  now: bigint;
  /** Peer nicknames, in wire order. */
  nicknames: Map<PeerName, string>;
  /**
   * Paxos claims while the ring is empty: undefined = absent (nil; observers,
   * or once a ring exists), `[]` = the empty map sent before any round.
   */
  paxos?: PaxosGossip;
  /** The ring, once it exists. */
  ring?: RingData;
}

/** Encoding options: where type ids come from, and which type names to send. */
export interface GossipEncodeOptions {
  /** Type id source (default: a fresh one, ids from 65). Share one to mimic a Go process. */
  registry?: GobTypeRegistry;
  /** Type names (default: weaver 2.8.1's). */
  names?: GossipTypeNames;
}

/** The unicast type byte. */
export const IpamMessageType = Object.freeze(
  {
    SpaceRequest: 0,
    RingUpdate: 1,
    SpaceRequestDenied: 2,
  } as const,
);

/** A decoded IPAM unicast. */
export type IpamUnicast =
  | { type: typeof IpamMessageType.SpaceRequest; range: Range }
  | { type: typeof IpamMessageType.RingUpdate; state: GossipState }
  | { type: typeof IpamMessageType.SpaceRequestDenied; range: Range };

// ---- encoding -------------------------------------------------------------------

function proposalValue(p: ProposalID): GobStruct {
  return { Round: p.round, Proposer: { Name: p.proposer.name, UID: p.proposer.uid } };
}

function claimsValue(c: NodeClaims): GobStruct {
  return {
    Promise: proposalValue(c.promise),
    Accepted: proposalValue(c.accepted),
    AcceptedVal: { Value: [...c.acceptedVal.value], Origin: proposalValue(c.acceptedVal.origin) },
  };
}

/** The gob value of a ring (`Ring` struct, entries as `*entry`). */
function ringValue(ring: RingData): GobStruct {
  return {
    Start: BigInt(ring.start),
    End: BigInt(ring.end),
    Peer: ring.peer,
    Entries: ring.entries.map((e) => ({
      Token: BigInt(e.token),
      Peer: e.peer,
      Version: BigInt(e.version),
      Free: BigInt(e.free),
    })),
    Seeds: [...ring.seeds],
  };
}

/**
 * Encodes a `gossipState` as one gob stream (type definitions, then the value).
 *
 * @example
 * ```ts
 * import { encodeGossipState } from "./gossip_codec.ts";
 * const bytes = encodeGossipState({ now: 1795460275n, nicknames: new Map([[1n, "h1"]]), paxos: [] });
 * bytes.length; // 542: the type definitions, then the value
 * ```
 */
export function encodeGossipState(
  state: GossipState,
  options: GossipEncodeOptions = {},
): Uint8Array {
  const value: GobStruct = {
    Now: state.now,
    Nicknames: new Map<GobValue, GobValue>(state.nicknames),
  };
  if (state.paxos !== undefined) {
    value.Paxos = new Map<GobValue, GobValue>(
      state.paxos.map(([id, claims]) => [{ Name: id.name, UID: id.uid }, claimsValue(claims)]),
    );
  }
  if (state.ring !== undefined) value.Ring = ringValue(state.ring);
  const encoder = new GobEncoder({ registry: options.registry });
  return encoder.encode(value, gossipStateSchema(options.names ?? WEAVE_TYPE_NAMES));
}

/** Encodes a gob `Range` as one stream. */
export function encodeRange(range: Range, options: GossipEncodeOptions = {}): Uint8Array {
  return new GobEncoder({ registry: options.registry }).encode(
    { Start: BigInt(range.start), End: BigInt(range.end) },
    RANGE_TYPE,
  );
}

/** Encodes a unicast: the type byte, then its gob body. */
export function encodeIpamUnicast(msg: IpamUnicast, options: GossipEncodeOptions = {}): Uint8Array {
  const body = msg.type === IpamMessageType.RingUpdate
    ? encodeGossipState(msg.state, options)
    : encodeRange(msg.range, options);
  return withType(msg.type, body);
}

/**
 * A `RingUpdate` unicast around an already encoded `gossipState` (so that
 * one encoding serves many messages).
 *
 * @example
 * ```ts
 * import { encodeGossipState, ringUpdateFromEncoded } from "./gossip_codec.ts";
 * const state = encodeGossipState({ now: 1n, nicknames: new Map(), paxos: [] });
 * ringUpdateFromEncoded(state)[0]; // 1
 * ```
 */
export function ringUpdateFromEncoded(gossipState: Uint8Array): Uint8Array {
  return withType(IpamMessageType.RingUpdate, gossipState);
}

function withType(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + body.length);
  out[0] = type;
  out.set(body, 1);
  return out;
}

// ---- decoding -------------------------------------------------------------------

/** Reads one top-level value from `offset`, wrapping gob errors with `what`. */
function readItem(
  bytes: Uint8Array,
  offset: number,
  what: string,
): { item: GobItem; offset: number } {
  try {
    return new GobStreamDecoder().next(bytes, offset);
  } catch (cause) {
    const message = `Cannot decode ${what}: ${(cause as Error).message}`;
    if (cause instanceof RangeError) throw new RangeError(message, { cause });
    throw new SyntaxError(message, { cause });
  }
}

function struct(v: GobValue | undefined, path: string): GobStruct {
  if (v === undefined) return {};
  if (typeof v !== "object" || v instanceof Uint8Array || Array.isArray(v) || v instanceof Map) {
    throw new TypeError(`Cannot decode ${path}: expected a struct`);
  }
  return v;
}

function big(s: GobStruct, field: string): bigint {
  const v = s[field];
  return typeof v === "bigint" ? v : 0n;
}

function u32(s: GobStruct, field: string, path: string): number {
  const v = big(s, field);
  if (v > BigInt(MAX_UINT32)) {
    throw new RangeError(`Cannot decode ${path}.${field}: ${v} does not fit in uint32`);
  }
  return Number(v);
}

function names(v: GobValue | undefined): PeerName[] {
  return Array.isArray(v) ? v.map((n) => n as bigint) : [];
}

function nodeID(v: GobValue | undefined, path: string): NodeID {
  const s = struct(v, path);
  return { name: big(s, "Name"), uid: big(s, "UID") };
}

function proposal(v: GobValue | undefined, path: string): ProposalID {
  const s = struct(v, path);
  return { round: big(s, "Round"), proposer: nodeID(s.Proposer, `${path}.Proposer`) };
}

function claims(v: GobValue, path: string): NodeClaims {
  const s = struct(v, path);
  const av = struct(s.AcceptedVal, `${path}.AcceptedVal`);
  return {
    promise: proposal(s.Promise, `${path}.Promise`),
    accepted: proposal(s.Accepted, `${path}.Accepted`),
    acceptedVal: { value: names(av.Value), origin: proposal(av.Origin, `${path}.Origin`) },
  };
}

function ring(v: GobValue, path: string): RingData {
  const s = struct(v, path);
  const entries: RingEntry[] = (Array.isArray(s.Entries) ? s.Entries : []).map((e, i) => {
    const es = struct(e, `${path}.Entries[${i}]`);
    const at = `${path}.Entries[${i}]`;
    return {
      token: u32(es, "Token", at),
      peer: big(es, "Peer"),
      version: u32(es, "Version", at),
      free: u32(es, "Free", at),
    };
  });
  return {
    start: u32(s, "Start", path),
    end: u32(s, "End", path),
    peer: big(s, "Peer"),
    entries,
    seeds: names(s.Seeds),
  };
}

function stateFrom(item: GobItem): GossipState {
  checkShape(item.type, gossipStateSchema(), "IPAM gossipState");
  const s = struct(item.value, "IPAM gossipState");
  const state: GossipState = {
    now: big(s, "Now"),
    nicknames: new Map(
      [...(s.Nicknames instanceof Map ? s.Nicknames : [])].map((
        [k, v],
      ) => [k as bigint, v as string]),
    ),
  };
  if (s.Paxos instanceof Map) {
    state.paxos = [...s.Paxos].map(([k, v], i) => [
      nodeID(k, `Paxos key ${i}`),
      claims(v, `Paxos[${i}]`),
    ]);
  }
  if (s.Ring !== undefined) state.ring = ring(s.Ring, "Ring");
  return state;
}

/**
 * Decodes a `gossipState` gob stream starting at `offset`; returns it and
 * the offset after its value (Go ignores anything after). Throws
 * SyntaxError/RangeError on malformed or truncated gob, TypeError when a
 * field has the wrong kind, RangeError when a uint32 field overflows.
 *
 * @example
 * ```ts
 * import { decodeGossipState, encodeGossipState } from "./gossip_codec.ts";
 * const bytes = encodeGossipState({ now: 1n, nicknames: new Map() });
 * decodeGossipState(bytes).state.now; // 1n
 * ```
 */
export function decodeGossipState(
  bytes: Uint8Array,
  offset = 0,
): { state: GossipState; offset: number } {
  const read = readItem(bytes, offset, "IPAM gossipState");
  return { state: stateFrom(read.item), offset: read.offset };
}

/** Decodes a gob `Range` stream at `offset`; returns it and the offset after it. */
export function decodeRange(bytes: Uint8Array, offset = 0): { range: Range; offset: number } {
  const read = readItem(bytes, offset, "IPAM Range");
  checkShape(read.item.type, RANGE_TYPE, "IPAM Range");
  const s = struct(read.item.value, "IPAM Range");
  return {
    range: { start: u32(s, "Start", "Range"), end: u32(s, "End", "Range") },
    offset: read.offset,
  };
}

/**
 * Decodes an IPAM unicast payload (type byte + gob). Throws SyntaxError for
 * an empty payload or an unknown type byte.
 */
export function decodeIpamUnicast(bytes: Uint8Array, offset = 0): IpamUnicast {
  if (offset >= bytes.length) {
    throw new SyntaxError("Cannot decode IPAM unicast: empty payload");
  }
  const type = bytes[offset];
  switch (type) {
    case IpamMessageType.SpaceRequest:
    case IpamMessageType.SpaceRequestDenied:
      return { type, range: decodeRange(bytes, offset + 1).range };
    case IpamMessageType.RingUpdate:
      return { type, state: decodeGossipState(bytes, offset + 1).state };
    default:
      throw new SyntaxError(`Cannot decode IPAM unicast: unknown message type ${type}`);
  }
}

/** Encodes a ring alone as one gob stream (Go persists `*Ring` this way in BoltDB). */
export function encodeRing(data: RingData, options: GossipEncodeOptions = {}): Uint8Array {
  return new GobEncoder({ registry: options.registry }).encode(
    ringValue(data),
    ringSchema(options.names ?? WEAVE_TYPE_NAMES),
  );
}

/** Decodes a ring stream written by {@link encodeRing} (or by Go); invariants are not checked. */
export function decodeRing(bytes: Uint8Array, offset = 0): { ring: RingData; offset: number } {
  const read = readItem(bytes, offset, "IPAM Ring");
  checkShape(read.item.type, ringSchema(), "IPAM Ring");
  return { ring: ring(read.item.value, "Ring"), offset: read.offset };
}
