/**
 * Gob encoder for the subset Weave uses (`../../../shared/spec/weave-protocol.md`
 * §9.2), driven by a {@link GobType} schema instead of reflection.
 *
 * Byte-for-byte parity with Go needs two of Go's habits:
 *
 * - Type ids come from a registry. Go's is process-global: a struct gets its
 *   id before its fields are visited, a slice or map after its element (and
 *   key) types. {@link GobTypeRegistry} does the same; an encoder without one
 *   gets a private registry, so ids start at 65 on each stream.
 * - Type definitions go out once per stream, before first use, in preorder:
 *   the type itself, then the types of its fields / element / key and value.
 *
 * Values: structs are plain objects keyed by Go field name, slices arrays,
 * maps `Map`s (insertion order is wire order), `[]byte` Uint8Array, integers
 * bigint or safe number. Inside a struct, zero fields are omitted as Go does:
 * 0, false, "", empty `[]byte` or slice, and null/undefined of any kind. A
 * non-null map is always sent, even empty (Go omits only nil maps), and so is
 * a struct-valued field given as an object (Go always sends non-pointer
 * struct fields; null/undefined stands for a nil pointer).
 *
 * @module
 */
import { GobWriter } from "./primitives.ts";
import {
  basicTypeId,
  describeGobType,
  FIRST_USER_TYPE_ID,
  type GobMapType,
  type GobStructType,
  type GobType,
  WIRE_TYPE,
} from "./types.ts";

const MAX_SCHEMA_DEPTH = 64;

/**
 * Allocates type ids the way Go does. Share one registry between encoders to
 * reproduce a Go process's ids (e.g. golden vectors made by one program).
 */
export class GobTypeRegistry {
  #next: number;
  #byKey = new Map<string, number>();
  #byId = new Map<number, GobType>();
  #keys = new WeakMap<GobType, string>();

  /** `firstId` is the id the first registered type gets (Go: 65). */
  constructor(firstId = FIRST_USER_TYPE_ID) {
    this.#next = firstId;
  }

  /**
   * Returns the id of `type`, registering it and every type it reaches first.
   * Types are the same when their structure and names are the same.
   */
  idOf(type: GobType): number {
    const basic = basicTypeId(type);
    if (basic !== undefined) return basic;
    const key = this.#keyOf(type, 0);
    const known = this.#byKey.get(key);
    if (known !== undefined) return known;
    if (type.kind === "struct") {
      const id = this.#allocate(key, type);
      for (const [, fieldType] of type.fields) this.idOf(fieldType);
      return id;
    }
    if (type.kind === "slice") {
      this.idOf(type.elem);
    } else if (type.kind === "map") {
      this.idOf(type.key);
      this.idOf(type.elem);
    }
    return this.#allocate(key, type);
  }

  /** The registered type with this id, if any. */
  typeOf(id: number): GobType | undefined {
    return this.#byId.get(id);
  }

  #allocate(key: string, type: GobType): number {
    const id = this.#next++;
    this.#byKey.set(key, id);
    this.#byId.set(id, type);
    return id;
  }

  #keyOf(type: GobType, depth: number): string {
    const memo = this.#keys.get(type);
    if (memo !== undefined) return memo;
    if (depth > MAX_SCHEMA_DEPTH) {
      throw new RangeError(
        `Cannot register gob type ${
          describeGobType(type)
        }: recursive or nested deeper than ${MAX_SCHEMA_DEPTH}`,
      );
    }
    const d = depth + 1;
    let key: string;
    switch (type.kind) {
      case "struct":
        key = `struct ${JSON.stringify(type.name)}{${
          type.fields.map(([n, t]) => `${JSON.stringify(n)}:${this.#keyOf(t, d)}`).join(",")
        }}`;
        break;
      case "slice":
        key = `slice ${JSON.stringify(type.name ?? "")}[${this.#keyOf(type.elem, d)}]`;
        break;
      case "map":
        key = `map ${JSON.stringify(type.name ?? "")}[${this.#keyOf(type.key, d)}]${
          this.#keyOf(type.elem, d)
        }`;
        break;
      default:
        key = type.kind;
    }
    this.#keys.set(type, key);
    return key;
  }
}

