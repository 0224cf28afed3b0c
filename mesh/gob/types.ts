/**
 * The schema language of the gob subset: a {@link GobType} describes the Go
 * type of a value to encode (or the wire type a decoded value had). Only what
 * Weave sends is covered: unsigned and signed integers, bool, string, `[]byte`,
 * structs, slices and maps (`../../../shared/spec/weave-protocol.md` §9).
 *
 * Go pointers are transparent on the wire, so a `*Ring` field is simply a
 * struct field whose value may be absent. Type names are informational for
 * decoders but part of the bytes, so schemas carry the names Go would send
 * (empty for struct types reached only as map key/element or pointer element).
 *
 * @module
 */

/** A gob type: the subset of Go types Weave puts on the wire. */
export type GobType =
  | { kind: "uint" }
  | { kind: "int" }
  | { kind: "bool" }
  | { kind: "string" }
  | { kind: "bytes" }
  | GobStructType
  | GobSliceType
  | GobMapType;

/** A struct type: fields in declaration order (the order is the wire order). */
export interface GobStructType {
  kind: "struct";
  name: string;
  fields: [string, GobType][];
}

/** A slice type other than `[]byte`. */
export interface GobSliceType {
  kind: "slice";
  name?: string;
  elem: GobType;
}

/** A map type; a decoded map keeps wire order. */
export interface GobMapType {
  kind: "map";
  name?: string;
  key: GobType;
  elem: GobType;
}

/** Go `uint*` kinds (and named types based on them, like PeerName). */
export const U: GobType = Object.freeze({ kind: "uint" });
/** Go `int*` kinds. */
export const I: GobType = Object.freeze({ kind: "int" });
/** Go `bool`. */
export const B: GobType = Object.freeze({ kind: "bool" });
/** Go `string`. */
export const S: GobType = Object.freeze({ kind: "string" });
/** Go `[]byte`. */
export const BYTES: GobType = Object.freeze({ kind: "bytes" });

/**
 * Builds a struct type.
 *
 * @example
 * ```ts
 * import { gobStruct, U } from "./types.ts";
 * const range = gobStruct("Range", [["Start", U], ["End", U]]);
 * range.fields.map(([name]) => name); // ["Start", "End"]
 * ```
 */
export function gobStruct(name: string, fields: [string, GobType][]): GobStructType {
  return { kind: "struct", name, fields };
}

/**
 * Builds a slice type; `name` is what Go sends as the type name ("" when unnamed).
 *
 * @example
 * ```ts
 * import { gobSlice, U } from "./types.ts";
 * const seeds = gobSlice(U, "[]mesh.PeerName");
 * seeds.name; // "[]mesh.PeerName"
 * ```
 */
export function gobSlice(elem: GobType, name = ""): GobSliceType {
  return { kind: "slice", name, elem };
}

/**
 * Builds a map type; `name` is what Go sends as the type name ("" when unnamed).
 *
 * @example
 * ```ts
 * import { gobMap, S } from "./types.ts";
 * const features = gobMap(S, S);
 * features.key === S; // true
 * ```
 */
export function gobMap(key: GobType, elem: GobType, name = ""): GobMapType {
  return { kind: "map", name, key, elem };
}

/** Predefined gob type ids (fixed by the gob package, never sent as definitions). */
export const TYPE_ID = Object.freeze({
  bool: 1,
  int: 2,
  uint: 3,
  float: 4,
  bytes: 5,
  string: 6,
  complex: 7,
  interface: 8,
  wireType: 16,
  arrayType: 17,
  commonType: 18,
  sliceType: 19,
  structType: 20,
  fieldType: 21,
  fieldTypeSlice: 22,
  mapType: 23,
});

/** The lowest id Go grants to a user type; the first definition in a process gets it. */
export const FIRST_USER_TYPE_ID = 65;

/** Returns the predefined id of a basic kind, or undefined for composite kinds. */
export function basicTypeId(type: GobType): number | undefined {
  switch (type.kind) {
    case "uint":
    case "int":
    case "bool":
    case "string":
    case "bytes":
      return TYPE_ID[type.kind];
    default:
      return undefined;
  }
}

const commonType = gobStruct("CommonType", [["Name", S], ["Id", I]]);
const fieldType = gobStruct("fieldType", [["Name", S], ["Id", I]]);

/**
 * Go's `wireType`, the value carried by a type definition message. Its fields
 * beyond MapT (GobEncoderT, BinaryMarshalerT, TextMarshalerT) hold a
 * CommonType each; they are listed so that decoders recognise them.
 */
export const WIRE_TYPE: GobStructType = gobStruct("wireType", [
  ["ArrayT", gobStruct("arrayType", [["CommonType", commonType], ["Elem", I], ["Len", I]])],
  ["SliceT", gobStruct("sliceType", [["CommonType", commonType], ["Elem", I]])],
  [
    "StructT",
    gobStruct("structType", [["CommonType", commonType], ["Field", gobSlice(fieldType)]]),
  ],
  ["MapT", gobStruct("mapType", [["CommonType", commonType], ["Key", I], ["Elem", I]])],
  ["GobEncoderT", gobStruct("gobEncoderType", [["CommonType", commonType]])],
  ["BinaryMarshalerT", gobStruct("gobEncoderType", [["CommonType", commonType]])],
  ["TextMarshalerT", gobStruct("gobEncoderType", [["CommonType", commonType]])],
]);

/**
 * Human-readable form of a type, for error messages and logs.
 *
 * @example
 * ```ts
 * import { describeGobType, gobMap, S } from "./types.ts";
 * describeGobType(gobMap(S, S)); // "map[string]string"
 * ```
 */
export function describeGobType(type: GobType, depth = 0): string {
  if (depth > 8) return "…";
  switch (type.kind) {
    case "struct":
      return `struct ${type.name === "" ? "(anonymous)" : type.name}`;
    case "slice":
      return `[]${describeGobType(type.elem, depth + 1)}`;
    case "map":
      return `map[${describeGobType(type.key, depth + 1)}]${describeGobType(type.elem, depth + 1)}`;
    case "bytes":
      return "[]byte";
    default:
      return type.kind;
  }
}
