/**
 * Gob primitive encodings (`../../../shared/spec/weave-protocol.md` §9.1):
 * unsigned integers (one byte below 128, else a negated byte count and the
 * big-endian bytes), signed integers (zig-zag into an unsigned), bools,
 * strings and byte slices (length-prefixed).
 *
 * Every `encodeX(value, out, offset)` writes at `offset` and returns the next
 * offset; `xLength(value)` says how many bytes it takes; every
 * `decodeX(bytes, offset, end)` reads at `offset`, never past `end`, and
 * returns the value with the next offset. Integers always decode as bigint.
 * Values below 2^53 are handled as numbers on the way; bigint arithmetic is
 * left for wider values. {@link GobReader} is the allocation-free cursor the
 * decoders use.
 *
 * @module
 */
import { GobReader } from "./reader.ts";

export { GobReader } from "./reader.ts";

/** A decoded value and the offset just past it. */
export interface Decoded<T> {
  value: T;
  offset: number;
}

const MAX_UINT64 = (1n << 64n) - 1n;
const MIN_INT64 = -(1n << 63n);
const MAX_INT64 = (1n << 63n) - 1n;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Zig-zag of a number stays exact below 2^53 when |n| < 2^52. */
const ZIGZAG_SAFE = 2 ** 52;
const ZIGZAG_SAFE_BIG = BigInt(ZIGZAG_SAFE);
const TWO32 = 2 ** 32;
const utf8Encoder = new TextEncoder();
const scratch = new DataView(new ArrayBuffer(8));
const scratchBytes = new Uint8Array(scratch.buffer);

function toBigInt(value: bigint | number, what: string): bigint {
  if (typeof value === "bigint") return value;
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`Cannot encode ${what} ${value}: not a safe integer (use a bigint)`);
  }
  return BigInt(value);
}

/** Converts and range-checks an unsigned 64-bit value. */
export function checkUint(value: bigint | number): bigint {
  const v = toBigInt(value, "uint");
  if (v < 0n || v > MAX_UINT64) {
    throw new RangeError(`Cannot encode uint ${v}: outside 0..2^64-1`);
  }
  return v;
}

/** Converts and range-checks a signed 64-bit value. */
export function checkInt(value: bigint | number): bigint {
  const v = toBigInt(value, "int");
  if (v < MIN_INT64 || v > MAX_INT64) {
    throw new RangeError(`Cannot encode int ${v}: outside -2^63..2^63-1`);
  }
  return v;
}

/**
 * A checked unsigned value as the writers take it: a number below 2^53 or a
 * bigint up to 2^64-1. Throws as {@link checkUint}.
 */
export function normalizeUint(value: bigint | number): number | bigint {
  if (typeof value === "number") {
    if (value >= 0 && value <= MAX_SAFE && Number.isInteger(value)) return value;
  } else if (value >= 0n && value <= MAX_UINT64) {
    return value;
  }
  return checkUint(value);
}

/** The zig-zag form of a checked signed value, normalized as {@link normalizeUint}. */
export function normalizeInt(value: bigint | number): number | bigint {
  if (typeof value === "number") {
    if (value > -ZIGZAG_SAFE && value < ZIGZAG_SAFE && Number.isInteger(value)) {
      return value >= 0 ? value * 2 : -value * 2 - 1;
    }
  } else if (value > -ZIGZAG_SAFE_BIG && value < ZIGZAG_SAFE_BIG) {
    const n = Number(value);
    return n >= 0 ? n * 2 : -n * 2 - 1;
  }
  return normalizeUint(zigzag(checkInt(value)));
}

/** Value bytes of a number below 2^53 (at least 128). */
function numberByteCount(u: number): number {
  if (u < 0x100) return 1;
  if (u < 0x10000) return 2;
  if (u < 0x1000000) return 3;
  if (u < TWO32) return 4;
  if (u < 2 ** 40) return 5;
  return u < 2 ** 48 ? 6 : 7;
}

/** Encoded size of a normalized value. */
function normalizedLength(v: number | bigint): number {
  if (typeof v === "number") return v < 128 ? 1 : 1 + numberByteCount(v);
  const n = bigByteCount(v);
  return n === 1 && scratchBytes[7] < 128 ? 1 : 1 + n;
}

/** Puts a bigint (0..2^64-1) in the scratch bytes; returns how many are significant (0..8). */
function bigByteCount(v: bigint): number {
  scratch.setBigUint64(0, v);
  let k = 0;
  while (k < 8 && scratchBytes[k] === 0) k++;
  return 8 - k;
}