/** Options of {@link GobEncoder}. */
export interface GobEncoderOptions {
  /** Where type ids come from; default: a private registry starting at 65. */
  registry?: GobTypeRegistry;
}

/**
 * One gob stream's encoder: remembers which type definitions it has sent.
 *
 * @example
 * ```ts
 * import { GobEncoder } from "./encoder.ts";
 * import { gobMap, S } from "./types.ts";
 * const enc = new GobEncoder();
 * const bytes = enc.encode(new Map([["Name", "0a:0b:0c:0d:0e:0f"]]), gobMap(S, S));
 * bytes.length; // 43
 * // 0e ff 81 04 01 02 ff 82 00 01 0c 01 0c 00 00 1b ff 82 00 01 04 4e 61 6d 65 11 …
 * ```
 */
export class GobEncoder {
  #registry: GobTypeRegistry;
  #sent = new Set<number>();

  constructor(options: GobEncoderOptions = {}) {
    this.#registry = options.registry ?? new GobTypeRegistry();
  }

  /** Returns the messages for one top-level value: new type definitions, then the value. */
  encode(value: unknown, type: GobType): Uint8Array {
    const out = new GobWriter(256);
    this.encodeInto(out, value, type);
    return out.toBytes();
  }

  /** Like {@link encode}, appending the messages to `out`. */
  encodeInto(out: GobWriter, value: unknown, type: GobType): void {
    const id = this.#registry.idOf(type);
    this.#sendType(type, out);
    const mark = out.beginMessage();
    out.int(id);
    try {
      if (type.kind === "struct") {
        encodeStruct(out, value, type);
      } else {
        out.uint(0);
        encodeValue(out, value, type);
      }
    } catch (error) {
      if (error instanceof EncodeFailure) {
        throw error.toError(type.kind === "struct" && type.name || "value");
      }
      throw error;
    }
    out.endMessage(mark);
  }

  #sendType(type: GobType, out: GobWriter): void {
    if (basicTypeId(type) !== undefined) return;
    const id = this.#registry.idOf(type);
    if (this.#sent.has(id)) return;
    const mark = out.beginMessage();
    out.int(-id);
    encodeStruct(out, this.#wireType(type, id), WIRE_TYPE);
    out.endMessage(mark);
    this.#sent.add(id);
    if (type.kind === "struct") {
      for (const [, fieldType] of type.fields) this.#sendType(fieldType, out);
    } else if (type.kind === "slice") {
      this.#sendType(type.elem, out);
    } else if (type.kind === "map") {
      this.#sendType(type.key, out);
      this.#sendType(type.elem, out);
    }
  }

  #wireType(type: GobType, id: number): Record<string, unknown> {
    const ids = (t: GobType) => this.#registry.idOf(t);
    switch (type.kind) {
      case "struct":
        return {
          StructT: {
            CommonType: { Name: type.name, Id: id },
            Field: type.fields.map(([name, t]) => ({ Name: name, Id: ids(t) })),
          },
        };
      case "slice":
        return { SliceT: { CommonType: { Name: type.name ?? "", Id: id }, Elem: ids(type.elem) } };
      case "map":
        return {
          MapT: {
            CommonType: { Name: type.name ?? "", Id: id },
            Key: ids(type.key),
            Elem: ids(type.elem),
          },
        };
      default:
        throw new TypeError(`Cannot define gob type ${type.kind}: it is predefined`);
    }
  }
}

/**
 * Encodes several top-level values with one encoder (one stream).
 *
 * @example
 * ```ts
 * import { encodeGobStream } from "./encoder.ts";
 * import { BYTES, S, U } from "./types.ts";
 * encodeGobStream([["topology", S], [0x0a0b0c0d0e0fn, U], [new Uint8Array([0xaa]), BYTES]]);
 * ```
 */
export function encodeGobStream(
  values: [unknown, GobType][],
  options: GobEncoderOptions = {},
): Uint8Array {
  const enc = new GobEncoder(options);
  const out = new GobWriter(256);
  for (const [value, type] of values) enc.encodeInto(out, value, type);
  return out.toBytes();
}

/**
 * A value that does not fit its schema, thrown from deep inside and given
 * its path on the way out (so that no path strings are built on success).
 */
class EncodeFailure {
  readonly segments: string[] = [];

