/**
 * The sleeve datagram codec (spec §4.2–§4.3): a 6-byte sender name followed
 * by frames, each `src(6) || dst(6) || len(u16 BE) || Ethernet frame`. When the
 * connection is encrypted the frames travel inside a secretbox, behind a clear
 * `sender(6) || seqNoAndDF(u64 BE)` header. Special (control) frames are
 * Ethernet frames whose 14-byte header is all zero, told apart by length.
 *
 * Pure functions only: decoded frames are views into the input bytes.
 *
 * @module
 */
import { type PeerName, peerNameFromBytes } from "../../lib/peer_name.ts";

/** One frame inside a sleeve datagram. */
export interface SleeveFrame {
  /** Original source peer. */
  src: PeerName;
  /** Destination peer (next hop for broadcasts, final hop for unicast). */
  dst: PeerName;
  /** The full Ethernet frame, header included. */
  frame: Uint8Array;
}

/** Size of a peer name on the wire. */
export const NAME_SIZE = 6;
/** Size of the per-frame header: src, dst, length. */
export const FRAME_HEADER_SIZE = 14;
/** Size of an Ethernet header; a special frame starts with this many zero bytes. */
export const ETHERNET_HEADER_SIZE = 14;
/** Size of the clear header of an encrypted datagram: sender and seqNoAndDF. */
export const ENCRYPTED_HEADER_SIZE = 14;
/** Secretbox authenticator length (XSalsa20-Poly1305). */
export const SECRETBOX_OVERHEAD = 16;
/** Length of the fragmentation test frame (`FragTestSize`). */
export const FRAG_TEST_SIZE = 60001;
/** Length of a heartbeat frame: zero Ethernet header plus a u64 connUID. */
export const HEARTBEAT_SIZE = ETHERNET_HEADER_SIZE + 8;
/** Largest frame the u16 length field can describe. */
export const MAX_FRAME_SIZE = 0xffff;

const DF_BIT = 1n << 63n;
const SEQ_MASK = DF_BIT - 1n;
const U64_MAX = (1n << 64n) - 1n;

/**
 * Number of bytes {@link encodeFrames} writes for `frames`.
 *
 * @example
 * ```ts
 * import { encodedFramesLength } from "./packet.ts";
 * encodedFramesLength([{ src: 1n, dst: 2n, frame: new Uint8Array(22) }]); // 42
 * ```
 */
export function encodedFramesLength(frames: readonly SleeveFrame[]): number {
  let length = NAME_SIZE;
  for (const f of frames) length += FRAME_HEADER_SIZE + f.frame.length;
  return length;
}

/**
 * Encodes an unencrypted sleeve datagram (or the plaintext of an encrypted
 * one): `sender` then each frame. Writes at the start of `out` when given and
 * returns the written bytes.
 *
 * @example
 * ```ts
 * import { encodeFrames, heartbeatFrame } from "./packet.ts";
 * const bytes = encodeFrames(1n, [{ src: 1n, dst: 2n, frame: heartbeatFrame(7n) }]);
 * bytes.length; // 42
 * ```
 */
export function encodeFrames(
  sender: PeerName,
  frames: readonly SleeveFrame[],
  out?: Uint8Array,
): Uint8Array {
  const length = encodedFramesLength(frames);
  const buf = out ?? new Uint8Array(length);
  if (buf.length < length) {
    throw new RangeError(
      `Cannot encode sleeve frames: buffer has ${buf.length} bytes, need ${length}`,
    );
  }
  writeName(sender, buf, 0);
  let pos = NAME_SIZE;
  for (const f of frames) {
    if (f.frame.length > MAX_FRAME_SIZE) {
      throw new RangeError(
        `Cannot encode sleeve frame: ${f.frame.length} bytes, at most ${MAX_FRAME_SIZE}`,
      );
    }
    writeName(f.src, buf, pos);
    writeName(f.dst, buf, pos + 6);
    buf[pos + 12] = f.frame.length >> 8;
    buf[pos + 13] = f.frame.length & 0xff;
    buf.set(f.frame, pos + FRAME_HEADER_SIZE);
    pos += FRAME_HEADER_SIZE + f.frame.length;
  }
  return buf.subarray(0, length);
}

