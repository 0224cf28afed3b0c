/**
 * A read cursor over gob bytes: the primitive decoders of `primitives.ts`
 * without a result object per call. Integers that fit in 53 bits are read
 * with number arithmetic and only the final value becomes a bigint; wider
 * ones go through a DataView. Errors and their wording are those of the
 * `decodeX` functions.
 *
 * @module
 */

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const SMALL = Array.from({ length: 256 }, (_, i) => BigInt(i));
const utf8Decoder = new TextDecoder();
const scratch = new DataView(new ArrayBuffer(8));
const scratchBytes = new Uint8Array(scratch.buffer);

/** Reports that fewer than `need` bytes are left at `offset`. */
function truncated(what: string, offset: number, need: number, end: number): RangeError {
  return new RangeError(
    `Cannot decode gob ${what} at offset ${offset}: truncated (need ${need} bytes, ${
      Math.max(0, end - offset)
    } left)`,
  );
}

/**
 * Reads gob primitives from `bytes` between `pos` and `end`, advancing `pos`.
 *
 * @example
 * ```ts
 * import { GobReader } from "./reader.ts";
 * const r = new GobReader(new Uint8Array([0xfe, 0x30, 0x39, 0x02, 0x68, 0x31]));
 * r.uint(); // 12345n
 * r.string(); // "h1"
 * ```
 */
export class GobReader {
  /** The input. */
  readonly bytes: Uint8Array;
  /** The next byte to read. */
  pos: number;
  /** Reads never go at or past this offset. */
  end: number;

  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  /**
   * Reads an unsigned integer as a number: exact below 2^53, rounded above
   * (good enough for comparing counts, deltas and ids against limits).
   */
  uintNumber(): number {
    const b = this.bytes;
    const at = this.pos;
    if (at >= this.end) throw truncated("uint", at, 1, this.end);
    const first = b[at];
    if (first < 128) {
      this.pos = at + 1;
      return first;
    }
    const n = 256 - first;
    if (n > 8) {
      throw new SyntaxError(`Cannot decode gob uint at offset ${at}: byte count ${n} exceeds 8`);
    }
    const next = at + 1 + n;
    if (next > this.end) throw truncated("uint", at, 1 + n, this.end);
    let v = 0;
    for (let i = at + 1; i < next; i++) v = v * 256 + b[i];
    this.pos = next;
    return v;
  }

  /** Reads an unsigned integer (at most 8 value bytes). */
  uint(): bigint {
    const at = this.pos;
    const v = this.uintNumber();
    if (v < 256) return SMALL[v];
    if (v <= MAX_SAFE) return BigInt(v);
    return this.exactUint(at);
  }

  /** The exact value of the (already validated) unsigned integer at `at`. */
  exactUint(at: number): bigint {
    const b = this.bytes;
    const first = b[at];
    if (first < 128) return SMALL[first];
    const n = 256 - first;
    scratch.setBigUint64(0, 0n);
    scratchBytes.set(b.subarray(at + 1, at + 1 + n), 8 - n);
    return scratch.getBigUint64(0);
  }

  /** Reads a signed (zig-zag) integer. */
  int(): bigint {
    const at = this.pos;
    const u = this.uintNumber();
    if (u <= MAX_SAFE) {
      // Below 2^53, u + 1 and the halves are exact.
      return BigInt(u % 2 === 1 ? -(u + 1) / 2 : u / 2);
    }
    const x = this.exactUint(at);
    return (x & 1n) === 1n ? -(x >> 1n) - 1n : x >> 1n;
  }

  /** Reads a bool; any value other than 0 or 1 is rejected. */
  bool(): boolean {
    const at = this.pos;
    const u = this.uintNumber();
    if (u > 1) {
      throw new SyntaxError(
        `Cannot decode gob bool at offset ${at}: value ${this.exactUint(at)}`,
      );
    }
    return u === 1;
  }

  /**
   * Reads a length or count, checked against the bytes left before `end`
   * (each counted item takes at least one byte).
   */
  count(what = "count"): number {
    const at = this.pos;
    const u = this.uintNumber();
    const left = this.end - this.pos;
    if (u > left) {
      throw new RangeError(
        `Cannot decode gob ${what} at offset ${at}: ${
          this.exactUint(at)
        } exceeds the ${left} bytes left`,
      );
    }
    return u;
  }

  /** Reads a byte slice; the result is a copy. */
  byteSlice(): Uint8Array {
    const n = this.count("byte length");
    const at = this.pos;
    this.pos = at + n;
    return this.bytes.slice(at, at + n);
  }

  /** Reads a string; invalid UTF-8 is replaced, as Go strings carry raw bytes. */
  string(): string {
    const n = this.count("string length");
    const at = this.pos;
    const stop = at + n;
    this.pos = stop;
    return decodeUtf8(this.bytes, at, stop);
  }
}

/**
 * Decodes UTF-8 bytes `[start, stop)` as TextDecoder does (replacing invalid
 * sequences, dropping a leading BOM); short ASCII runs skip the decoder call.
 */
export function decodeUtf8(bytes: Uint8Array, start: number, stop: number): string {
  if (stop - start <= 64) {
    let ascii = true;
    for (let i = start; i < stop; i++) {
      if (bytes[i] > 127) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      return String.fromCharCode.apply(null, bytes.subarray(start, stop) as unknown as number[]);
    }
  }
  return utf8Decoder.decode(bytes.subarray(start, stop));
}
