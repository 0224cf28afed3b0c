/**
 * The parts of Go's `fmt` and `strconv` that Weave's status texts and
 * Prometheus output depend on: `Sprintf` verbs `%v %s %d %f %e %g %q %x %t %%`
 * with flags `-`, `0`, `+`, space, width and precision; `%v` of report values;
 * and the float formats (`'g'` shortest, `'f'` with round-half-even on exact
 * ties, as Go rounds the exact binary value).
 *
 * Widths count code points, as Go counts runes.
 *
 * @module
 */

interface Spec {
  minus: boolean;
  zero: boolean;
  plus: boolean;
  space: boolean;
  width?: number;
  precision?: number;
}

/**
 * Formats like Go's `fmt.Sprintf` for the supported verbs; a missing argument
 * prints `%!v(MISSING)` and a wrong type `%!d(string=x)`, as Go does.
 *
 * @example
 * ```ts
 * import { goSprintf } from "./fmt.ts";
 * goSprintf("%-6v|%8d|%04.1f", "ab", 42, 37.5); // "ab    |      42|37.5"
 * ```
 */
export function goSprintf(format: string, ...args: unknown[]): string {
  let out = "";
  let next = 0;
  const re = /%([-+ 0#]*)(\d+)?(?:\.(\d*))?([a-zA-Z%])/g;
  let last = 0;
  for (let m = re.exec(format); m !== null; m = re.exec(format)) {
    out += format.slice(last, m.index);
    last = re.lastIndex;
    const verb = m[4];
    if (verb === "%") {
      out += "%";
      continue;
    }
    const spec: Spec = {
      minus: m[1].includes("-"),
      zero: m[1].includes("0"),
      plus: m[1].includes("+"),
      space: m[1].includes(" "),
      width: m[2] === undefined ? undefined : Number(m[2]),
      precision: m[3] === undefined ? undefined : Number(m[3] || "0"),
    };
    if (next >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatOne(verb, spec, args[next++]);
  }
  out += format.slice(last);
  if (next < args.length) {
    out += "%!(EXTRA " + args.slice(next).map((a) => `${goTypeName(a)}=${goValueString(a)}`)
      .join(", ") +
      ")";
  }
  return out;
}

function formatOne(verb: string, spec: Spec, arg: unknown): string {
  switch (verb) {
    case "v":
      return formatVerbV(spec, arg);
    case "s":
      if (typeof arg !== "string") return badVerb(verb, arg);
      return pad(truncate(arg, spec.precision), spec, false);
    case "q":
      if (typeof arg !== "string") return badVerb(verb, arg);
      return pad(JSON.stringify(arg), spec, false);
    case "t":
      if (typeof arg !== "boolean") return badVerb(verb, arg);
      return pad(String(arg), spec, false);
    case "d":
    case "x":
    case "X":
      return formatInteger(verb, spec, arg);
    case "f":
    case "F":
    case "e":
    case "g":
      if (typeof arg !== "number") return badVerb(verb, arg);
      return padNumber(formatFloat(arg, verb === "F" ? "f" : verb, spec.precision), spec);
  }
  return badVerb(verb, arg);
}

function formatVerbV(spec: Spec, arg: unknown): string {
  if (typeof arg === "number" || typeof arg === "bigint") {
    return padNumber(goValueString(arg), spec);
  }
  return pad(truncate(goValueString(arg), spec.precision), spec, false);
}

function formatInteger(verb: string, spec: Spec, arg: unknown): string {
  let value: bigint;
  if (typeof arg === "bigint") value = arg;
  else if (typeof arg === "number" && Number.isInteger(arg)) value = BigInt(arg);
  else if (typeof arg === "string" && verb !== "d") {
    const hex = Array.from(new TextEncoder().encode(arg), (b) => b.toString(16).padStart(2, "0"));
    const text = hex.join("");
    return pad(verb === "X" ? text.toUpperCase() : text, spec, false);
  } else return badVerb(verb, arg);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  let digits = verb === "d" ? abs.toString() : abs.toString(16);
  if (verb === "X") digits = digits.toUpperCase();
  return padNumber((negative ? "-" : "") + digits, spec);
}

function badVerb(verb: string, arg: unknown): string {
  if (arg === null || arg === undefined) return `%!${verb}(<nil>)`;
  return `%!${verb}(${goTypeName(arg)}=${goValueString(arg)})`;
}

function goTypeName(arg: unknown): string {
  switch (typeof arg) {
    case "string":
      return "string";
    case "boolean":
      return "bool";
    case "bigint":
      return "int64";
    case "number":
      return Number.isInteger(arg) ? "int" : "float64";
  }
  if (Array.isArray(arg)) return "[]interface {}";
  return arg === null || arg === undefined ? "<nil>" : "map[string]interface {}";
}

/**
 * Go's `%v` of a report value: integers in decimal, other numbers in `'g'`
 * shortest form, `<nil>`, `[a b]` for lists and `map[k:v]` (sorted keys) for objects.
 */
export function goValueString(value: unknown): string {
  switch (typeof value) {
    case "string":
      return value;
    case "bigint":
      return value.toString();
    case "boolean":
      return String(value);
    case "number":
      return Number.isInteger(value) && Math.abs(value) < 1e21
        ? (Object.is(value, -0) ? "0" : value.toFixed(0))
        : formatFloat(value, "g");
  }
  if (value === null || value === undefined) return "<nil>";
  if (Array.isArray(value)) return "[" + value.map(goValueString).join(" ") + "]";
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort(compareBytes);
  return "map[" + keys.map((k) => `${k}:${goValueString(record[k])}`).join(" ") + "]";
}

/** Compares strings as Go compares them (by UTF-8 bytes; code points suffice). */
export function compareBytes(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

function runeLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function truncate(text: string, precision: number | undefined): string {
  if (precision === undefined) return text;
  return Array.from(text).slice(0, precision).join("");
}

function pad(text: string, spec: Spec, zeroAllowed: boolean): string {
  const width = spec.width ?? 0;
  const missing = width - runeLength(text);
  if (missing <= 0) return text;
  if (spec.minus) return text + " ".repeat(missing);
  if (spec.zero && zeroAllowed) {
    const sign = /^[-+ ]/.test(text) ? text[0] : "";
    return sign + "0".repeat(missing) + text.slice(sign.length);
  }
  return " ".repeat(missing) + text;
}

function padNumber(text: string, spec: Spec): string {
  let signed = text;
  if (!text.startsWith("-")) {
    if (spec.plus) signed = "+" + text;
    else if (spec.space) signed = " " + text;
  }
  const finite = !/Inf|NaN/.test(signed);
  return pad(signed, spec, finite);
}

/**
 * Formats a float64 like Go's `strconv.FormatFloat(x, fmt, prec, 64)`;
 * `prec` undefined means the shortest exact form for `'g'`/`'e'` and 6 for `'f'`
 * (as `%f` does).
 *
 * @example
 * ```ts
 * import { formatFloat } from "./fmt.ts";
 * formatFloat(1048576, "g"); // "1.048576e+06"
 * formatFloat(0.25, "f", 1); // "0.2" (round half to even, as Go)
 * ```
 */
export function formatFloat(x: number, fmt: "g" | "e" | "f", prec?: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "+Inf";
  if (x === -Infinity) return "-Inf";
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  const abs = Math.abs(x);
  if (fmt === "f") return sign + fixed(abs, prec ?? 6);
  if (fmt === "e") {
    const { digits, exp } = decimalDigits(abs, prec);
    return sign + eForm(digits, exp);
  }
  // 'g': the exponent form below 1e-4 and from 10^precision (6 when shortest).
  const significant = prec === undefined ? undefined : Math.max(prec, 1) - 1;
  const { digits, exp } = decimalDigits(abs, significant);
  const trimmed = significant === undefined ? digits : digits.replace(/(.)0+$/, "$1");
  let eprec = prec === undefined ? 6 : Math.max(prec, 1);
  if (prec !== undefined && eprec > trimmed.length && trimmed.length >= exp + 1) {
    eprec = trimmed.length;
  }
  if (exp < -4 || exp >= eprec) return sign + eForm(trimmed, exp);
  return sign + fForm(trimmed, exp);
}

/** Shortest (or `prec`+1-digit) decimal digits of a non-negative float and its exponent. */
function decimalDigits(abs: number, prec?: number): { digits: string; exp: number } {
  if (abs === 0) return { digits: "0", exp: 0 };
  const text = prec === undefined ? abs.toExponential() : abs.toExponential(prec);
  const [mantissa, e] = text.split("e");
  return { digits: mantissa.replace(".", ""), exp: Number(e) };
}

function eForm(digits: string, exp: number): string {
  const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = Math.abs(exp);
  return `${mantissa}e${exp < 0 ? "-" : "+"}${e < 10 ? "0" + e : e}`;
}

function fForm(digits: string, exp: number): string {
  if (exp < 0) return "0." + "0".repeat(-exp - 1) + digits;
  if (digits.length <= exp + 1) return digits + "0".repeat(exp + 1 - digits.length);
  return digits.slice(0, exp + 1) + "." + digits.slice(exp + 1);
}

/**
 * `abs.toFixed(prec)` but with Go's rounding: JavaScript rounds exact ties up,
 * Go rounds them to even.
 */
function fixed(abs: number, prec: number): string {
  if (abs >= 1e21) return BigInt(abs).toString() + (prec > 0 ? "." + "0".repeat(prec) : "");
  const p = Math.min(prec, 100);
  const rounded = abs.toFixed(p);
  const exact = abs.toFixed(100);
  const tail = exact.slice(exact.indexOf(".") + 1 + p);
  if (!/^50*$/.test(tail)) return rounded + "0".repeat(prec - p);
  // An exact tie: keep the truncated value if its last digit is even.
  const truncated = exact.slice(0, exact.indexOf(".") + (p > 0 ? 1 + p : 0));
  const lastDigit = Number(truncated.replace(".", "").slice(-1));
  return (lastDigit % 2 === 0 ? truncated : rounded) + "0".repeat(prec - p);
}
