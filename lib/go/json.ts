/**
 * A JSON writer that lays out values exactly as Go's `encoding/json` does, so
 * `GET /report` is byte-identical to Weave's `json.MarshalIndent(v, "", "    ")`
 * and the template `json` function matches `json.Marshal`.
 *
 * Differences from `JSON.stringify` that matter for byte equality:
 * - `bigint` is written as an exact integer (UIDs are 64-bit);
 * - `<`, `>`, `&`, U+2028 and U+2029 are escaped as `\u003c`… (Go escapes HTML);
 * - control characters other than `\n`, `\r`, `\t` use `\u00xx` (Go 1.19 has no `\b`, `\f`);
 * - empty arrays and objects stay `[]` / `{}` even when indenting;
 * - `-0` is written `-0`; NaN and infinities are refused (Go refuses them too).
 *
 * Object keys keep insertion order (Go sorts map keys, so builders of maps such
 * as `Attrs` insert them sorted); keys whose value is `undefined` are left out,
 * which is how optional (`omitempty`) sections disappear.
 *
 * @module
 */

/** Options of {@link toGoJson}. */
export interface GoJsonOptions {
  /** Indent unit; `""` (default) writes compact JSON like `json.Marshal`. */
  indent?: string;
}

/**
 * Encodes a value as Go's `encoding/json` would.
 *
 * @example
 * ```ts
 * import { toGoJson } from "./json.ts";
 * toGoJson({ UID: 7454224211782294753n, A: [] }, { indent: "    " });
 * // '{\n    "UID": 7454224211782294753,\n    "A": []\n}'
 * ```
 */
export function toGoJson(value: unknown, options: GoJsonOptions = {}): string {
  const out: string[] = [];
  writeValue(out, value, options.indent ?? "", "", new Set());
  return out.join("");
}

function writeValue(
  out: string[],
  value: unknown,
  indent: string,
  prefix: string,
  seen: Set<object>,
): void {
  switch (typeof value) {
    case "string":
      out.push(quoteGoJson(value));
      return;
    case "bigint":
      out.push(value.toString());
      return;
    case "number":
      out.push(formatJsonNumber(value));
      return;
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "undefined":
    case "function":
    case "symbol":
      out.push("null");
      return;
  }
  if (value === null) {
    out.push("null");
    return;
  }
  const object = value as object;
  if (seen.has(object)) throw new TypeError("Cannot encode JSON: the value contains a cycle");
  seen.add(object);
  if (object instanceof Uint8Array) out.push(quoteGoJson(toBase64(object)));
  else if (Array.isArray(object)) writeArray(out, object, indent, prefix, seen);
  else writeObject(out, object as Record<string, unknown>, indent, prefix, seen);
  seen.delete(object);
}

function writeArray(
  out: string[],
  items: unknown[],
  indent: string,
  prefix: string,
  seen: Set<object>,
): void {
  if (items.length === 0) {
    out.push("[]");
    return;
  }
  const inner = prefix + indent;
  out.push("[");
  items.forEach((item, i) => {
    if (i > 0) out.push(",");
    if (indent) out.push("\n", inner);
    writeValue(out, item, indent, inner, seen);
  });
  if (indent) out.push("\n", prefix);
  out.push("]");
}

function writeObject(
  out: string[],
  record: Record<string, unknown>,
  indent: string,
  prefix: string,
  seen: Set<object>,
): void {
  const keys = Object.keys(record).filter((k) => record[k] !== undefined);
  if (keys.length === 0) {
    out.push("{}");
    return;
  }
  const inner = prefix + indent;
  out.push("{");
  keys.forEach((key, i) => {
    if (i > 0) out.push(",");
    if (indent) out.push("\n", inner);
    out.push(quoteGoJson(key), indent ? ": " : ":");
    writeValue(out, record[key], indent, inner, seen);
  });
  if (indent) out.push("\n", prefix);
  out.push("}");
}

/** Go's float64 JSON form: shortest digits, exponent only below 1e-6 or from 1e21. */
function formatJsonNumber(n: number): string {
  if (!Number.isFinite(n)) {
    throw new RangeError(`Cannot encode JSON: unsupported number ${n}`);
  }
  // JavaScript's Number#toString switches to exponent form at the same
  // thresholds and with the same exponent spelling (`1e-7`, `1e+21`) as Go.
  return Object.is(n, -0) ? "-0" : String(n);
}

const HEX = "0123456789abcdef";

/**
 * Quotes a string as Go's `encoding/json` does (HTML-safe, lone surrogates
 * replaced by U+FFFD).
 */
export function quoteGoJson(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += text[i] + text[i + 1];
        i++;
      } else {
        out += "\ufffd";
      }
      continue;
    }
    out += escapeUnit(c, text[i]);
  }
  return out + '"';
}

function escapeUnit(c: number, ch: string): string {
  switch (c) {
    case 0x22:
      return '\\"';
    case 0x5c:
      return "\\\\";
    case 0x0a:
      return "\\n";
    case 0x0d:
      return "\\r";
    case 0x09:
      return "\\t";
  }
  if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) {
    return "\\u" + HEX[(c >> 12) & 15] + HEX[(c >> 8) & 15] + HEX[(c >> 4) & 15] + HEX[c & 15];
  }
  return ch;
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
