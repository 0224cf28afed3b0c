/**
 * Generic gob decoder for the subset Weave uses
 * (`../../../shared/spec/weave-protocol.md` §9.2). It learns types from the
 * definitions in the stream, whatever their ids (Go allocates them
 * process-wide, so they differ between peers), and decodes values without a
 * schema: structs to plain objects keyed by field name (fields absent on the
 * wire are absent), slices to arrays, maps to `Map`s in wire order, integers
 * to bigint, `[]byte` to Uint8Array.
 *
 * The input is untrusted. Every length and count is checked against the bytes
 * left before anything is allocated (each item takes at least one byte),
 * nesting is limited to {@link MAX_GOB_DEPTH}, and unsupported or undefined
 * types are rejected. Errors are SyntaxError (malformed) or RangeError
 * (truncated, too large, too deep); after one, the decoder refuses further use,
 * as the stream position is lost.
 *
 * @module
 */
import { GobReader } from "./reader.ts";
import {
  B,
  BYTES,
  describeGobType,
  type GobStructType,
  type GobType,
  I,
  S,
  TYPE_ID,
  U,
  WIRE_TYPE,
} from "./types.ts";

/** A decoded gob value. */
export type GobValue =
  | bigint
  | boolean
  | string
  | Uint8Array
  | GobValue[]
  | Map<GobValue, GobValue>
  | GobStruct;

/** A decoded struct: its fields present on the wire, by Go field name. */
export interface GobStruct {
  [field: string]: GobValue;
}

/** One top-level value with the type it was sent as. */
export interface GobItem {
  value: GobValue;
  /** The sender's id for the type (not stable between Go processes). */
  typeId: number;
  type: GobType;
}

/** Deepest nesting of values accepted (structs, slices and maps in each other). */
export const MAX_GOB_DEPTH = 100;

const MAX_TYPE_ID = 0x7fffffff;

type WireDef =
  | { kind: "struct"; name: string; fields: [string, number][] }
  | { kind: "slice"; name: string; elem: number }
  | { kind: "map"; name: string; key: number; elem: number };

const PREDEFINED = new Map<number, GobType>([
  [TYPE_ID.bool, B],
  [TYPE_ID.int, I],
  [TYPE_ID.uint, U],
  [TYPE_ID.bytes, BYTES],
  [TYPE_ID.string, S],
]);

const RESERVED_IDS = new Set<number>(Object.values(TYPE_ID));

/**
 * Decodes one gob stream incrementally: {@link next} returns each top-level
 * value, taking in the type definitions before it.
 *
 * @example
 * ```ts
 * import { GobStreamDecoder } from "./decoder.ts";
 * const bytes = new Uint8Array([0x0b, 0x0c, 0x00, 0x08, ...new TextEncoder().encode("topology")]);
 * const dec = new GobStreamDecoder();
 * dec.next(bytes, 0); // { item: { value: "topology", typeId: 6, type: { kind: "string" } }, offset: 12 }
 * ```
 */
export class GobStreamDecoder {
  #defs = new Map<number, WireDef>();
  #resolved = new Map<number, GobType>();
  #failure: Error | undefined;

  /**
   * Reads messages from `offset` until one carries a value; returns it and the
   * offset after that message. Throws if the bytes end first.
   */
  next(bytes: Uint8Array, offset: number): { item: GobItem; offset: number } {
    if (this.#failure) {
      throw new Error("Cannot decode gob stream: an earlier message failed", {
        cause: this.#failure,
      });
    }
    try {
      return this.#next(bytes, offset);
    } catch (error) {
      this.#failure = error instanceof Error ? error : new Error(String(error));
      throw error;
    }
  }

