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
 *
 * @module
 */

/** A decoded value and the offset just past it. */
export interface Decoded<T> {
  value: T;
  offset: number;
}

const MAX_UINT64 = (1n << 64n) - 1n;
const MIN_INT64 = -(1n << 63n);
const MAX_INT64 = (1n << 63n) - 1n;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

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

function byteCount(v: bigint): number {
  let n = 0;
  for (let rest = v; rest > 0n; rest >>= 8n) n++;
  return n;
}

/** Number of bytes the gob encoding of an unsigned integer takes. */
export function uintLength(value: bigint | number): number {
  const v = checkUint(value);
  return v < 128n ? 1 : 1 + byteCount(v);
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
  const v = checkUint(value);
  if (v < 128n) {
    checkRoom(out, offset, 1);
    out[offset] = Number(v);
    return offset + 1;
  }
  const n = byteCount(v);
  checkRoom(out, offset, 1 + n);
  out[offset] = 256 - n;
  let rest = v;
  for (let i = n; i >= 1; i--) {
    out[offset + i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return offset + 1 + n;
}

function truncated(what: string, offset: number, need: number, end: number): RangeError {
  return new RangeError(
    `Cannot decode gob ${what} at offset ${offset}: truncated (need ${need} bytes, ${
      Math.max(0, end - offset)
    } left)`,
  );
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
  if (offset >= end) throw truncated("uint", offset, 1, end);
  const first = bytes[offset];
  if (first < 128) return { value: BigInt(first), offset: offset + 1 };
  const n = 256 - first;
  if (n > 8) {
    throw new SyntaxError(`Cannot decode gob uint at offset ${offset}: byte count ${n} exceeds 8`);
  }
  if (offset + 1 + n > end) throw truncated("uint", offset, 1 + n, end);
  let v = 0n;
  for (let i = 1; i <= n; i++) v = (v << 8n) | BigInt(bytes[offset + i]);
  return { value: v, offset: offset + 1 + n };
}

function zigzag(v: bigint): bigint {
  return v >= 0n ? v << 1n : ((-v - 1n) << 1n) | 1n;
}

/** Number of bytes the gob encoding of a signed integer takes. */
export function intLength(value: bigint | number): number {
  return uintLength(zigzag(checkInt(value)));
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
  return encodeUint(zigzag(checkInt(value)), out, offset);
}

/** Reads a signed integer. */
export function decodeInt(bytes: Uint8Array, offset: number, end = bytes.length): Decoded<bigint> {
  const u = decodeUint(bytes, offset, end);
  const value = (u.value & 1n) === 1n ? -(u.value >> 1n) - 1n : u.value >> 1n;
  return { value, offset: u.offset };
}

/** Writes a bool (the uint 0 or 1); returns the next offset. */
export function encodeBool(value: boolean, out: Uint8Array, offset: number): number {
  return encodeUint(value ? 1 : 0, out, offset);
}

/** Reads a bool; any value other than 0 or 1 is rejected. */
export function decodeBool(
  bytes: Uint8Array,
  offset: number,
  end = bytes.length,
): Decoded<boolean> {
  const u = decodeUint(bytes, offset, end);
  if (u.value > 1n) {
    throw new SyntaxError(`Cannot decode gob bool at offset ${offset}: value ${u.value}`);
  }
  return { value: u.value === 1n, offset: u.offset };
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
  const u = decodeUint(bytes, offset, end);
  const left = end - u.offset;
  if (u.value > BigInt(left)) {
    throw new RangeError(
      `Cannot decode gob ${what} at offset ${offset}: ${u.value} exceeds the ${left} bytes left`,
    );
  }
  return { value: Number(u.value), offset: u.offset };
}

/** Number of bytes the gob encoding of a byte slice takes. */
export function bytesLength(value: Uint8Array): number {
  return uintLength(value.length) + value.length;
}

/** Writes a byte slice (length, then the bytes); returns the next offset. */
export function encodeBytes(value: Uint8Array, out: Uint8Array, offset: number): number {
  checkRoom(out, offset, bytesLength(value));
  const next = encodeUint(value.length, out, offset);
  out.set(value, next);
  return next + value.length;
}

/** Reads a byte slice; the result is a copy. */
export function decodeBytes(
  bytes: Uint8Array,
  offset: number,
  end = bytes.length,
): Decoded<Uint8Array> {
  const n = decodeCount(bytes, offset, end, "byte length");
  return { value: bytes.slice(n.offset, n.offset + n.value), offset: n.offset + n.value };
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
  const n = decodeCount(bytes, offset, end, "string length");
  const value = utf8Decoder.decode(bytes.subarray(n.offset, n.offset + n.value));
  return { value, offset: n.offset + n.value };
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
  #buf = new Uint8Array(64);
  #len = 0;

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
    this.#reserve(9);
    this.#len = encodeUint(value, this.#buf, this.#len);
  }

  /** Appends a signed integer. */
  int(value: bigint | number): void {
    this.#reserve(9);
    this.#len = encodeInt(value, this.#buf, this.#len);
  }

  /** Appends a bool. */
  bool(value: boolean): void {
    this.uint(value ? 1 : 0);
  }

  /** Appends a byte slice with its length. */
  bytes(value: Uint8Array): void {
    this.uint(value.length);
    this.raw(value);
  }

  /** Appends a string as UTF-8 with its length. */
  string(value: string): void {
    this.bytes(utf8Encoder.encode(value));
  }

  /** Appends bytes as they are. */
  raw(value: Uint8Array): void {
    this.#reserve(value.length);
    this.#buf.set(value, this.#len);
    this.#len += value.length;
  }

  /** A copy of everything written. */
  toBytes(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}
