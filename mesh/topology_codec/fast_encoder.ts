/**
 * The fast topology encoder: writes the bytes a fresh generic gob encoder
 * would write (type definitions once, then each peer's summary and connection
 * list) by hand into one growing {@link Sink}. Input of an unexpected shape
 * throws {@link UNEXPECTED}, for the generic encoder to judge.
 *
 * @module
 */
import { GobEncoder, GobTypeRegistry } from "../gob/encoder.ts";
import { GobReader, GobWriter } from "../gob/primitives.ts";
import type { GobType } from "../gob/types.ts";
import { CONNECTION_LIST_TYPE, PEER_SUMMARY_TYPE } from "./schema.ts";
import { Sink, UNEXPECTED } from "./sink.ts";
import type { ConnectionSummary, PeerSummary, TopologyEntry } from "../topology_types.ts";

/** What a fresh generic encoder sends before the first peer and the first list. */
interface Preamble {
  peerDefinitions: Uint8Array;
  listDefinitions: Uint8Array;
  /** The zig-zag type ids that start each value message. */
  peerId: Uint8Array;
  listId: Uint8Array;
}

const preamble: Preamble = buildPreamble();

function buildPreamble(): Preamble {
  const registry = new GobTypeRegistry();
  const enc = new GobEncoder({ registry });
  const idBytes = (type: GobType) => {
    const w = new GobWriter(16);
    w.int(registry.idOf(type));
    return w.toBytes();
  };
  return {
    peerDefinitions: withoutLastMessage(enc.encode({}, PEER_SUMMARY_TYPE)),
    listDefinitions: withoutLastMessage(enc.encode([], CONNECTION_LIST_TYPE)),
    peerId: idBytes(PEER_SUMMARY_TYPE),
    listId: idBytes(CONNECTION_LIST_TYPE),
  };
}

function withoutLastMessage(stream: Uint8Array): Uint8Array {
  const r = new GobReader(stream);
  let last = 0;
  while (r.pos < stream.length) {
    last = r.pos;
    const length = r.uintNumber();
    r.pos += length;
  }
  return stream.subarray(0, last);
}

/** Encodes `entries` on the fast path; throws {@link UNEXPECTED} at input of an unexpected shape. */
export function encodeFast(entries: TopologyEntry[]): Uint8Array {
  const out = new Sink(sizeHint(entries));
  for (let i = 0; i < entries.length; i++) {
    const { peer, connections } = entries[i];
    if (i === 0) out.raw(preamble.peerDefinitions);
    writePeer(out, peer);
    if (i === 0) out.raw(preamble.listDefinitions);
    writeConnections(out, connections);
  }
  return out.result();
}

/**
 * An upper bound of the encoded size when strings are ASCII: a peer takes at
 * most 59 bytes plus its nickname (with its empty list), a connection 14 plus
 * its address.
 */
function sizeHint(entries: TopologyEntry[]): number {
  let size = preamble.peerDefinitions.length + preamble.listDefinitions.length;
  for (let i = 0; i < entries.length; i++) {
    const { peer, connections } = entries[i];
    size += 59 + stringHint(peer?.nickName);
    if (!Array.isArray(connections)) continue;
    for (let j = 0; j < connections.length; j++) {
      size += 14 + stringHint(connections[j]?.remoteTCPAddr);
    }
  }
  return size;
}

function stringHint(value: unknown): number {
  return typeof value === "string" ? value.length + 2 : 0;
}

function isNil(value: unknown): boolean {
  return value === null || value === undefined;
}

function isZeroUint(value: unknown): boolean {
  return value === 0n || value === 0 || value === null || value === undefined;
}

/** Writes a peerSummary value message, omitting zero fields as the generic encoder does. */
function writePeer(out: Sink, peer: PeerSummary): void {
  const { nickName, uid, version, shortID, hasShortID } = peer;
  const mark = out.begin(preamble.peerId);
  out.name(peer.name);
  let previous = 0;
  if (nickName !== "" && !isNil(nickName)) {
    if (typeof nickName !== "string") throw UNEXPECTED;
    out.small(1);
    previous = 1;
    out.string(nickName);
  }
  if (!isZeroUint(uid)) {
    out.small(2 - previous);
    previous = 2;
    out.uint(uid);
  }
  if (!isZeroUint(version)) {
    out.small(3 - previous);
    previous = 3;
    out.uint(version);
  }
  if (typeof shortID !== "number" || !Number.isInteger(shortID)) throw UNEXPECTED;
  if (shortID !== 0) {
    out.small(4 - previous);
    previous = 4;
    out.uint(shortID);
  }
  if (hasShortID !== false && !isNil(hasShortID)) {
    if (hasShortID !== true) throw UNEXPECTED;
    out.small(5 - previous);
    out.small(1);
  }
  out.small(0);
  out.end(mark);
}

/** Writes a []connectionSummary value message. */
function writeConnections(out: Sink, connections: ConnectionSummary[]): void {
  if (!Array.isArray(connections)) throw UNEXPECTED;
  const mark = out.begin(preamble.listId);
  out.small(0);
  out.uint(connections.length);
  for (let i = 0; i < connections.length; i++) {
    const { name, remoteTCPAddr, outbound, established } = connections[i];
    out.name(name);
    let previous = 0;
    if (remoteTCPAddr !== "" && !isNil(remoteTCPAddr)) {
      if (typeof remoteTCPAddr !== "string") throw UNEXPECTED;
      out.small(1);
      previous = 1;
      out.string(remoteTCPAddr);
    }
    if (outbound !== false && !isNil(outbound)) {
      if (outbound !== true) throw UNEXPECTED;
      out.small(2 - previous);
      previous = 2;
      out.small(1);
    }
    if (established !== false && !isNil(established)) {
      if (established !== true) throw UNEXPECTED;
      out.small(3 - previous);
      out.small(1);
    }
    out.small(0);
  }
  out.end(mark);
}
