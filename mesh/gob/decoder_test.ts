import assert from "node:assert/strict";
import {
  checkStructKinds,
  decodeGobItems,
  decodeGobStream,
  gobField,
  GobStreamDecoder,
  MAX_GOB_DEPTH,
} from "./decoder.ts";
import { encodeGobStream, GobEncoder } from "./encoder.ts";
import { GobWriter } from "./primitives.ts";
import { gobSlice, gobStruct, S, U } from "./types.ts";

/** Frames a message body with its length. */
function message(build: (w: GobWriter) => void): number[] {
  const body = new GobWriter();
  build(body);
  const out = new GobWriter();
  out.uint(body.length);
  out.raw(body.toBytes());
  return [...out.toBytes()];
}

function common(w: GobWriter, id: number, name = ""): void {
  w.uint(1); // CommonType
  if (name) {
    w.uint(1);
    w.string(name);
    w.uint(1);
  } else {
    w.uint(2);
  }
  w.int(id);
  w.uint(0);
}

function sliceDef(w: GobWriter, id: number, elem: number): void {
  w.int(-id);
  w.uint(2); // SliceT
  common(w, id);
  w.uint(1);
  w.int(elem);
  w.uint(0);
  w.uint(0);
}

function structDef(w: GobWriter, id: number, name: string, fields: [string, number][]): void {
  w.int(-id);
  w.uint(3); // StructT
  common(w, id, name);
  w.uint(1);
  w.uint(fields.length);
  for (const [fieldName, fieldId] of fields) {
    w.uint(1);
    w.string(fieldName);
    w.uint(1);
    w.int(fieldId);
    w.uint(0);
  }
  w.uint(0);
  w.uint(0);
}

const bytes = (...parts: number[][]) => new Uint8Array(parts.flat());
const nested = (n: number): unknown => (n === 0 ? [] : [nested(n - 1)]);

Deno.test("decoder: accepts any ids and a definition sharing a message with the value", () => {
  const stream = bytes(message((w) => {
    structDef(w, 1000, "R", [["Start", 3], ["End", 3]]);
    w.int(1000);
    w.uint(2); // skip Start
    w.uint(7);
    w.uint(0);
  }));
  const [item] = decodeGobItems(stream);
  assert.equal(item.typeId, 1000);
  assert.deepStrictEqual(item.value, { End: 7n });
  assert.deepStrictEqual(item.type, gobStruct("R", [["Start", U], ["End", U]]));
});

Deno.test("decoder: next() works at an offset and reports the next offset", () => {
  const stream = encodeGobStream([["a", S], [5, U]]);
  const padded = new Uint8Array([0xee, 0xee, ...stream]);
  const dec = new GobStreamDecoder();
  const first = dec.next(padded, 2);
  assert.deepStrictEqual(first.item.value, "a");
  const second = dec.next(padded, first.offset);
  assert.deepStrictEqual([second.item.value, second.offset], [5n, padded.length]);
});

Deno.test("decoder: a count larger than the bytes left is rejected", () => {
  const stream = bytes(
    message((w) => sliceDef(w, 65, 3)),
    message((w) => {
      w.int(65);
      w.uint(0);
      w.uint((1n << 64n) - 1n);
    }),
  );
  assert.throws(() => decodeGobStream(stream), /slice count .* exceeds the 0 bytes left/);
  const map = new GobEncoder().encode(new Map([["k", "v"]]), { kind: "map", key: S, elem: S });
  const lying = map.slice();
  lying[lying.length - 5] = 0x7f; // map count 1 -> 127
  assert.throws(() => decodeGobStream(lying), RangeError);
});

Deno.test("decoder: recursive types decode within the depth limit and fail beyond it", () => {
  const def = message((w) => sliceDef(w, 65, 65));
  const value = (n: number) =>
    message((w) => {
      w.int(65);
      w.uint(0);
      for (let i = 0; i < n; i++) w.uint(1);
      w.uint(0);
    });
  assert.deepStrictEqual(decodeGobStream(bytes(def, value(20))), [nested(20)]);
  assert.throws(() => decodeGobStream(bytes(def, value(MAX_GOB_DEPTH + 5))), /nested deeper/);
  const structBomb = bytes(
    message((w) => structDef(w, 70, "T", [["Next", 70]])),
    message((w) => {
      w.int(70);
      for (let i = 0; i < 5000; i++) w.uint(1);
      for (let i = 0; i <= 5000; i++) w.uint(0);
    }),
  );
  assert.throws(() => decodeGobStream(structBomb), RangeError);
});

Deno.test("decoder: long chains of type definitions are limited", () => {
  const chain = (n: number) =>
    bytes(
      ...Array.from({ length: n }, (_, i) =>
        message((w) => sliceDef(w, 65 + i, i === n - 1 ? 3 : 66 + i))),
      message((w) => (w.int(65), w.uint(0), w.uint(0))),
    );
  assert.deepStrictEqual(decodeGobStream(chain(10)), [[]]);
  assert.throws(() => decodeGobStream(chain(5000)), /type id .*: nested deeper than 100/);
});