  #next(bytes: Uint8Array, offset: number): { item: GobItem; offset: number } {
    let pos = offset;
    const r = new GobReader(bytes, offset);
    for (;;) {
      if (pos >= bytes.length) {
        throw new RangeError(
          `Cannot decode gob stream at offset ${pos}: ended before a value${
            pos > offset ? " (after type definitions)" : ""
          }`,
        );
      }
      r.pos = pos;
      r.end = bytes.length;
      const end = messageEnd(r);
      while (r.pos < end) {
        const at = r.pos;
        const id = r.int();
        if (id < 0n) {
          this.#define(typeIdNumber(-id, at), r);
          continue;
        }
        const typeId = typeIdNumber(id, at);
        const type = this.#resolve(typeId);
        const value = decodeTopLevel(r, type);
        if (r.pos !== end) {
          throw new SyntaxError(
            `Cannot decode gob value at offset ${at}: ${end - r.pos} extra bytes in the message`,
          );
        }
        return { item: { value, typeId, type }, offset: end };
      }
      pos = end;
    }
  }

  #define(id: number, r: GobReader): void {
    if (RESERVED_IDS.has(id) || this.#defs.has(id)) {
      throw new SyntaxError(`Cannot define gob type ${id} at offset ${r.pos}: id already in use`);
    }
    this.#defs.set(id, wireDef(id, decodeStruct(r, WIRE_TYPE, 0)));
  }

  #resolve(id: number, depth = 0): GobType {
    const known = PREDEFINED.get(id) ?? this.#resolved.get(id);
    if (known) return known;
    const def = this.#defs.get(id);
    if (!def) {
      const what = RESERVED_IDS.has(id) ? "unsupported predefined type" : "undefined type";
      throw new SyntaxError(`Cannot decode gob type id ${id}: ${what}`);
    }
    if (depth >= MAX_GOB_DEPTH) {
      throw new RangeError(`Cannot decode gob type id ${id}: nested deeper than ${MAX_GOB_DEPTH}`);
    }
    const inner = (ref: number) => this.#resolve(ref, depth + 1);
    // Register an empty shell first so that recursive definitions terminate.
    switch (def.kind) {
      case "struct": {
        const shell: GobType = { kind: "struct", name: def.name, fields: [] };
        this.#resolved.set(id, shell);
        for (const [name, fieldId] of def.fields) shell.fields.push([name, inner(fieldId)]);
        return shell;
      }
      case "slice": {
        const shell: GobType = { kind: "slice", name: def.name, elem: U };
        this.#resolved.set(id, shell);
        shell.elem = inner(def.elem);
        return shell;
      }
      case "map": {
        const shell: GobType = { kind: "map", name: def.name, key: U, elem: U };
        this.#resolved.set(id, shell);
        shell.key = inner(def.key);
        shell.elem = inner(def.elem);
        return shell;
      }
    }
  }
}

/**
 * Decodes every top-level value of a complete stream, in order.
 *
 * @example
 * ```ts
 * import { decodeGobStream } from "./decoder.ts";
 * decodeGobStream(new Uint8Array([0x09, 0x06, 0x00, 0xfa, 10, 11, 12, 13, 14, 15]));
 * // [0x0a0b0c0d0e0fn]
 * ```
 */
export function decodeGobStream(bytes: Uint8Array): GobValue[] {
  return decodeGobItems(bytes).map((item) => item.value);
}

/** Like {@link decodeGobStream}, keeping each value's type. */
export function decodeGobItems(bytes: Uint8Array): GobItem[] {
  const dec = new GobStreamDecoder();
  const items: GobItem[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const next = dec.next(bytes, offset);
    items.push(next.item);
    offset = next.offset;
  }
  return items;
}

/** Reads a message's length at `r.pos`; leaves `r` at its body, bounded by its end. */
function messageEnd(r: GobReader): number {
  const at = r.pos;
  const len = r.uintNumber();
  const left = r.end - r.pos;
  if (len === 0) {
    throw new SyntaxError(`Cannot decode gob message at offset ${at}: empty message`);
  }
  if (len > left) {
    throw new RangeError(
      `Cannot decode gob message at offset ${at}: length ${
        r.exactUint(at)
      } exceeds the ${left} bytes left`,
    );
  }
  r.end = r.pos + len;
  return r.end;
}

function typeIdNumber(id: bigint, offset: number): number {
  if (id < 1n || id > BigInt(MAX_TYPE_ID)) {
    throw new SyntaxError(`Cannot decode gob type id at offset ${offset}: invalid id ${id}`);
  }
  return Number(id);
}

function wireDef(id: number, wire: GobStruct): WireDef {
  const present = Object.keys(wire);
  if (present.length !== 1) {
    throw new SyntaxError(
      `Cannot define gob type ${id}: expected one kind, got ${present.length} (${
        present.join(", ")
      })`,
    );
  }
  const kind = present[0];
  const body = wire[kind] as GobStruct;
  const common = (body.CommonType ?? {}) as GobStruct;
  const name = typeof common.Name === "string" ? common.Name : "";
  const ref = (value: GobValue | undefined) => {
    if (typeof value !== "bigint" || value < 1n || value > BigInt(MAX_TYPE_ID)) {
      throw new SyntaxError(`Cannot define gob type ${id} ("${name}"): invalid type id ${value}`);
    }
    return Number(value);
  };
  switch (kind) {
    case "StructT": {
      const fields = (body.Field ?? []) as GobStruct[];
      return {
        kind: "struct",
        name,
        fields: fields.map((f) => [typeof f.Name === "string" ? f.Name : "", ref(f.Id)]),
      };
    }
    case "SliceT":
      return { kind: "slice", name, elem: ref(body.Elem) };
    case "MapT":
      return { kind: "map", name, key: ref(body.Key), elem: ref(body.Elem) };
    default:
      throw new SyntaxError(`Cannot define gob type ${id} ("${name}"): unsupported kind ${kind}`);
  }
}

