import assert from "node:assert/strict";
import { GobReader } from "./reader.ts";
import { encodeUint, GobWriter, uintLength } from "./primitives.ts";

/** Reference: gob uint bytes of a bigint, by plain bigint arithmetic. */
function uintBytes(v: bigint): number[] {
  if (v < 128n) return [Number(v)];
  const out: number[] = [];
  for (let rest = v; rest > 0n; rest >>= 8n) out.unshift(Number(rest & 0xffn));
  return [256 - out.length, ...out];
}

Deno.test("GobWriter.uint: number and bigint paths give the reference bytes", () => {
  const values = [0n, 127n, 128n, 0xffffn, 1n << 40n, (1n << 53n) - 1n, 1n << 53n, 1n << 56n];
  for (const v of [...values, (1n << 64n) - 1n, 12345678901234567890n]) {
    const w = new GobWriter();
    w.uint(v);
    if (v <= BigInt(Number.MAX_SAFE_INTEGER)) w.uint(Number(v));
    const one = uintBytes(v);
    const expected = v <= BigInt(Number.MAX_SAFE_INTEGER) ? [...one, ...one] : one;
    assert.deepStrictEqual([...w.toBytes()], expected, `${v}`);
    assert.equal(uintLength(v), one.length);
    const out = new Uint8Array(one.length + 3);
    assert.equal(encodeUint(v, out, 3), one.length + 3);
  }
});

Deno.test("GobWriter.string: ASCII, non-ASCII and long strings as TextEncoder", () => {
  const te = new TextEncoder();
  const samples = ["", "h1", "é", "x".repeat(127), "x".repeat(128), "字".repeat(50), "😀\ud800"];
  for (const s of [...samples, "ü".repeat(70), "a".repeat(70000)]) {
    const w = new GobWriter(16);
    w.raw(new Uint8Array([7]));
    w.string(s);
    const bytes = w.toBytes();
    const utf8 = te.encode(s);
    const r = new GobReader(bytes, 1);
    assert.equal(r.count("string length"), utf8.length, JSON.stringify(s.slice(0, 9)));
    assert.deepStrictEqual(bytes.subarray(r.pos), utf8);
  }
});

Deno.test("GobWriter messages: the length prefix grows as the body does", () => {
  for (const size of [0, 1, 127, 128, 255, 256, 65535, 65536]) {
    const w = new GobWriter(8);
    w.raw(new Uint8Array([0xaa]));
    const mark = w.beginMessage();
    for (let i = 0; i < size; i++) w.uint(i % 100);
    w.endMessage(mark);
    w.raw(new Uint8Array([0xbb]));
    const bytes = w.view();
    assert.equal(w.length, bytes.length);
    assert.ok(w.capacity >= w.length);
    const r = new GobReader(bytes, 1);
    assert.equal(r.uintNumber(), size);
    assert.equal(bytes.length, r.pos + size + 1, `${size}`);
    for (let i = 0; i < size; i++) assert.equal(r.uintNumber(), i % 100);
    assert.equal(bytes[bytes.length - 1], 0xbb);
  }
});