/**
 * Reads the sender name that starts every sleeve datagram.
 *
 * @example
 * ```ts
 * import { decodeDatagramSender } from "./packet.ts";
 * decodeDatagramSender(new Uint8Array([2, 0, 0, 0, 0, 1])); // 0x020000000001n
 * ```
 */
export function decodeDatagramSender(bytes: Uint8Array): PeerName {
  if (bytes.length < NAME_SIZE) {
    throw new RangeError(
      `Cannot decode sleeve datagram sender: ${bytes.length} bytes, need ${NAME_SIZE}`,
    );
  }
  return peerNameFromBytes(bytes, 0);
}

/**
 * Decodes the frames from `offset` to the end of `bytes` (offset 6 for a
 * clear datagram, 0 for decrypted plaintext after its sender). Frame bodies
 * are views into `bytes`.
 *
 * @example
 * ```ts
 * import { decodeFrames, encodeFrames } from "./packet.ts";
 * const bytes = encodeFrames(1n, [{ src: 1n, dst: 2n, frame: new Uint8Array(3) }]);
 * decodeFrames(bytes, 6)[0].dst; // 2n
 * ```
 */
export function decodeFrames(bytes: Uint8Array, offset: number): SleeveFrame[] {
  if (!Number.isInteger(offset) || offset < 0 || offset > bytes.length) {
    throw new RangeError(
      `Cannot decode sleeve frames: offset ${offset} outside ${bytes.length} bytes`,
    );
  }
  const frames: SleeveFrame[] = [];
  let pos = offset;
  while (pos < bytes.length) {
    if (bytes.length - pos < FRAME_HEADER_SIZE) {
      throw new RangeError(
        `Cannot decode sleeve frame header at offset ${pos}: ${
          bytes.length - pos
        } bytes left, need ${FRAME_HEADER_SIZE}`,
      );
    }
    const len = (bytes[pos + 12] << 8) | bytes[pos + 13];
    const start = pos + FRAME_HEADER_SIZE;
    if (start + len > bytes.length) {
      throw new RangeError(
        `Cannot decode sleeve frame at offset ${pos}: length ${len}, only ${
          bytes.length - start
        } bytes left`,
      );
    }
    frames.push({
      src: peerNameFromBytes(bytes, pos),
      dst: peerNameFromBytes(bytes, pos + 6),
      frame: bytes.subarray(start, start + len),
    });
    pos = start + len;
  }
  return frames;
}

/**
 * Encodes the clear header of an encrypted datagram: sender name then
 * `seqNoAndDF` (bit 63 = DF path, low 63 bits = sequence number).
 *
 * @example
 * ```ts
 * import { encodeEncryptedHeader } from "./packet.ts";
 * encodeEncryptedHeader(1n, 1n << 63n)[6]; // 0x80
 * ```
 */
export function encodeEncryptedHeader(
  sender: PeerName,
  seqNoAndDF: bigint,
  out: Uint8Array = new Uint8Array(ENCRYPTED_HEADER_SIZE),
): Uint8Array {
  if (seqNoAndDF < 0n || seqNoAndDF > U64_MAX) {
    throw new RangeError(`Cannot encode seqNoAndDF ${seqNoAndDF}: outside 64 bits`);
  }
  if (out.length < ENCRYPTED_HEADER_SIZE) {
    throw new RangeError(
      `Cannot encode encrypted sleeve header: buffer has ${out.length} bytes, need ${ENCRYPTED_HEADER_SIZE}`,
    );
  }
  writeName(sender, out, 0);
  new DataView(out.buffer, out.byteOffset, out.length).setBigUint64(NAME_SIZE, seqNoAndDF);
  return out.subarray(0, ENCRYPTED_HEADER_SIZE);
}

