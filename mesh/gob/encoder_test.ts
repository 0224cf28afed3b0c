import assert from "node:assert/strict";
import { decodeGobItems, decodeGobStream } from "./decoder.ts";
import { encodeGobStream, GobEncoder, GobTypeRegistry } from "./encoder.ts";
import { B, BYTES, gobMap, gobSlice, gobStruct, I, S, U } from "./types.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");
/** The value message (last message) of a single-type stream, as hex. */
const valueHex = (bytes: Uint8Array) => {
  let at = 0;
  let last = bytes;
  while (at < bytes.length) {
    last = bytes.subarray(at, at + 1 + bytes[at]);
    at += 1 + bytes[at];
  }
  return hex(last);
};

const inner = gobStruct("Inner", [["A", U]]);
const sample = gobStruct("Sample", [
  ["U", U],
  ["I", I],
  ["B", B],
  ["S", S],
  ["Bytes", BYTES],
  ["List", gobSlice(U)],
  ["Dict", gobMap(S, U)],
  ["Inner", inner],
]);

Deno.test("GobEncoder: zero fields are omitted, empty non-nil maps and struct fields are sent", () => {
  const enc = new GobEncoder();
  enc.encode({}, sample); // definitions
  assert.equal(valueHex(enc.encode({}, sample)), "03 ff 82 00");
  const zeros = { U: 0n, I: 0, B: false, S: "", Bytes: new Uint8Array(), List: [], Dict: null };
  assert.equal(valueHex(enc.encode(zeros, sample)), "03 ff 82 00");
  assert.equal(valueHex(enc.encode({ Dict: new Map() }, sample)), "05 ff 82 07 00 00");
  assert.equal(valueHex(enc.encode({ Inner: {} }, sample)), "05 ff 82 08 00 00");
  assert.equal(
    valueHex(enc.encode({ U: 1n, I: -1, B: true, S: "x", Inner: { A: 2 } }, sample)),
    "10 ff 82 01 01 01 01 01 01 01 01 78 04 01 02 00 00",
  );
  assert.equal(
    valueHex(enc.encode({ List: [0, 5], Dict: new Map([["k", 0n]]) }, sample)),
    "0c ff 82 06 02 00 05 01 01 01 6b 00 00",
  );
});

Deno.test("GobEncoder: top-level zero values are still sent", () => {
  assert.equal(hex(encodeGobStream([[0, U]])), "03 06 00 00");
  assert.equal(hex(encodeGobStream([["", S]])), "03 0c 00 00");
  assert.equal(
    hex(encodeGobStream([[[], gobSlice(U)]])),
    "0c ff 81 02 01 02 ff 82 00 01 06 00 00 04 ff 82 00 00",
  );
});

Deno.test("GobEncoder: definitions go out once per stream; a new encoder starts again", () => {
  const enc = new GobEncoder();
  const first = enc.encode({ A: 1 }, inner);
  const second = enc.encode({ A: 1 }, inner);
  assert.ok(first.length > second.length);
  assert.equal(hex(second), "05 ff 82 01 01 00");
  assert.deepStrictEqual(new GobEncoder().encode({ A: 1 }, inner), first);
  assert.deepStrictEqual(decodeGobStream(new Uint8Array([...first, ...second])), [{ A: 1n }, {
    A: 1n,
  }]);
});

Deno.test("GobTypeRegistry: Go's id order (struct first, slice and map after their parts)", () => {
  const registry = new GobTypeRegistry();
  const elem = gobStruct("E", [["X", U]]);
  const outer = gobStruct("O", [["L", gobSlice(elem)], ["M", gobMap(elem, gobSlice(U, "V"))]]);
  assert.equal(registry.idOf(outer), 65);
  assert.equal(registry.idOf(elem), 66);
  assert.equal(registry.idOf(gobSlice(elem)), 67);
  assert.equal(registry.idOf(gobSlice(U, "V")), 68);
  assert.equal(registry.idOf(gobMap(elem, gobSlice(U, "V"))), 69);
  assert.equal(registry.idOf(gobSlice(U, "other name")), 70);
  assert.equal(registry.idOf(U), 3);
  assert.equal(registry.typeOf(66), elem);
});

Deno.test("GobEncoder: definitions in preorder, slice before its element struct", () => {
  const elem = gobStruct("E", [["X", U]]);
  const items = decodeGobItems(new GobEncoder().encode([{ X: 1 }], gobSlice(elem)));
  assert.equal(items[0].typeId, 66);
  const bytes = new GobEncoder().encode([{ X: 1 }], gobSlice(elem));
  // first message: slice definition (id -66 = ff 83), second: struct E (id -65 = ff 81)
  assert.equal(hex(bytes.subarray(0, 4)), "0d ff 83 02");
  assert.equal(hex(bytes.subarray(14, 17)), "15 ff 81");
});

Deno.test("GobEncoder: shared registry keeps ids across encoders", () => {
  const registry = new GobTypeRegistry();
  new GobEncoder({ registry }).encode({}, gobStruct("First", []));
  const bytes = new GobEncoder({ registry }).encode({ A: 1 }, inner);
  assert.equal(decodeGobItems(bytes)[0].typeId, 66);
});

Deno.test("GobEncoder: rejects values that do not fit the schema", () => {
  const enc = new GobEncoder();
  assert.throws(() => enc.encode({ U: "1" }, sample), /at Sample\.U: expected uint, got string/);
  assert.throws(() => enc.encode({ Nope: 1 }, sample), /has no field "Nope"/);
  assert.throws(() => enc.encode({ List: [1, -1] }, sample), RangeError);
  assert.throws(() => enc.encode({ Dict: { a: 1 } }, sample), /Sample\.Dict: expected map/);
  assert.throws(
    () => enc.encode([null], gobSlice(inner)),
    /value\[0\]: expected struct Inner, got null/,
  );
  assert.throws(() => enc.encode(null, inner), TypeError);
  assert.throws(() => enc.encode(1, B), TypeError);
  assert.throws(() => enc.encode([1], BYTES), TypeError);
});

Deno.test("GobTypeRegistry: rejects recursive schemas", () => {
  const loop = gobStruct("Loop", []);
  loop.fields.push(["Next", gobSlice(loop)]);
  assert.throws(() => new GobTypeRegistry().idOf(loop), RangeError);
});

Deno.test("encodeGobStream: round-trips a mixed stream through the generic decoder", () => {
  const map = gobMap(gobStruct("", [["K", U]]), S);
  const values = [
    ["chan", S],
    [(1n << 64n) - 1n, U],
    [-5n, I],
    [true, B],
    [new Uint8Array([1, 2]), BYTES],
    [new Map([[{ K: 1n }, "a"], [{}, "b"]]), map],
    [{ U: 9n, Inner: {}, Dict: new Map() }, sample],
  ] as const;
  const bytes = encodeGobStream(values.map(([v, t]) => [v, t]));
  assert.deepStrictEqual(decodeGobStream(bytes), values.map(([v]) => v));
});
