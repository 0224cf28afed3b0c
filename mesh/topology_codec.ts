/**
 * The `topology` gossip payload (`../shared/spec/weave-protocol.md` §2.4):
 * one gob stream holding, for each peer, a `peerSummary` struct and then its
 * `[]connectionSummary`. Go writes it with a single encoder, so the type
 * definitions appear once, the slice's before its element struct's.
 *
 * The mesh sends whole topologies often, so both directions have a fast path
 * beside the generic gob codec. The encoder writes the generic encoder's
 * bytes by hand into one growing buffer. The decoder lets the generic decoder
 * take in the type definitions (and the first value of each type), then
 * decodes later values of recognised types straight into entries; any message
 * it does not expect goes back to the generic decoder, which also produces
 * every error, so errors are those of the generic path.
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
import { GobEncoder, GobTypeRegistry } from "./gob/encoder.ts";
import { GobReader, GobWriter, normalizeUint, writeNormalized } from "./gob/primitives.ts";
import {
  B,
  BYTES,
  describeGobType,
  gobSlice,
  gobStruct,
  type GobStructType,
  type GobType,
  S,
  U,
} from "./gob/types.ts";
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
  try {
    return encodeFast(entries);
  } catch {
    // Input of unexpected shape: the generic path encodes it or says what is wrong.
    return encodeTopologyGeneric(entries);
  }
}

/**
 * {@link encodeTopology} through the generic gob encoder (same bytes, slower);
 * kept as the reference for the fast path.
 */
export function encodeTopologyGeneric(entries: TopologyEntry[]): Uint8Array {
  const enc = new GobEncoder();
  const out = new GobWriter(1024);
  for (const { peer, connections } of entries) {
    enc.encodeInto(out, peerValue(peer), PEER_SUMMARY_TYPE);
    enc.encodeInto(out, connections.map(connectionValue), CONNECTION_LIST_TYPE);
  }
  return out.toBytes();
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

/** What a fresh generic encoder sends before the first peer and the first list. */
interface Preamble {
  peerDefinitions: Uint8Array;
  listDefinitions: Uint8Array;
  /** The zig-zag type ids that start each value message. */
  peerId: Uint8Array;
  listId: Uint8Array;
}

const preamble: Preamble = buildPreamble();
const utf8Encoder = new TextEncoder();

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

/** Thrown by the fast encoder at input the generic encoder must judge. */
const UNEXPECTED = new Error("Cannot encode topology on the fast path: unexpected input");
const nameView = new DataView(new ArrayBuffer(8));
const nameBytes = new Uint8Array(nameView.buffer);

/** The fast encoder's output: a buffer that grows, and the write position. */
class Sink {
  buf: Uint8Array;
  pos = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Appends a uint field value (number or bigint; anything else is unexpected). */
  uint(value: unknown): void {
    if (typeof value !== "bigint" && typeof value !== "number") throw UNEXPECTED;
    this.ensure(9);
    this.pos = writeNormalized(normalizeUint(value), this.buf, this.pos);
  }

  /** Appends a string with its length: ASCII below 128 characters inline, else encodeInto. */
  string(value: string): void {
    const n = value.length;
    this.ensure(9 + 3 * n);
    const buf = this.buf;
    const at = this.pos;
    if (n < 128) {
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c > 127) break;
        buf[at + 1 + i] = c;
      }
      if (i === n) {
        buf[at] = n;
        this.pos = at + 1 + n;
        return;
      }
    }
    const room = n < 43 ? 1 : 4; // prefix of 3n: one byte below 128, at most 4 bytes
    const { written } = utf8Encoder.encodeInto(value, buf.subarray(at + room));
    const start = writeNormalized(written, buf, at);
    if (start !== at + room) buf.copyWithin(start, at + room, at + room + written);
    this.pos = start + written;
  }

  /** Appends NameByte as field 0 (always sent: 6 bytes, the name's low 48 bits as peerNameToBytes). */
  name(name: bigint): void {
    if (typeof name !== "bigint") throw UNEXPECTED;
    nameView.setBigUint64(0, name); // wraps modulo 2^64, keeping the low bits
    this.ensure(8);
    const buf = this.buf;
    let at = this.pos;
    buf[at++] = 1;
    buf[at++] = 6;
    for (let i = 2; i < 8; i++) buf[at++] = nameBytes[i];
    this.pos = at;
  }

  /** Appends a field delta or any value below 128. */
  small(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value;
  }

  /** Starts a length-prefixed message; returns the mark for {@link end}. */
  begin(id: Uint8Array): number {
    this.ensure(1);
    const mark = this.pos++;
    this.raw(id);
    return mark;
  }

  /** Writes the length of the message begun at `mark`, moving its body if the length needs more than a byte. */
  end(mark: number): void {
    const body = this.pos - mark - 1;
    if (body < 128) {
      this.buf[mark] = body;
      return;
    }
    const prefix = body < 0x100 ? 2 : body < 0x10000 ? 3 : body < 0x1000000 ? 4 : 5;
    this.ensure(prefix - 1);
    this.buf.copyWithin(mark + prefix, mark + 1, this.pos);
    this.pos += prefix - 1;
    writeNormalized(body, this.buf, mark);
  }

  /** The bytes written: the buffer itself unless much of it is unused. */
  result(): Uint8Array {
    return this.pos * 4 >= this.buf.length * 3
      ? this.buf.subarray(0, this.pos)
      : this.buf.slice(0, this.pos);
  }
}