function decodeTopLevel(r: GobReader, type: GobType): GobValue {
  if (type.kind === "struct") return decodeStruct(r, type, 0);
  const at = r.pos;
  const delta = r.uintNumber();
  if (delta !== 0) {
    throw new SyntaxError(
      `Cannot decode gob value at offset ${at}: top-level ${
        describeGobType(type)
      } must start with 0, got ${r.exactUint(at)}`,
    );
  }
  return decodeValue(r, type, 0);
}

function decodeValue(r: GobReader, type: GobType, depth: number): GobValue {
  switch (type.kind) {
    case "uint":
      return r.uint();
    case "int":
      return r.int();
    case "bool":
      return r.bool();
    case "string":
      return r.string();
    case "bytes":
      return r.byteSlice();
  }
  if (depth >= MAX_GOB_DEPTH) {
    throw new RangeError(
      `Cannot decode gob value at offset ${r.pos}: nested deeper than ${MAX_GOB_DEPTH}`,
    );
  }
  switch (type.kind) {
    case "struct":
      return decodeStruct(r, type, depth + 1);
    case "slice": {
      const count = r.count("slice count");
      const items: GobValue[] = new Array(count);
      for (let i = 0; i < count; i++) items[i] = decodeValue(r, type.elem, depth + 1);
      return items;
    }
    case "map": {
      const count = r.count("map count");
      const map = new Map<GobValue, GobValue>();
      for (let i = 0; i < count; i++) {
        const key = decodeValue(r, type.key, depth + 1);
        map.set(key, decodeValue(r, type.elem, depth + 1));
      }
      return map;
    }
  }
}

function decodeStruct(r: GobReader, type: GobStructType, depth: number): GobStruct {
  const value: GobStruct = {};
  const fields = type.fields;
  let index = -1;
  for (;;) {
    const at = r.pos;
    const delta = r.uintNumber();
    if (delta === 0) return value;
    if (delta >= fields.length - index) {
      throw new SyntaxError(
        `Cannot decode gob ${describeGobType(type)} at offset ${at}: field delta ${
          r.exactUint(at)
        } ` + `after field ${index} exceeds its ${fields.length} fields`,
      );
    }
    index += delta;
    const field = fields[index];
    const name = field[0];
    const fieldValue = decodeValue(r, field[1], depth);
    if (name === "__proto__") {
      Object.defineProperty(value, name, {
        value: fieldValue,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      value[name] = fieldValue;
    }
  }
}

/**
 * Reads a struct field, or `fallback` when the field was not on the wire
 * (Go omits zero values). Throws if the field holds a value of another kind
 * than `fallback`.
 *
 * @example
 * ```ts
 * import { gobField } from "./decoder.ts";
 * gobField({ UID: 5n }, "UID", 0n); // 5n
 * gobField({}, "NickName", ""); // ""
 * ```
 */
export function gobField<T extends GobValue>(struct: GobStruct, name: string, fallback: T): T {
  if (!Object.hasOwn(struct, name)) return fallback;
  const value = struct[name];
  if (!sameKind(value, fallback)) {
    throw new TypeError(
      `Cannot read gob field ${name}: expected ${kindOf(fallback)}, got ${kindOf(value)}`,
    );
  }
  return value as T;
}

function kindOf(value: GobValue): string {
  if (value instanceof Uint8Array) return "bytes";
  if (Array.isArray(value)) return "slice";
  if (value instanceof Map) return "map";
  return typeof value === "object" ? "struct" : typeof value;
}

function sameKind(a: GobValue, b: GobValue): boolean {
  return kindOf(a) === kindOf(b);
}

/**
 * Checks that a decoded type is a struct whose fields, where present, have the
 * expected kinds (Go matches fields by name and rejects a kind mismatch, such
 * as int for uint; unknown fields are ignored, as Go does).
 *
 * @example
 * ```ts
 * import { checkStructKinds } from "./decoder.ts";
 * import { gobStruct, U } from "./types.ts";
 * checkStructKinds(gobStruct("Range", [["Start", U]]), "Range", { Start: "uint", End: "uint" });
 * ```
 */
export function checkStructKinds(
  type: GobType,
  what: string,
  expected: Record<string, GobType["kind"]>,
): void {
  if (type.kind !== "struct") {
    throw new TypeError(`Cannot decode ${what}: expected a struct, got ${describeGobType(type)}`);
  }
  for (const [name, fieldType] of type.fields) {
    const want = expected[name];
    if (Object.hasOwn(expected, name) && fieldType.kind !== want) {
      throw new TypeError(
        `Cannot decode ${what}: field ${name} is ${describeGobType(fieldType)}, expected ${want}`,
      );
    }
  }
}