/** The parts of an encrypted sleeve datagram. */
export interface EncryptedDatagram {
  sender: PeerName;
  /** The raw 64-bit value sent in clear (also bytes 16..23 of the nonce). */
  seqNoAndDF: bigint;
  /** Bit 63: the packet went out on the DF path. */
  df: boolean;
  /** The low 63 bits. */
  seq: bigint;
  /** Secretbox output (tag then ciphertext), a view into the input. */
  ciphertext: Uint8Array;
}

/**
 * Splits an encrypted datagram into its clear header and ciphertext; throws
 * `RangeError` when it is too short to hold even an empty secretbox.
 *
 * @example
 * ```ts
 * import { splitEncrypted } from "./packet.ts";
 * const bytes = new Uint8Array(30);
 * bytes[6] = 0x80;
 * bytes[13] = 2;
 * splitEncrypted(bytes).seq; // 2n
 * ```
 */
export function splitEncrypted(bytes: Uint8Array): EncryptedDatagram {
  const min = ENCRYPTED_HEADER_SIZE + SECRETBOX_OVERHEAD;
  if (bytes.length < min) {
    throw new RangeError(
      `Cannot split encrypted sleeve datagram: ${bytes.length} bytes, need at least ${min}`,
    );
  }
  const seqNoAndDF = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
    .getBigUint64(NAME_SIZE);
  return {
    sender: peerNameFromBytes(bytes, 0),
    seqNoAndDF,
    df: (seqNoAndDF & DF_BIT) !== 0n,
    seq: seqNoAndDF & SEQ_MASK,
    ciphertext: bytes.subarray(ENCRYPTED_HEADER_SIZE),
  };
}

/**
 * A heartbeat frame: 14 zero bytes then `connUID` as u64 BE.
 *
 * @example
 * ```ts
 * import { heartbeatFrame } from "./packet.ts";
 * heartbeatFrame(0x73d988f0c0478e53n).length; // 22
 * ```
 */
export function heartbeatFrame(connUID: bigint): Uint8Array {
  if (connUID < 0n || connUID > U64_MAX) {
    throw new RangeError(`Cannot encode heartbeat connUID ${connUID}: outside 64 bits`);
  }
  const frame = new Uint8Array(HEARTBEAT_SIZE);
  new DataView(frame.buffer).setBigUint64(ETHERNET_HEADER_SIZE, connUID);
  return frame;
}

/**
 * The fragmentation test frame: 60001 zero bytes.
 *
 * @example
 * ```ts
 * import { fragTestFrame } from "./packet.ts";
 * fragTestFrame().length; // 60001
 * ```
 */
export function fragTestFrame(): Uint8Array {
  return new Uint8Array(FRAG_TEST_SIZE);
}

/**
 * An MTU test frame for candidate `mtu`: `mtu + 14` zero bytes. Lengths that
 * would read as a heartbeat or fragmentation test are refused.
 *
 * @example
 * ```ts
 * import { mtuTestFrame } from "./packet.ts";
 * mtuTestFrame(1438).length; // 1452
 * ```
 */
export function mtuTestFrame(mtu: number): Uint8Array {
  const length = mtu + ETHERNET_HEADER_SIZE;
  if (
    !Number.isInteger(mtu) || mtu < 0 || length > MAX_FRAME_SIZE || length === HEARTBEAT_SIZE ||
    length === FRAG_TEST_SIZE
  ) {
    throw new RangeError(`Cannot build MTU test frame for MTU ${mtu}: not a usable candidate`);
  }
  return new Uint8Array(length);
}

/** What a special frame is, by its length. */
export type SpecialFrame =
  | { kind: "heartbeat"; connUID: bigint }
  | { kind: "fragtest" }
  | { kind: "mtutest"; mtu: number };

/**
 * Classifies a frame whose Ethernet header is all zero; returns `null` for
 * ordinary (data) frames. Length 22 is a heartbeat, 60001 a fragmentation
 * test, anything else an MTU test for `length − 14`.
 *
 * @example
 * ```ts
 * import { classifySpecial, heartbeatFrame } from "./packet.ts";
 * classifySpecial(heartbeatFrame(5n)); // { kind: "heartbeat", connUID: 5n }
 * ```
 */