/** Writes a normalized value at `offset`, checking room first; returns the next offset. */
export function writeNormalized(v: number | bigint, out: Uint8Array, offset: number): number {
  if (typeof v === "number") {
    if (v < 128) {
      checkRoom(out, offset, 1);
      out[offset] = v;
      return offset + 1;
    }
    const n = numberByteCount(v);
    checkRoom(out, offset, 1 + n);
    out[offset] = 256 - n;
    const last = offset + n;
    let u: number = v;
    if (u < TWO32) {
      for (let i = last; i > offset; i--) {
        out[i] = u & 0xff;
        u >>>= 8;
      }
    } else {
      for (let i = last; i > offset; i--) {
        const low = u % 256;
        out[i] = low;
        u = (u - low) / 256;
      }
    }
    return last + 1;
  }
  const n = bigByteCount(v);
  if (n <= 1 && scratchBytes[7] < 128) {
    checkRoom(out, offset, 1);
    out[offset] = scratchBytes[7];
    return offset + 1;
  }
  checkRoom(out, offset, 1 + n);
  out[offset] = 256 - n;
  for (let i = 8 - n, at = offset + 1; i < 8; i++, at++) out[at] = scratchBytes[i];
  return offset + 1 + n;
}

/** Number of bytes the gob encoding of an unsigned integer takes. */
export function uintLength(value: bigint | number): number {
  return normalizedLength(normalizeUint(value));
}

function checkRoom(out: Uint8Array, offset: number, need: number): void {
  if (offset < 0 || offset + need > out.length) {
    throw new RangeError(
      `Cannot encode at offset ${offset}: need ${need} bytes, buffer has ${out.length}`,
    );
  }
}

/**
 * Writes an unsigned integer; returns the next offset.
 *
 * @example
 * ```ts
 * import { encodeUint } from "./primitives.ts";
 * const out = new Uint8Array(3);
 * encodeUint(12345, out, 0); // 3; out = fe 30 39
 * ```
 */
export function encodeUint(value: bigint | number, out: Uint8Array, offset: number): number {
  return writeNormalized(normalizeUint(value), out, offset);
}

/**
 * Reads an unsigned integer (at most 8 value bytes).
 *
 * @example
 * ```ts
 * import { decodeUint } from "./primitives.ts";
 * decodeUint(new Uint8Array([0xfe, 0x30, 0x39]), 0); // { value: 12345n, offset: 3 }
 * ```
 */
export function decodeUint(bytes: Uint8Array, offset: number, end = bytes.length): Decoded<bigint> {
  const r = new GobReader(bytes, offset, end);
  const value = r.uint();
  return { value, offset: r.pos };
}

function zigzag(v: bigint): bigint {
  return v >= 0n ? v << 1n : ((-v - 1n) << 1n) | 1n;
}

/** Number of bytes the gob encoding of a signed integer takes. */
export function intLength(value: bigint | number): number {
  return normalizedLength(normalizeInt(value));
}

/**
 * Writes a signed integer; returns the next offset.
 *
 * @example
 * ```ts
 * import { encodeInt } from "./primitives.ts";
 * const out = new Uint8Array(2);
 * encodeInt(-65, out, 0); // 2; out = ff 81
 * ```
 */
export function encodeInt(value: bigint | number, out: Uint8Array, offset: number): number {
  return writeNormalized(normalizeInt(value), out, offset);
}

/** Reads a signed integer. */
export function decodeInt(bytes: Uint8Array, offset: number, end = bytes.length): Decoded<bigint> {
  const r = new GobReader(bytes, offset, end);
  const value = r.int();
  return { value, offset: r.pos };
}

/** Writes a bool (the uint 0 or 1); returns the next offset. */
export function encodeBool(value: boolean, out: Uint8Array, offset: number): number {
  return writeNormalized(value ? 1 : 0, out, offset);
}

/** Reads a bool; any value other than 0 or 1 is rejected. */
export function decodeBool(
  bytes: Uint8Array,
  offset: number,
  end = bytes.length,
): Decoded<boolean> {
  const r = new GobReader(bytes, offset, end);
  const value = r.bool();
  return { value, offset: r.pos };
}

/**
 * Reads a length or count and checks that it is not larger than the bytes
 * left before `end` (each counted item takes at least one byte), so callers
 * never allocate for lengths the input cannot hold.
 */
export function decodeCount(
  bytes: Uint8Array,
  offset: number,
  end = bytes.length,
  what = "count",
): Decoded<number> {
  const r = new GobReader(bytes, offset, end);
  const value = r.count(what);
  return { value, offset: r.pos };
}

/** Number of bytes the gob encoding of a byte slice takes. */
export function bytesLength(value: Uint8Array): number {
  return uintLength(value.length) + value.length;
}

/** Writes a byte slice (length, then the bytes); returns the next offset. */
export function encodeBytes(value: Uint8Array, out: Uint8Array, offset: number): number {
  checkRoom(out, offset, bytesLength(value));
  const next = writeNormalized(value.length, out, offset);
  out.set(value, next);
  return next + value.length;
}

/** Reads a byte slice; the result is a copy. */
export function decodeBytes(
  bytes: Uint8Array,
  offset: number,
  end = bytes.length,
): Decoded<Uint8Array> {
  const r = new GobReader(bytes, offset, end);
  const value = r.byteSlice();
  return { value, offset: r.pos };
}