function encodeFast(entries: TopologyEntry[]): Uint8Array {
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
  return decodePairs(bytes, new FastTopologyReader(bytes));
}

/**
 * {@link decodeTopology} through the generic gob decoder alone (same result,
 * slower); kept as the reference for the fast path.
 */
export function decodeTopologyGeneric(bytes: Uint8Array): TopologyEntry[] {
  return decodePairs(bytes, undefined);
}

/** A decoded message: converted on the fast path, or a generic item to convert. */
type Decoded<T> = { fast: T; offset: number } | { item: GobItem; offset: number };

function decodePairs(bytes: Uint8Array, fast: FastTopologyReader | undefined): TopologyEntry[] {
  const decoder = new GobStreamDecoder();
  const entries: TopologyEntry[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const summary: Decoded<PeerSummary> = fast?.peer(offset) ?? decoder.next(bytes, offset);
    if (summary.offset >= bytes.length) {
      throw new SyntaxError(
        `Cannot decode topology: peer ${entries.length} has no connection list`,
      );
    }
    const list: Decoded<ConnectionSummary[]> = fast?.connections(summary.offset) ??
      decoder.next(bytes, summary.offset);
    // Convert only now, as the generic path always did: a malformed list
    // message is reported before a bad peer value.
    const peer = "fast" in summary ? summary.fast : toPeer(summary.item);
    const connections = "fast" in list ? list.fast : toConnections(list.item);
    fast?.learn(summary, list);
    entries.push({ peer, connections });
    offset = list.offset;
  }
  return entries;
}

// Field codes of the fast decoder: what a wire field of a recognised struct fills in.
const NAME = 0;
const NICK_NAME = 1;
const UID = 2;
const VERSION = 3;
const SHORT_ID = 4;
const HAS_SHORT_ID = 5;
const REMOTE_ADDR = 1;
const OUTBOUND = 2;
const ESTABLISHED = 3;

const PEER_CODES: Record<string, number> = {
  NameByte: NAME,
  NickName: NICK_NAME,
  UID,
  Version: VERSION,
  ShortID: SHORT_ID,
  HasShortID: HAS_SHORT_ID,
};
const CONNECTION_CODES: Record<string, number> = {
  NameByte: NAME,
  RemoteTCPAddr: REMOTE_ADDR,
  Outbound: OUTBOUND,
  Established: ESTABLISHED,
};

/**
 * The codes of a struct's wire fields in order, if every field is one the
 * fast decoder knows, with the expected kind; otherwise undefined.
 */
function fieldCodes(
  type: GobType,
  codes: Record<string, number>,
  kinds: Record<string, GobType["kind"]>,
): number[] | undefined {
  if (type.kind !== "struct") return undefined;
  const out: number[] = [];
  for (const [name, fieldType] of (type as GobStructType).fields) {
    if (!Object.hasOwn(codes, name) || kinds[name] !== fieldType.kind) return undefined;
    out.push(codes[name]);
  }
  return out;
}

/**
 * Decodes value messages of type ids the generic decoder has already seen in
 * this stream (and whose types it recognises); says `undefined` to anything
 * else, including malformed input, for the generic decoder to handle.
 */
class FastTopologyReader {
  #r: GobReader;
  #peerTypes = new Map<number, number[]>();
  #listTypes = new Map<number, number[]>();

  constructor(bytes: Uint8Array) {
    this.#r = new GobReader(bytes);
  }

