/**
 * The `topology` gossip payload (`../shared/spec/weave-protocol.md` §2.4):
 * one gob stream holding, for each peer, a `peerSummary` struct and then its
 * `[]connectionSummary`. Go writes it with a single encoder, so the type
 * definitions appear once, the slice's before its element struct's.
 *
 * @module
 */
import { peerNameFromBytes, peerNameToBytes } from "../lib/peer_name.ts";
import {
  checkStructKinds,
  gobField,
  type GobItem,
  GobStreamDecoder,
  type GobStruct,
} from "./gob/decoder.ts";
import { GobEncoder } from "./gob/encoder.ts";
import { B, BYTES, describeGobType, gobSlice, gobStruct, S, U } from "./gob/types.ts";
import type { ConnectionSummary, PeerSummary, TopologyEntry } from "./topology_types.ts";

/** Go's `peerSummary`, field order as sent. */
export const PEER_SUMMARY_TYPE = gobStruct("peerSummary", [
  ["NameByte", BYTES],
  ["NickName", S],
  ["UID", U],
  ["Version", U],
  ["ShortID", U],
  ["HasShortID", B],
]);

/** Go's `connectionSummary`, field order as sent. */
export const CONNECTION_SUMMARY_TYPE = gobStruct("connectionSummary", [
  ["NameByte", BYTES],
  ["RemoteTCPAddr", S],
  ["Outbound", B],
  ["Established", B],
]);

/** Go's `[]connectionSummary` (an unnamed slice type). */
export const CONNECTION_LIST_TYPE = gobSlice(CONNECTION_SUMMARY_TYPE);

const PEER_KINDS = {
  NameByte: "bytes",
  NickName: "string",
  UID: "uint",
  Version: "uint",
  ShortID: "uint",
  HasShortID: "bool",
} as const;
const CONNECTION_KINDS = {
  NameByte: "bytes",
  RemoteTCPAddr: "string",
  Outbound: "bool",
  Established: "bool",
} as const;
const MAX_UINT16 = 0xffffn;

/**
 * Encodes a topology update: each entry's peer, then its connections.
 *
 * @example
 * ```ts
 * import { encodeTopology } from "./topology_codec.ts";
 * encodeTopology([{
 *   peer: { name: 1n, nickName: "h1", uid: 5n, version: 1n, shortID: 7, hasShortID: true },
 *   connections: [],
 * }]);
 * ```
 */
export function encodeTopology(entries: TopologyEntry[]): Uint8Array {
  const enc = new GobEncoder();
  const parts: Uint8Array[] = [];
  for (const { peer, connections } of entries) {
    parts.push(enc.encode(peerValue(peer), PEER_SUMMARY_TYPE));
    parts.push(enc.encode(connections.map(connectionValue), CONNECTION_LIST_TYPE));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function peerValue(peer: PeerSummary): GobStruct {
  return {
    NameByte: peerNameToBytes(peer.name),
    NickName: peer.nickName,
    UID: peer.uid,
    Version: peer.version,
    ShortID: BigInt(peer.shortID),
    HasShortID: peer.hasShortID,
  };
}

function connectionValue(conn: ConnectionSummary): GobStruct {
  return {
    NameByte: peerNameToBytes(conn.name),
    RemoteTCPAddr: conn.remoteTCPAddr,
    Outbound: conn.outbound,
    Established: conn.established,
  };
}

/**
 * Decodes a topology payload: (peerSummary, []connectionSummary) pairs up to
 * the end. Fields missing on the wire are zero; names must be 6 bytes.
 *
 * @example
 * ```ts
 * import { decodeTopology, encodeTopology } from "./topology_codec.ts";
 * const peer = { name: 1n, nickName: "h1", uid: 5n, version: 1n, shortID: 7, hasShortID: true };
 * decodeTopology(encodeTopology([{ peer, connections: [] }])); // [{ peer, connections: [] }]
 * ```
 */
export function decodeTopology(bytes: Uint8Array): TopologyEntry[] {
  const decoder = new GobStreamDecoder();
  const entries: TopologyEntry[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const summary = decoder.next(bytes, offset);
    if (summary.offset >= bytes.length) {
      throw new SyntaxError(
        `Cannot decode topology: peer ${entries.length} has no connection list`,
      );
    }
    const list = decoder.next(bytes, summary.offset);
    entries.push({ peer: toPeer(summary.item), connections: toConnections(list.item) });
    offset = list.offset;
  }
  return entries;
}

function toPeer(item: GobItem): PeerSummary {
  checkStructKinds(item.type, "topology peerSummary", PEER_KINDS);
  const v = item.value as GobStruct;
  const shortID = gobField(v, "ShortID", 0n);
  if (shortID > MAX_UINT16) {
    throw new RangeError(`Cannot decode topology peerSummary: ShortID ${shortID} exceeds uint16`);
  }
  return {
    name: nameOf(v, "peerSummary"),
    nickName: gobField(v, "NickName", ""),
    uid: gobField(v, "UID", 0n),
    version: gobField(v, "Version", 0n),
    shortID: Number(shortID),
    hasShortID: gobField(v, "HasShortID", false),
  };
}

function toConnections(item: GobItem): ConnectionSummary[] {
  const type = item.type;
  if (type.kind !== "slice") {
    throw new TypeError(
      `Cannot decode topology: expected []connectionSummary, got ${describeGobType(type)}`,
    );
  }
  checkStructKinds(type.elem, "topology connectionSummary", CONNECTION_KINDS);
  return (item.value as GobStruct[]).map((v) => ({
    name: nameOf(v, "connectionSummary"),
    remoteTCPAddr: gobField(v, "RemoteTCPAddr", ""),
    outbound: gobField(v, "Outbound", false),
    established: gobField(v, "Established", false),
  }));
}

function nameOf(v: GobStruct, what: string) {
  const bytes = gobField(v, "NameByte", new Uint8Array());
  if (bytes.length !== 6) {
    throw new RangeError(
      `Cannot decode topology ${what}: NameByte has ${bytes.length} bytes, expected 6`,
    );
  }
  return peerNameFromBytes(bytes);
}