  constructor(readonly type: GobType, readonly value: unknown, readonly field?: string) {}

  toError(root: string): TypeError {
    const path = root + this.segments.reverse().join("");
    const { type, value, field } = this;
    if (field !== undefined) {
      return new TypeError(
        `Cannot encode gob value at ${path}: ${describeGobType(type)} has no field "${field}"`,
      );
    }
    const got = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
    return new TypeError(
      `Cannot encode gob value at ${path}: expected ${describeGobType(type)}, got ${got}`,
    );
  }
}

function within(error: unknown, segment: string): unknown {
  if (error instanceof EncodeFailure) error.segments.push(segment);
  return error;
}

function isZero(value: unknown, type: GobType): boolean {
  if (value === undefined || value === null) return true;
  switch (type.kind) {
    case "uint":
    case "int":
      return value === 0 || value === 0n;
    case "bool":
      return value === false;
    case "string":
      return value === "";
    case "bytes":
    case "slice":
      return (value as { length?: unknown }).length === 0;
    default:
      return false;
  }
}

/** A struct type's fields as parallel arrays, with a set of the names. */
interface StructPlan {
  names: string[];
  types: GobType[];
  known: Set<string>;
}

const structPlans = new WeakMap<GobStructType, StructPlan>();

function planOf(type: GobStructType): StructPlan {
  let plan = structPlans.get(type);
  if (plan === undefined) {
    const names = type.fields.map(([name]) => name);
    plan = { names, types: type.fields.map(([, t]) => t), known: new Set(names) };
    structPlans.set(type, plan);
  }
  return plan;
}

function encodeStruct(w: GobWriter, value: unknown, type: GobStructType): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new EncodeFailure(type, value);
  }
  const record = value as Record<string, unknown>;
  const { names, types, known } = planOf(type);
  for (const key of Object.keys(record)) {
    if (!known.has(key)) throw new EncodeFailure(type, value, key);
  }
  let previous = -1;
  for (let index = 0; index < names.length; index++) {
    const fieldValue = record[names[index]];
    const fieldType = types[index];
    if (isZero(fieldValue, fieldType)) continue;
    w.uint(index - previous);
    previous = index;
    try {
      encodeValue(w, fieldValue, fieldType);
    } catch (error) {
      throw within(error, `.${names[index]}`);
    }
  }
  w.uint(0);
}

function encodeValue(w: GobWriter, value: unknown, type: GobType): void {
  switch (type.kind) {
    case "uint":
      if (typeof value !== "bigint" && typeof value !== "number") {
        throw new EncodeFailure(type, value);
      }
      return w.uint(value);
    case "int":
      if (typeof value !== "bigint" && typeof value !== "number") {
        throw new EncodeFailure(type, value);
      }
      return w.int(value);
    case "bool":
      if (typeof value !== "boolean") throw new EncodeFailure(type, value);
      return w.bool(value);
    case "string":
      if (typeof value !== "string") throw new EncodeFailure(type, value);
      return w.string(value);
    case "bytes":
      if (!(value instanceof Uint8Array)) throw new EncodeFailure(type, value);
      return w.bytes(value);
    case "struct":
      return encodeStruct(w, value, type);
    case "slice":
      return encodeSlice(w, value, type.elem, type);
    case "map":
      return encodeMap(w, value, type);
  }
}

function encodeSlice(w: GobWriter, value: unknown, elem: GobType, type: GobType): void {
  const items = value ?? [];
  if (!Array.isArray(items)) throw new EncodeFailure(type, value);
  w.uint(items.length);
  for (let i = 0; i < items.length; i++) {
    try {
      encodeValue(w, items[i], elem);
    } catch (error) {
      throw within(error, `[${i}]`);
    }
  }
}

function encodeMap(w: GobWriter, value: unknown, type: GobMapType): void {
  const map = value ?? new Map();
  if (!(map instanceof Map)) throw new EncodeFailure(type, value);
  w.uint(map.size);
  for (const [k, v] of map) {
    try {
      encodeValue(w, k, type.key);
    } catch (error) {
      throw within(error, "{key}");
    }
    try {
      encodeValue(w, v, type.elem);
    } catch (error) {
      throw within(error, `[${String(k)}]`);
    }
  }
}