  /** Records the types of a pair the generic decoder read (and converted without error). */
  learn(summary: Decoded<unknown>, list: Decoded<unknown>): void {
    if ("item" in summary && !this.#peerTypes.has(summary.item.typeId)) {
      const codes = fieldCodes(summary.item.type, PEER_CODES, PEER_KINDS);
      if (codes) this.#peerTypes.set(summary.item.typeId, codes);
    }
    if ("item" in list && !this.#listTypes.has(list.item.typeId)) {
      const type = list.item.type;
      const codes = type.kind === "slice"
        ? fieldCodes(type.elem, CONNECTION_CODES, CONNECTION_KINDS)
        : undefined;
      if (codes) this.#listTypes.set(list.item.typeId, codes);
    }
  }

  peer(offset: number): Decoded<PeerSummary> | undefined {
    try {
      const codes = this.#open(offset, this.#peerTypes);
      if (codes === undefined) return undefined;
      const peer = this.#peer(codes);
      return this.#close(peer);
    } catch {
      return undefined;
    }
  }

  connections(offset: number): Decoded<ConnectionSummary[]> | undefined {
    try {
      const codes = this.#open(offset, this.#listTypes);
      if (codes === undefined) return undefined;
      const r = this.#r;
      if (r.uintNumber() !== 0) return undefined;
      const count = r.count("slice count");
      const list: ConnectionSummary[] = [];
      for (let i = 0; i < count; i++) list.push(this.#connection(codes));
      return this.#close(list);
    } catch {
      return undefined;
    }
  }

  /** Frames the message at `offset` and reads its type id; the codes if the id is known. */
  #open(offset: number, known: Map<number, number[]>): number[] | undefined {
    const r = this.#r;
    r.pos = offset;
    r.end = r.bytes.length;
    const length = r.uintNumber();
    if (length === 0 || length > r.end - r.pos) return undefined;
    r.end = r.pos + length;
    const id = r.uintNumber();
    // Odd: a negative id, so a type definition.
    return id % 2 === 0 ? known.get(id / 2) : undefined;
  }

  #close<T>(fast: T): Decoded<T> | undefined {
    const r = this.#r;
    return r.pos === r.end ? { fast, offset: r.end } : undefined;
  }

  /** Reads a NameByte field: its length must be 6. */
  #name(): bigint {
    const r = this.#r;
    if (r.count("byte length") !== 6) throw UNEXPECTED;
    const b = r.bytes;
    const at = r.pos;
    r.pos = at + 6;
    const low = ((b[at + 2] << 24) | (b[at + 3] << 16) | (b[at + 4] << 8) | b[at + 5]) >>> 0;
    return BigInt((b[at] * 256 + b[at + 1]) * 2 ** 32 + low);
  }

  /** Reads the next field's wire index (-1 at the struct's end). */
  #field(index: number, count: number): number {
    const delta = this.#r.uintNumber();
    if (delta === 0) return -1;
    if (delta >= count - index) throw UNEXPECTED;
    return index + delta;
  }

  #peer(codes: number[]): PeerSummary {
    const r = this.#r;
    let name: bigint | undefined;
    let nickName = "";
    let uid = 0n;
    let version = 0n;
    let shortID = 0;
    let hasShortID = false;
    for (let i = this.#field(-1, codes.length); i >= 0; i = this.#field(i, codes.length)) {
      switch (codes[i]) {
        case NAME:
          name = this.#name();
          break;
        case NICK_NAME:
          nickName = r.string();
          break;
        case UID:
          uid = r.uint();
          break;
        case VERSION:
          version = r.uint();
          break;
        case SHORT_ID:
          shortID = r.uintNumber();
          if (shortID > 0xffff) throw UNEXPECTED;
          break;
        default:
          hasShortID = r.bool();
      }
    }
    if (name === undefined) throw UNEXPECTED;
    return { name, nickName, uid, version, shortID, hasShortID };
  }

  #connection(codes: number[]): ConnectionSummary {
    const r = this.#r;
    let name: bigint | undefined;
    let remoteTCPAddr = "";
    let outbound = false;
    let established = false;
    for (let i = this.#field(-1, codes.length); i >= 0; i = this.#field(i, codes.length)) {
      switch (codes[i]) {
        case NAME:
          name = this.#name();
          break;
        case REMOTE_ADDR:
          remoteTCPAddr = r.string();
          break;
        case OUTBOUND:
          outbound = r.bool();
          break;
        default:
          established = r.bool();
      }
    }
    if (name === undefined) throw UNEXPECTED;
    return { name, remoteTCPAddr, outbound, established };
  }
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
