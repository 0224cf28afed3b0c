import assert from "node:assert/strict";
import { decodeUtf8, GobReader } from "./reader.ts";

/** Reference: gob uint bytes of a bigint, by plain bigint arithmetic. */
function uintBytes(v: bigint): number[] {
  if (v < 128n) return [Number(v)];
  const out: number[] = [];
  for (let rest = v; rest > 0n; rest >>= 8n) out.unshift(Number(rest & 0xffn));
  return [256 - out.length, ...out];
}

const EDGES = [0n, 1n, 127n, 128n, 255n, 256n, (1n << 32n) - 1n, 1n << 32n, (1n << 48n) - 1n];
const WIDE = [(1n << 53n) - 1n, 1n << 53n, (1n << 53n) + 1n, (1n << 56n) - 1n, (1n << 64n) - 1n];

Deno.test("GobReader.uint: exact on both sides of 2^53, at an offset", () => {
  for (const v of [...EDGES, ...WIDE, 12345678901234567890n]) {
    const bytes = new Uint8Array([0xee, 0xee, ...uintBytes(v), 0xee]);
    const r = new GobReader(bytes, 2);
    assert.equal(r.uint(), v);
    assert.equal(r.pos, bytes.length - 1);
    const n = new GobReader(bytes, 2);
    const approx = n.uintNumber();
    if (v <= BigInt(Number.MAX_SAFE_INTEGER)) assert.equal(approx, Number(v));
    else assert.ok(approx > Number.MAX_SAFE_INTEGER);
  }
});

Deno.test("GobReader.int: zig-zag, exact at the extremes", () => {
  const values = [0n, -1n, 1n, -65n, 65n, -(1n << 52n), (1n << 52n) - 1n, -(1n << 53n)];
  for (const v of [...values, -(1n << 63n), (1n << 63n) - 1n]) {
    const zig = v >= 0n ? v << 1n : ((-v - 1n) << 1n) | 1n;
    assert.equal(new GobReader(new Uint8Array(uintBytes(zig))).int(), v, `${v}`);
  }
});

Deno.test("GobReader: errors name the exact value and the offset", () => {
  const huge = new Uint8Array([0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0]);
  assert.throws(() => new GobReader(huge).count("slice count"), /18446744073709551615 exceeds/);
  assert.throws(() => new GobReader(huge).bool(), /bool at offset 0: value 18446744073709551615/);
  assert.throws(() => new GobReader(new Uint8Array([0xf7, 1, 2])).uint(), /byte count 9 exceeds 8/);
  const r = new GobReader(new Uint8Array([1, 0xfe, 1]), 1);
  assert.throws(() => r.uint(), /uint at offset 1: truncated \(need 3 bytes, 2 left\)/);
  assert.throws(() => new GobReader(new Uint8Array([2, 0x61, 0x62]), 0, 2).string(), RangeError);
});

Deno.test("decodeUtf8: same as TextDecoder for ASCII, UTF-8, invalid bytes and a BOM", () => {
  const td = new TextDecoder();
  const te = new TextEncoder();
  const samples = [
    te.encode("10.0.0.2:6783"),
    te.encode("ünï 字 😀"),
    te.encode("\u{feff}bom"),
    new Uint8Array([0x61, 0xff, 0x62, 0xc3]),
    new Uint8Array(100).fill(0x41),
    new Uint8Array(0),
  ];
  for (const bytes of samples) {
    const padded = new Uint8Array([9, ...bytes, 9]);
    assert.equal(decodeUtf8(padded, 1, 1 + bytes.length), td.decode(bytes));
  }
});
