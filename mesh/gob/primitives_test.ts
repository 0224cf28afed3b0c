import assert from "node:assert/strict";
import {
  bytesLength,
  decodeBool,
  decodeBytes,
  decodeCount,
  type Decoded,
  decodeInt,
  decodeString,
  decodeUint,
  encodeBool,
  encodeBytes,
  encodeInt,
  encodeString,
  encodeUint,
  GobWriter,
  intLength,
  stringLength,
  uintLength,
} from "./primitives.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

/** dns-packet style: length = bytes written, decodes back, also at an offset. */
function roundTrip<T>(
  value: T,
  length: (v: T) => number,
  encode: (v: T, out: Uint8Array, offset: number) => number,
  decode: (b: Uint8Array, offset: number, end?: number) => Decoded<unknown>,
  expected: unknown = value,
): Uint8Array {
  const n = length(value);
  for (const offset of [0, 5]) {
    const out = new Uint8Array(offset + n + 3).fill(0xee);
    assert.equal(encode(value, out, offset), offset + n);
    assert.deepStrictEqual(decode(out, offset), { value: expected, offset: offset + n });
    assert.equal(out[offset + n], 0xee, "wrote past its length");
    for (let cut = offset; cut < offset + n; cut++) {
      assert.throws(() => decode(out, offset, cut), RangeError, `truncated at ${cut}`);
    }
  }
  const out = new Uint8Array(n);
  encode(value, out, 0);
  return out;
}

const uint = (v: bigint | number) => roundTrip(v, uintLength, encodeUint, decodeUint, BigInt(v));
const int = (v: bigint | number) => roundTrip(v, intLength, encodeInt, decodeInt, BigInt(v));

Deno.test("uint: encodes as the spec's examples and round-trips", () => {
  assert.equal(hex(uint(0)), "00");
  assert.equal(hex(uint(127)), "7f");
  assert.equal(hex(uint(128)), "ff 80");
  assert.equal(hex(uint(256)), "fe 01 00");
  assert.equal(hex(uint(12345)), "fe 30 39");
  assert.equal(hex(uint(0x0a0b0c0d0e0fn)), "fa 0a 0b 0c 0d 0e 0f");
  assert.equal(hex(uint((1n << 64n) - 1n)), "f8 ff ff ff ff ff ff ff ff");
  assert.equal(hex(uint(4021037808612341783n)), "f8 37 cd 98 95 22 c0 f8 17");
});

Deno.test("uint: rejects out-of-range values and unsafe numbers", () => {
  const out = new Uint8Array(16);
  assert.throws(() => encodeUint(-1, out, 0), RangeError);
  assert.throws(() => encodeUint(1n << 64n, out, 0), RangeError);
  assert.throws(() => encodeUint(2 ** 60, out, 0), RangeError);
  assert.throws(() => encodeUint(1.5, out, 0), RangeError);
  assert.throws(() => encodeUint(12345, new Uint8Array(2), 0), RangeError);
});

Deno.test("uint: rejects a byte count above 8", () => {
  const bytes = new Uint8Array([0xf7, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.throws(() => decodeUint(bytes, 0), SyntaxError);
  assert.throws(() => decodeUint(new Uint8Array([0x80]), 0), SyntaxError);
});

Deno.test("int: zig-zag encoding of type ids and extremes", () => {
  assert.equal(hex(int(0)), "00");
  assert.equal(hex(int(6)), "0c");
  assert.equal(hex(int(-1)), "01");
  assert.equal(hex(int(65)), "ff 82");
  assert.equal(hex(int(-65)), "ff 81");
  assert.equal(hex(int(1700000000)), "fc ca a7 e2 00");
  assert.equal(hex(int((1n << 63n) - 1n)), "f8 ff ff ff ff ff ff ff fe");
  assert.equal(hex(int(-(1n << 63n))), "f8 ff ff ff ff ff ff ff ff");
  assert.throws(() => intLength(1n << 63n), RangeError);
  assert.throws(() => intLength(-(1n << 63n) - 1n), RangeError);
});

Deno.test("bool: 0/1 only", () => {
  roundTrip(true, () => 1, encodeBool, decodeBool);
  roundTrip(false, () => 1, encodeBool, decodeBool);
  assert.throws(() => decodeBool(new Uint8Array([2]), 0), SyntaxError);
});

Deno.test("string and bytes: length-prefixed, UTF-8, copied out", () => {
  assert.equal(
    hex(roundTrip("topology", stringLength, encodeString, decodeString)),
    "08 74 6f 70 6f 6c 6f 67 79",
  );
  assert.equal(hex(roundTrip("é", stringLength, encodeString, decodeString)), "02 c3 a9");
  roundTrip("", stringLength, encodeString, decodeString);
  const long = new Uint8Array(300).fill(7);
  assert.equal(hex(roundTrip(long, bytesLength, encodeBytes, decodeBytes)).slice(0, 8), "fe 01 2c");
  const src = new Uint8Array([3, 9, 8, 7]);
  const got = decodeBytes(src, 0).value;
  src[1] = 0;
  assert.deepStrictEqual(got, new Uint8Array([9, 8, 7]));
});

Deno.test("decodeCount: rejects counts above the bytes left before allocating", () => {
  assert.deepStrictEqual(decodeCount(new Uint8Array([2, 0, 0]), 0), { value: 2, offset: 1 });
  assert.throws(() => decodeCount(new Uint8Array([3, 0, 0]), 0), RangeError);
  const huge = new Uint8Array([0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0]);
  assert.throws(() => decodeCount(huge, 0), /exceeds the 1 bytes left/);
  assert.throws(() => decodeString(new Uint8Array([5, 0x61]), 0), RangeError);
  assert.throws(() => decodeBytes(new Uint8Array([2, 1, 2, 3]), 0, 2), RangeError);
});

Deno.test("GobWriter: grows and matches the offset encoders", () => {
  const w = new GobWriter();
  w.uint(12345);
  w.int(-65);
  w.bool(true);
  w.string("topology");
  w.bytes(new Uint8Array(200).fill(1));
  w.raw(new Uint8Array([9]));
  const out = w.toBytes();
  assert.equal(out.length, w.length);
  assert.equal(hex(out.subarray(0, 15)), "fe 30 39 ff 81 01 08 74 6f 70 6f 6c 6f 67 79");
  assert.equal(hex(out.subarray(15, 17)), "ff c8");
  assert.equal(out.length, 15 + 2 + 200 + 1);
});
