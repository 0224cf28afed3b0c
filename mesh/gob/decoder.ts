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
import {
  decodeBool,
  decodeBytes,
  decodeCount,
  decodeInt,
  decodeString,
  decodeUint,
} from "./primitives.ts";
import { B, BYTES, describeGobType, type GobType, I, S, TYPE_ID, U, WIRE_TYPE } from "./types.ts";

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
    for (;;) {
      if (pos >= bytes.length) {
        throw new RangeError(
          `Cannot decode gob stream at offset ${pos}: ended before a value${
            pos > offset ? " (after type definitions)" : ""
          }`,
        );
      }
      const { start, end } = messageBounds(bytes, pos);
      let at = start;
      while (at < end) {
        const id = decodeInt(bytes, at, end);
        if (id.value < 0n) {
          at = this.#define(typeIdNumber(-id.value, at), bytes, id.offset, end);
          continue;
        }
        const typeId = typeIdNumber(id.value, at);
        const item = this.#value(typeId, bytes, id.offset, end);
        if (item.offset !== end) {
          throw new SyntaxError(
            `Cannot decode gob value at offset ${at}: ${
              end - item.offset
            } extra bytes in the message`,
          );
        }
        return { item: { value: item.value, typeId, type: item.type }, offset: end };
      }
      pos = end;
    }
  }

  #define(id: number, bytes: Uint8Array, offset: number, end: number): number {
    if (RESERVED_IDS.has(id) || this.#defs.has(id)) {
      throw new SyntaxError(`Cannot define gob type ${id} at offset ${offset}: id already in use`);
    }
    const wire = decodeStruct(bytes, offset, end, WIRE_TYPE, 0);
    this.#defs.set(id, wireDef(id, wire.value));
    return wire.offset;
  }

  #value(typeId: number, bytes: Uint8Array, offset: number, end: number) {
    const type = this.#resolve(typeId);
    if (type.kind === "struct") {
      return { ...decodeValue(bytes, offset, end, type, 0), type };
    }
    const delta = decodeUint(bytes, offset, end);
    if (delta.value !== 0n) {
      throw new SyntaxError(
        `Cannot decode gob value at offset ${offset}: top-level ${
          describeGobType(type)
        } must start with 0, got ${delta.value}`,
      );
    }
    return { ...decodeValue(bytes, delta.offset, end, type, 0), type };
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

function messageBounds(bytes: Uint8Array, offset: number): { start: number; end: number } {
  const len = decodeUint(bytes, offset);
  const left = bytes.length - len.offset;
  if (len.value === 0n) {
    throw new SyntaxError(`Cannot decode gob message at offset ${offset}: empty message`);
  }
  if (len.value > BigInt(left)) {
    throw new RangeError(
      `Cannot decode gob message at offset ${offset}: length ${len.value} exceeds the ${left} bytes left`,
    );
  }
  return { start: len.offset, end: len.offset + Number(len.value) };
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

type Step = { value: GobValue; offset: number };

function decodeValue(
  bytes: Uint8Array,
  offset: number,
  end: number,
  type: GobType,
  depth: number,
): Step {
  switch (type.kind) {
    case "uint":
      return decodeUint(bytes, offset, end);
    case "int":
      return decodeInt(bytes, offset, end);
    case "bool":
      return decodeBool(bytes, offset, end);
    case "string":
      return decodeString(bytes, offset, end);
    case "bytes":
      return decodeBytes(bytes, offset, end);
  }
  if (depth >= MAX_GOB_DEPTH) {
    throw new RangeError(
      `Cannot decode gob value at offset ${offset}: nested deeper than ${MAX_GOB_DEPTH}`,
    );
  }
  switch (type.kind) {
    case "struct":
      return decodeStruct(bytes, offset, end, type, depth + 1);
    case "slice": {
      const count = decodeCount(bytes, offset, end, "slice count");
      const items: GobValue[] = [];
      let at = count.offset;
      for (let i = 0; i < count.value; i++) {
        const item = decodeValue(bytes, at, end, type.elem, depth + 1);
        items.push(item.value);
        at = item.offset;
      }
      return { value: items, offset: at };
    }
    case "map": {
      const count = decodeCount(bytes, offset, end, "map count");
      const map = new Map<GobValue, GobValue>();
      let at = count.offset;
      for (let i = 0; i < count.value; i++) {
        const key = decodeValue(bytes, at, end, type.key, depth + 1);
        const elem = decodeValue(bytes, key.offset, end, type.elem, depth + 1);
        map.set(key.value, elem.value);
        at = elem.offset;
      }
      return { value: map, offset: at };
    }
  }
}

function decodeStruct(
  bytes: Uint8Array,
  offset: number,
  end: number,
  type: Extract<GobType, { kind: "struct" }>,
  depth: number,
): { value: GobStruct; offset: number } {
  const value: GobStruct = {};
  let index = -1;
  let at = offset;
  for (;;) {
    const delta = decodeUint(bytes, at, end);
    if (delta.value === 0n) return { value, offset: delta.offset };
    if (delta.value >= BigInt(type.fields.length - index)) {
      throw new SyntaxError(
        `Cannot decode gob ${describeGobType(type)} at offset ${at}: field delta ${delta.value} ` +
          `after field ${index} exceeds its ${type.fields.length} fields`,
      );
    }
    index += Number(delta.value);
    const [name, fieldType] = type.fields[index];
    const field = decodeValue(bytes, delta.offset, end, fieldType, depth);
    Object.defineProperty(value, name, {
      value: field.value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    at = field.offset;
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
