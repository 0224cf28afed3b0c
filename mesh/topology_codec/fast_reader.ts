/**
 * The fast topology decoder: reads value messages of peerSummary and
 * []connectionSummary types the generic decoder has already seen in the
 * stream straight into summaries, and declines (`undefined`) anything else,
 * malformed input included, so the generic decoder handles it and produces
 * every error.
 *
 * @module
 */
import type { GobItem } from "../gob/decoder.ts";
import { GobReader } from "../gob/primitives.ts";
import type { GobStructType, GobType } from "../gob/types.ts";
import { CONNECTION_KINDS, PEER_KINDS } from "./schema.ts";
import { UNEXPECTED } from "./sink.ts";
import type { ConnectionSummary, PeerSummary } from "../topology_types.ts";

/** A decoded message: converted on the fast path, or a generic item to convert. */
export type Decoded<T> = { fast: T; offset: number } | { item: GobItem; offset: number };

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

/** The fast decoder's codes for a peerSummary type as defined on the wire, if it can read it. */
export function peerCodes(type: GobType): number[] | undefined {
  return fieldCodes(type, PEER_CODES, PEER_KINDS);
}

/** The fast decoder's codes for a []connectionSummary type, if it can read it. */
export function listCodes(type: GobType): number[] | undefined {
  return type.kind === "slice"
    ? fieldCodes(type.elem, CONNECTION_CODES, CONNECTION_KINDS)
    : undefined;
}

/**
 * Decodes value messages of type ids the generic decoder has already seen in
 * this stream (and whose types it recognises); says `undefined` to anything
 * else, including malformed input, for the generic decoder to handle.
 */
export class FastTopologyReader {
  #r: GobReader;
  #peerTypes = new Map<number, number[]>();
  #listTypes = new Map<number, number[]>();

  constructor(bytes: Uint8Array) {
    this.#r = new GobReader(bytes);
  }

  /**
   * Takes type id `id` as a peerSummary (`"peer"`) or []connectionSummary (`"list"`) whose
   * wire fields have `codes` ({@link peerCodes}, {@link listCodes}), without a definition read
   * by the generic decoder (the caller recognised the definition's bytes).
   */
  adopt(id: number, role: "peer" | "list", codes: number[]): void {
    (role === "peer" ? this.#peerTypes : this.#listTypes).set(id, codes);
  }

  /** Records the types of a pair the generic decoder read (and converted without error). */
  learn(summary: Decoded<unknown>, list: Decoded<unknown>): void {
    if ("item" in summary && !this.#peerTypes.has(summary.item.typeId)) {
      const codes = peerCodes(summary.item.type);
      if (codes) this.#peerTypes.set(summary.item.typeId, codes);
    }
    if ("item" in list && !this.#listTypes.has(list.item.typeId)) {
      const codes = listCodes(list.item.type);
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