Deno.test("decoder: unknown, unsupported and invalid type ids", () => {
  assert.throws(
    () => decodeGobStream(bytes(message((w) => (w.int(72), w.uint(0))))),
    /id 72: undefined type/,
  );
  assert.throws(
    () => decodeGobStream(bytes(message((w) => (w.int(4), w.uint(0), w.uint(0))))),
    /id 4: unsupported predefined type/,
  );
  const danglingField = bytes(
    message((w) => structDef(w, 65, "X", [["F", 99]])),
    message((w) => (w.int(65), w.uint(0))),
  );
  assert.throws(() => decodeGobStream(danglingField), /id 99: undefined type/);
  const negativeField = bytes(message((w) => structDef(w, 65, "X", [["F", -3]])));
  assert.throws(() => decodeGobStream(negativeField), /invalid type id -3/);
  assert.throws(() => decodeGobStream(bytes(message((w) => w.int(0)))), /invalid id 0/);
});

Deno.test("decoder: duplicate and reserved definitions are rejected", () => {
  const def = message((w) => sliceDef(w, 65, 3));
  assert.throws(() => decodeGobStream(bytes(def, def)), /id already in use/);
  assert.throws(
    () => decodeGobStream(bytes(message((w) => sliceDef(w, 6, 3)))),
    /id already in use/,
  );
});

Deno.test("decoder: malformed definitions are rejected", () => {
  const array = bytes(message((w) => {
    w.int(-65);
    w.uint(1); // ArrayT
    common(w, 65);
    w.uint(0);
    w.uint(0);
  }));
  assert.throws(() => decodeGobStream(array), /unsupported kind ArrayT/);
  const empty = bytes(message((w) => (w.int(-65), w.uint(0))));
  assert.throws(() => decodeGobStream(empty), /expected one kind, got 0/);
});

Deno.test("decoder: framing errors", () => {
  assert.throws(() => decodeGobStream(new Uint8Array([0])), /empty message/);
  assert.throws(
    () => decodeGobStream(new Uint8Array([5, 6, 0])),
    /length 5 exceeds the 2 bytes left/,
  );
  assert.throws(() => decodeGobStream(new Uint8Array([4, 6, 0, 0, 9])), /1 extra bytes/);
  assert.throws(() => decodeGobStream(new Uint8Array([3, 6, 1, 5])), /must start with 0, got 1/);
  assert.throws(() => decodeGobStream(new Uint8Array([3, 2, 0, 0xf0])), /byte count 16/);
  assert.throws(
    () => decodeGobStream(bytes(message((w) => sliceDef(w, 65, 3)))),
    /ended before a value \(after type definitions\)/,
  );
  assert.deepStrictEqual(decodeGobStream(new Uint8Array()), []);
});

Deno.test("decoder: field deltas past the last field are rejected", () => {
  const stream = new GobEncoder().encode({ A: 1n }, gobStruct("S", [["A", U]]));
  const bad = stream.slice();
  bad[bad.length - 3] = 2; // delta 1 -> 2: no field 1
  assert.throws(() => decodeGobStream(bad), /field delta 2 after field -1 exceeds its 1 fields/);
});

Deno.test("decoder: refuses further use after a failure", () => {
  const dec = new GobStreamDecoder();
  assert.throws(() => dec.next(new Uint8Array([0]), 0), SyntaxError);
  const good = encodeGobStream([["a", S]]);
  assert.throws(() => dec.next(good, 0), /an earlier message failed/);
});

Deno.test("decoder: field names cannot reach the prototype", () => {
  const stream = bytes(
    message((w) => structDef(w, 65, "P", [["__proto__", 6], ["constructor", 6]])),
    message((w) => (w.int(65), w.uint(1), w.string("x"), w.uint(1), w.string("y"), w.uint(0))),
  );
  const [value] = decodeGobStream(stream) as Record<string, unknown>[];
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepEqual(Object.keys(value), ["__proto__", "constructor"]);
  assert.equal(value["constructor"], "y");
});

Deno.test("gobField: default for absent fields, error for another kind", () => {
  const v = { UID: 5n, Name: "n", List: [] };
  assert.equal(gobField(v, "UID", 0n), 5n);
  assert.equal(gobField(v, "Missing", 7n), 7n);
  assert.deepEqual(gobField(v, "List", []), []);
  assert.throws(() => gobField(v, "Name", 0n), /field Name: expected bigint, got string/);
  assert.throws(() => gobField(v, "List", new Uint8Array()), /expected bytes, got slice/);
});

Deno.test("checkStructKinds: kind mismatches of known fields, unknown fields ignored", () => {
  const t = gobStruct("T", [["A", U], ["Extra", S]]);
  checkStructKinds(t, "T", { A: "uint", B: "bool" });
  assert.throws(() => checkStructKinds(t, "T", { A: "int" }), /field A is uint, expected int/);
  assert.throws(() => checkStructKinds(gobSlice(U), "T", {}), /expected a struct, got \[\]uint/);
});
