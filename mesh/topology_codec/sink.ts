/**
 * The fast topology encoder's output buffer: a growing byte sink with the gob
 * primitives the encoder needs (uints, strings, 6-byte names, length-prefixed
 * messages), and the error the fast paths throw at input they leave to the
 * generic codec.
 *
 * @module
 */
import { normalizeUint, writeNormalized, writeString } from "../gob/primitives.ts";

/** Thrown by the fast encoder at input the generic encoder must judge. */
export const UNEXPECTED = new Error("Cannot encode topology on the fast path: unexpected input");
const nameView = new DataView(new ArrayBuffer(8));
const nameBytes = new Uint8Array(nameView.buffer);

/** The fast encoder's output: a buffer that grows, and the write position. */
export class Sink {
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

  /** Appends a string with its length. */
  string(value: string): void {
    this.ensure(9 + 3 * value.length);
    this.pos = writeString(value, this.buf, this.pos);
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