/** Number of bytes the gob encoding of a string (as UTF-8) takes. */
export function stringLength(value: string): number {
  return bytesLength(utf8Encoder.encode(value));
}

/** Writes a string as UTF-8 bytes; returns the next offset. */
export function encodeString(value: string, out: Uint8Array, offset: number): number {
  return encodeBytes(utf8Encoder.encode(value), out, offset);
}

/** Reads a string; invalid UTF-8 is replaced, as Go strings carry raw bytes. */
export function decodeString(
  bytes: Uint8Array,
  offset: number,
  end = bytes.length,
): Decoded<string> {
  const r = new GobReader(bytes, offset, end);
  const value = r.string();
  return { value, offset: r.pos };
}

/**
 * Writes `value` as a gob string (its UTF-8 length, then the bytes) at `at`; returns the end.
 * The caller makes room for the worst case, `9 + 3 * value.length` bytes. ASCII below 128
 * characters is copied inline; other text goes through `encodeInto`.
 */
export function writeString(value: string, buf: Uint8Array, at: number): number {
  const n = value.length;
  if (n < 128) {
    let i = 0;
    for (; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c > 127) break;
      buf[at + 1 + i] = c;
    }
    if (i === n) {
      buf[at] = n;
      return at + 1 + n;
    }
  }
  // UTF-8 takes at most 3 bytes per UTF-16 unit: leave room for that
  // length's prefix, then close the gap if the real prefix is shorter.
  const room = normalizedLength(3 * n);
  const { written } = utf8Encoder.encodeInto(value, buf.subarray(at + room));
  const prefix = normalizedLength(written);
  if (prefix !== room) buf.copyWithin(at + prefix, at + room, at + room + written);
  writeNormalized(written, buf, at);
  return at + prefix + written;
}

/**
 * A growable output buffer with the gob primitive writers, for building
 * messages whose length is known only at the end.
 *
 * @example
 * ```ts
 * import { GobWriter } from "./primitives.ts";
 * const w = new GobWriter();
 * w.uint(12345);
 * w.string("topology");
 * w.toBytes(); // fe 30 39 08 74 6f 70 6f 6c 6f 67 79
 * ```
 */
export class GobWriter {
  #buf: Uint8Array;
  #len = 0;

  /** `capacity`: initial buffer size in bytes (it grows as needed). */
  constructor(capacity = 64) {
    this.#buf = new Uint8Array(Math.max(16, capacity));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#len;
  }

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  /** Appends an unsigned integer. */
  uint(value: bigint | number): void {
    if (typeof value === "number" && value >= 0 && value < 128 && (value | 0) === value) {
      this.#reserve(1);
      this.#buf[this.#len++] = value;
      return;
    }
    const v = normalizeUint(value);
    this.#reserve(9);
    this.#len = writeNormalized(v, this.#buf, this.#len);
  }

  /** Appends a signed integer. */
  int(value: bigint | number): void {
    const v = normalizeInt(value);
    this.#reserve(9);
    this.#len = writeNormalized(v, this.#buf, this.#len);
  }

  /** Appends a bool. */
  bool(value: boolean): void {
    this.#reserve(1);
    this.#buf[this.#len++] = value ? 1 : 0;
  }

  /** Appends a byte slice with its length. */
  bytes(value: Uint8Array): void {
    this.#reserve(9 + value.length);
    const at = writeNormalized(value.length, this.#buf, this.#len);
    this.#buf.set(value, at);
    this.#len = at + value.length;
  }

  /** Appends a string as UTF-8 with its length. */
  string(value: string): void {
    this.#reserve(9 + 3 * value.length);
    this.#len = writeString(value, this.#buf, this.#len);
  }

  /** Appends bytes as they are. */
  raw(value: Uint8Array): void {
    this.#reserve(value.length);
    this.#buf.set(value, this.#len);
    this.#len += value.length;
  }

  /**
   * Starts a length-prefixed message: returns a mark for {@link endMessage}.
   * Everything appended in between is the message body.
   */
  beginMessage(): number {
    this.#reserve(1);
    return this.#len++;
  }

  /** Writes the body length at `mark` (from {@link beginMessage}), moving the body if needed. */
  endMessage(mark: number): void {
    const body = this.#len - mark - 1;
    const prefix = normalizedLength(body);
    if (prefix > 1) {
      this.#reserve(prefix - 1);
      this.#buf.copyWithin(mark + prefix, mark + 1, this.#len);
      this.#len += prefix - 1;
    }
    writeNormalized(body, this.#buf, mark);
  }

  /** Bytes the buffer holds before it must grow. */
  get capacity(): number {
    return this.#buf.length;
  }

  /** A view of everything written (valid until the next write). */
  view(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }

  /** A copy of everything written. */
  toBytes(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}