export function classifySpecial(frame: Uint8Array): SpecialFrame | null {
  if (frame.length < ETHERNET_HEADER_SIZE || !isAllZero(frame, 0, ETHERNET_HEADER_SIZE)) {
    return null;
  }
  if (frame.length === HEARTBEAT_SIZE) {
    const view = new DataView(frame.buffer, frame.byteOffset, frame.length);
    return { kind: "heartbeat", connUID: view.getBigUint64(ETHERNET_HEADER_SIZE) };
  }
  if (frame.length === FRAG_TEST_SIZE) return { kind: "fragtest" };
  return { kind: "mtutest", mtu: frame.length - ETHERNET_HEADER_SIZE };
}

/**
 * True when `bytes[from, to)` are all zero (a fragmentation test is answered
 * only when it arrived intact).
 *
 * @example
 * ```ts
 * import { isAllZero } from "./packet.ts";
 * isAllZero(new Uint8Array([0, 0, 1]), 0, 2); // true
 * ```
 */
export function isAllZero(bytes: Uint8Array, from = 0, to = bytes.length): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Writes a 48-bit name big-endian at `pos` (lib's writer only takes ArrayBuffer-backed arrays). */
function writeName(name: PeerName, out: Uint8Array, pos: number): void {
  if (name < 0n || name >= 1n << 48n) {
    throw new RangeError(`Cannot encode peer name ${name}: outside 48 bits`);
  }
  let n = Number(name);
  for (let i = 5; i >= 0; i--) {
    out[pos + i] = n % 256;
    n = Math.floor(n / 256);
  }
}

/**
 * The 48-bit name at `bytes[pos, pos + 6)` as a JS number (exact: below 2^53), for map keys
 * on the hot path where a bigint per frame would cost an allocation.
 *
 * @example
 * ```ts
 * import { peerNameKey } from "./packet.ts";
 * peerNameKey(new Uint8Array([0, 0, 0, 0, 1, 2]), 0); // 258
 * ```
 */
export function peerNameKey(bytes: Uint8Array, pos: number): number {
  return ((bytes[pos] << 8) | bytes[pos + 1]) * 0x100000000 +
    (((bytes[pos + 2] << 24) | (bytes[pos + 3] << 16) | (bytes[pos + 4] << 8) |
      bytes[pos + 5]) >>> 0);
}

/**
 * Peer names read from datagrams, decoded to their bigint once and then looked up by
 * {@link peerNameKey}. Bounded: cleared when it holds `limit` names (peers are far fewer, so
 * only a flood of forged names gets there).
 *
 * @example
 * ```ts
 * import { PeerNameCache } from "./packet.ts";
 * const names = new PeerNameCache();
 * names.read(new Uint8Array([2, 0, 0, 0, 0, 1]), 0); // 0x020000000001n
 * ```
 */
export class PeerNameCache {
  readonly #names = new Map<number, PeerName>();
  readonly #limit: number;

  constructor(limit = 4096) {
    this.#limit = limit;
  }

  /** The name at `bytes[pos, pos + 6)`. */
  read(bytes: Uint8Array, pos: number): PeerName {
    const key = peerNameKey(bytes, pos);
    let name = this.#names.get(key);
    if (name === undefined) {
      if (this.#names.size >= this.#limit) this.#names.clear();
      name = BigInt(key);
      this.#names.set(key, name);
    }
    return name;
  }
}

/**
 * The 6 wire bytes of `name`.
 *
 * @example
 * ```ts
 * import { peerNameBytes } from "./packet.ts";
 * peerNameBytes(0x0a0000000001n)[0]; // 10
 * ```
 */
export function peerNameBytes(name: PeerName): Uint8Array {
  const out = new Uint8Array(NAME_SIZE);
  writeName(name, out, 0);
  return out;
}
