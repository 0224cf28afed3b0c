/**
 * A subset of Go's `text/template`, evaluated against any plain value (api/ runs it on the
 * report for `GET /report?format=…` and `weave report -f …`; Weave adds a `json` function).
 *
 * Supported: literal text; `{{.A.B}}`, `{{.}}`, `{{$}}`, `{{$x := …}}`, `{{$x.A}}`;
 * pipelines `{{.X | json}}`; `if`/`else if`/`else`/`with`/`range` (with
 * `$i, $e :=` and `else`) … `end`; trim markers `{{-`/`-}}`; comments
 * `{{/* … *\/}}`; string, raw-string, number, `true`/`false`/`nil` literals;
 * parentheses; functions `json len index printf print println eq ne lt le gt
 * ge and or not`. Values print as Go's `%v`; a missing key prints `<no value>`.
 *
 * @module
 */
import { compareBytes, goSprintf, goValueString } from "./fmt.ts";
import { toGoJson } from "./json.ts";

/** A template that failed to parse or to execute; the message says where and why. */
export class TemplateError extends SyntaxError {
  constructor(message: string) {
    super(message);
    this.name = "TemplateError";
  }
}

type Token =
  | { t: "field"; v: string; tight: boolean }
  | { t: "dot" | "lparen" | "rparen" | "pipe" | "decl" | "assign" | "comma"; tight: boolean }
  | { t: "var" | "ident"; v: string; tight: boolean }
  | { t: "lit"; v: unknown; tight: boolean };

type Operand =
  | { kind: "dot" }
  | { kind: "lit"; value: unknown }
  | { kind: "ident"; name: string }
  | { kind: "var"; name: string; fields: string[] }
  | { kind: "field"; fields: string[] }
  | { kind: "sub"; pipe: Pipe; fields: string[] };

interface Pipe {
  vars: string[];
  declare: boolean;
  cmds: Operand[][];
}

interface BlockNode {
  kind: "if" | "with" | "range";
  pipe: Pipe;
  body: Node[];
  alt: Node[];
}

type Node = { kind: "text"; text: string } | { kind: "action"; pipe: Pipe } | BlockNode;

/**
 * Parses and executes a template against `data`.
 *
 * @example
 * ```ts
 * import { executeTemplate } from "./template.ts";
 * executeTemplate("{{.Version}} {{json .Router.Name}}", { Version: "2.8.1", Router: { Name: "a" } });
 * // '2.8.1 "a"'
 * ```
 */
export function executeTemplate(source: string, data: unknown): string {
  const nodes = parseTemplate(source);
  const out: string[] = [];
  execNodes(nodes, data, new Scope(undefined, data), out);
  return out.join("");
}

// ---------------------------------------------------------------- lexing

interface Chunk {
  text?: string;
  tokens?: Token[];
}

function splitChunks(src: string): Chunk[] {
  const chunks: Chunk[] = [];
  let pos = 0;
  let trimNext = false;
  while (pos <= src.length) {
    const open = src.indexOf("{{", pos);
    let text = src.slice(pos, open < 0 ? src.length : open);
    if (trimNext) text = text.replace(/^\s+/, "");
    if (open < 0) {
      if (text) chunks.push({ text });
      break;
    }
    let i = open + 2;
    if (src.startsWith("- ", i) || (src[i] === "-" && /\s/.test(src[i + 1] ?? ""))) {
      text = text.replace(/\s+$/, "");
      i += 1;
    }
    if (text) chunks.push({ text });
    const { tokens, end, trimAfter } = lexAction(src, i);
    if (tokens.length > 0) chunks.push({ tokens });
    trimNext = trimAfter;
    pos = end;
  }
  return chunks;
}

function lexAction(
  src: string,
  start: number,
): { tokens: Token[]; end: number; trimAfter: boolean } {
  const tokens: Token[] = [];
  let i = start;
  let tight = false;
  while (true) {
    if (i >= src.length) throw new TemplateError(`template: unclosed action at offset ${start}`);
    const c = src[i];
    if (src.startsWith("/*", i)) {
      const close = src.indexOf("*/", i + 2);
      if (close < 0) throw new TemplateError("template: unclosed comment");
      i = close + 2;
      continue;
    }
    if (/\s/.test(c)) {
      const ws = /^\s+/.exec(src.slice(i))![0];
      if (src.startsWith("-}}", i + ws.length)) {
        return { tokens, end: i + ws.length + 3, trimAfter: true };
      }
      i += ws.length;
      tight = false;
      continue;
    }
    if (src.startsWith("}}", i)) return { tokens, end: i + 2, trimAfter: false };
    const [token, length] = lexToken(src.slice(i), tight, i);
    tokens.push(token);
    tight = true;
    i += length;
  }
}

const PUNCTUATION: Record<string, Token["t"]> = {
  ":=": "decl",
  "(": "lparen",
  ")": "rparen",
  "|": "pipe",
  "=": "assign",
  ",": "comma",
};

/** Reads one token at the start of `rest`; returns it with its length. */
function lexToken(rest: string, tight: boolean, offset: number): [Token, number] {
  let m: RegExpExecArray | null;
  if ((m = /^\.([A-Za-z_][A-Za-z0-9_]*)/.exec(rest))) {
    return [{ t: "field", v: m[1], tight }, m[0].length];
  }
  if ((m = /^[-+]?(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)/.exec(rest))) {
    return [{ t: "lit", v: Number(m[0]), tight }, m[0].length];
  }
  if (rest[0] === ".") return [{ t: "dot", tight }, 1];
  if ((m = /^\$[A-Za-z0-9_]*/.exec(rest))) return [{ t: "var", v: m[0], tight }, m[0].length];
  if ((m = /^"(?:[^"\\\n]|\\.)*"/.exec(rest))) {
    return [{ t: "lit", v: unquote(m[0]), tight }, m[0].length];
  }
  if ((m = /^`[^`]*`/.exec(rest))) return [{ t: "lit", v: m[0].slice(1, -1), tight }, m[0].length];
  if ((m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest))) {
    const word = m[0];
    const literal = word === "true"
      ? true
      : word === "false"
      ? false
      : word === "nil"
      ? null
      : word;
    const token: Token = literal === word
      ? { t: "ident", v: word, tight }
      : { t: "lit", v: literal, tight };
    return [token, word.length];
  }
  if ((m = /^(:=|[()|=,])/.exec(rest))) {
    return [{ t: PUNCTUATION[m[0]], tight } as Token, m[0].length];
  }
  throw new TemplateError(`template: unexpected "${rest[0]}" in action at offset ${offset}`);
}

function unquote(literal: string): string {
  try {
    return JSON.parse(
      literal.replace(/\\([abfnrtv'])/g, (_, e: string) => {
        const map: Record<string, string> = { a: "\\u0007", v: "\\u000b", "'": "'" };
        return map[e] ?? `\\${e}`;
      }).replace(/\\x([0-9a-fA-F]{2})/g, "\\u00$1"),
    );
  } catch {
    throw new TemplateError(`template: malformed string literal ${literal}`);
  }
}

// ---------------------------------------------------------------- parsing

/** Parses a template into its node tree; throws {@link TemplateError}. */
function parseTemplate(source: string): Node[] {
  const chunks = splitChunks(source);
  let pos = 0;
  const parseList = (ends: string[]): { nodes: Node[]; end: string } => {
    const nodes: Node[] = [];
    while (pos < chunks.length) {
      const chunk = chunks[pos++];
      if (chunk.text !== undefined) {
        nodes.push({ kind: "text", text: chunk.text });
        continue;
      }
      const tokens = chunk.tokens!;
      const head = tokens[0].t === "ident" ? (tokens[0] as { v: string }).v : "";
      if (head === "end" || head === "else") {
        if (!ends.includes(head)) throw new TemplateError(`template: unexpected {{${head}}}`);
        if (head === "else") pos--; // let the block parser read the else
        return { nodes, end: head };
      }
      if (head === "if" || head === "with" || head === "range") {
        nodes.push(parseBlock(head, tokens.slice(1)));
      } else if (["define", "template", "block", "break", "continue"].includes(head)) {
        throw new TemplateError(`template: {{${head}}} is not supported`);
      } else {
        nodes.push({ kind: "action", pipe: parsePipe(tokens) });
      }
    }
    if (ends.length > 0) throw new TemplateError("template: unexpected EOF: missing {{end}}");
    return { nodes, end: "" };
  };
  const parseBlock = (kind: "if" | "with" | "range", tokens: Token[]): Node => {
    if (tokens.length === 0) throw new TemplateError(`template: missing value for ${kind}`);
    const pipe = parsePipe(tokens);
    const body = parseList(["end", "else"]);
    let alt: Node[] = [];
    if (body.end === "else") {
      const elseTokens = chunks[pos++].tokens!.slice(1);
      if (elseTokens.length > 0) {
        const next = elseTokens[0];
        if (next.t !== "ident" || (next.v !== "if" && next.v !== "with")) {
          throw new TemplateError("template: unexpected tokens after {{else}}");
        }
        // `else if` / `else with` nests a block that shares our {{end}}.
        alt = [parseBlock(next.v as "if" | "with", elseTokens.slice(1))];
        return { kind, pipe, body: body.nodes, alt };
      }
      alt = parseList(["end"]).nodes;
    }
    return { kind, pipe, body: body.nodes, alt };
  };
  return parseList([]).nodes;
}

function parsePipe(tokens: Token[]): Pipe {
  let i = 0;
  const vars: string[] = [];
  let declare = false;
  const declEnd = tokens.findIndex((t) => t.t === "decl" || t.t === "assign");
  if (declEnd > 0 && tokens.slice(0, declEnd).every((t) => t.t === "var" || t.t === "comma")) {
    for (const t of tokens.slice(0, declEnd)) if (t.t === "var") vars.push(t.v);
    declare = tokens[declEnd].t === "decl";
    i = declEnd + 1;
  }
  const cmds: Operand[][] = [[]];
  while (i < tokens.length) {
    const tok = tokens[i];
    if (tok.t === "pipe") {
      if (cmds[cmds.length - 1].length === 0) {
        throw new TemplateError("template: missing command before |");
      }
      cmds.push([]);
      i++;
      continue;
    }
    const [operand, next] = parseOperand(tokens, i);
    cmds[cmds.length - 1].push(operand);
    i = next;
  }
  if (cmds.some((c) => c.length === 0)) throw new TemplateError("template: missing command");
  return { vars, declare, cmds };
}

function parseOperand(tokens: Token[], start: number): [Operand, number] {
  const tok = tokens[start];
  let i = start + 1;
  const chain = (): string[] => {
    const fields: string[] = [];
    while (i < tokens.length && tokens[i].t === "field" && tokens[i].tight) {
      fields.push((tokens[i] as { v: string }).v);
      i++;
    }
    return fields;
  };
  switch (tok.t) {
    case "dot":
      return [{ kind: "dot" }, i];
    case "field":
      return [{ kind: "field", fields: [tok.v, ...chain()] }, i];
    case "var":
      return [{ kind: "var", name: tok.v, fields: chain() }, i];
    case "lit":
      return [{ kind: "lit", value: tok.v }, i];
    case "ident":
      return [{ kind: "ident", name: tok.v }, i];
    case "lparen": {
      let depth = 1;
      let j = i;
      for (; j < tokens.length && depth > 0; j++) {
        if (tokens[j].t === "lparen") depth++;
        if (tokens[j].t === "rparen") depth--;
      }
      if (depth !== 0) throw new TemplateError("template: unclosed left paren");
      const pipe = parsePipe(tokens.slice(i, j - 1));
      i = j;
      return [{ kind: "sub", pipe, fields: chain() }, i];
    }
  }
  throw new TemplateError(`template: unexpected "${tok.t}" in command`);
}

// ---------------------------------------------------------------- execution

class Scope {
  #vars = new Map<string, unknown>();
  constructor(readonly parent: Scope | undefined, root?: unknown) {
    if (!parent) this.#vars.set("$", root);
  }
  get(name: string): unknown {
    if (this.#vars.has(name)) return this.#vars.get(name);
    if (this.parent) return this.parent.get(name);
    throw new TemplateError(`template: undefined variable "${name}"`);
  }
  declare(name: string, value: unknown): void {
    this.#vars.set(name, value);
  }
  assign(name: string, value: unknown): void {
    if (this.#vars.has(name)) this.#vars.set(name, value);
    else if (this.parent) this.parent.assign(name, value);
    else throw new TemplateError(`template: undefined variable "${name}"`);
  }
}

function execNodes(nodes: Node[], dot: unknown, scope: Scope, out: string[]): void {
  for (const node of nodes) {
    if (node.kind === "text") out.push(node.text);
    else if (node.kind === "action") {
      const value = evalPipe(node.pipe, dot, scope);
      if (node.pipe.vars.length === 0) {
        out.push(value === undefined ? "<no value>" : goValueString(value));
      }
    } else if (node.kind === "range") execRange(node, dot, scope, out);
    else {
      const inner = new Scope(scope);
      const value = evalPipe(node.pipe, dot, inner);
      if (truth(value)) execNodes(node.body, node.kind === "with" ? value : dot, inner, out);
      else execNodes(node.alt, dot, inner, out);
    }
  }
}

function execRange(
  node: BlockNode,
  dot: unknown,
  scope: Scope,
  out: string[],
): void {
  const outer = new Scope(scope);
  const { vars } = node.pipe;
  const value = evalPipe({ ...node.pipe, vars: [] }, dot, outer);
  let entries: [unknown, unknown][];
  if (value === null || value === undefined) entries = [];
  else if (Array.isArray(value)) entries = value.map((v, i) => [i, v]);
  else if (typeof value === "object" && !(value instanceof Uint8Array)) {
    const record = value as Record<string, unknown>;
    entries = Object.keys(record).filter((k) => record[k] !== undefined).sort(compareBytes)
      .map((k) => [k, record[k]]);
  } else throw new TemplateError(`template: range can't iterate over ${goValueString(value)}`);
  if (entries.length === 0) {
    execNodes(node.alt, dot, outer, out);
    return;
  }
  for (const [key, element] of entries) {
    const inner = new Scope(outer);
    if (vars.length === 1) inner.declare(vars[0], element);
    if (vars.length === 2) {
      inner.declare(vars[0], key);
      inner.declare(vars[1], element);
    }
    execNodes(node.body, element, inner, out);
  }
}

function evalPipe(pipe: Pipe, dot: unknown, scope: Scope): unknown {
  let value: unknown = undefined;
  pipe.cmds.forEach((cmd, i) => {
    value = evalCommand(cmd, dot, scope, i === 0 ? [] : [value]);
  });
  if (pipe.vars.length > 0) {
    if (pipe.declare) scope.declare(pipe.vars[pipe.vars.length - 1], value);
    else scope.assign(pipe.vars[pipe.vars.length - 1], value);
  }
  return value;
}

function evalCommand(cmd: Operand[], dot: unknown, scope: Scope, piped: unknown[]): unknown {
  const [first, ...rest] = cmd;
  if (first.kind === "ident") {
    const fn = FUNCTIONS[first.name];
    if (!fn) throw new TemplateError(`template: function "${first.name}" not defined`);
    return fn(...rest.map((o) => evalOperand(o, dot, scope)), ...piped);
  }
  if (rest.length > 0 || piped.length > 0) {
    throw new TemplateError("template: can't give argument to non-function");
  }
  return evalOperand(first, dot, scope);
}

function evalOperand(op: Operand, dot: unknown, scope: Scope): unknown {
  switch (op.kind) {
    case "dot":
      return dot;
    case "lit":
      return op.value;
    case "ident": {
      const fn = FUNCTIONS[op.name];
      if (!fn) throw new TemplateError(`template: function "${op.name}" not defined`);
      return fn();
    }
    case "field":
      return access(dot, op.fields);
    case "var":
      return access(scope.get(op.name), op.fields);
    case "sub":
      return access(evalPipe(op.pipe, dot, scope), op.fields);
  }
}

function access(value: unknown, fields: string[]): unknown {
  let current = value;
  for (const field of fields) {
    if (current === null || current === undefined) {
      throw new TemplateError(`template: nil pointer evaluating .${field}`);
    }
    if (typeof current !== "object" || Array.isArray(current)) {
      throw new TemplateError(
        `template: can't evaluate field ${field} in ${goValueString(current)}`,
      );
    }
    current = (current as Record<string, unknown>)[field];
  }
  return current;
}

/** Go's notion of a true value: not false, 0, "", nil, or an empty list or map. */
function truth(value: unknown): boolean {
  if (value === null || value === undefined) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (value instanceof Uint8Array) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return Boolean(value);
}

function compare(a: unknown, b: unknown): number {
  const numeric = (v: unknown) => typeof v === "number" || typeof v === "bigint";
  if (numeric(a) && numeric(b)) {
    const [x, y] = [a as number | bigint, b as number | bigint];
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === "string" && typeof b === "string") return compareBytes(a, b);
  throw new TemplateError(
    `template: incompatible types for comparison: ${goValueString(a)} and ${goValueString(b)}`,
  );
}

function equal(a: unknown, b: unknown): boolean {
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  if (typeof a === "object" || typeof b === "object") {
    throw new TemplateError("template: eq: only basic values can be compared");
  }
  return compare(a, b) === 0;
}

function goSprint(args: unknown[], spaces: boolean): string {
  let out = "";
  args.forEach((arg, i) => {
    const between = spaces || (typeof arg !== "string" && typeof args[i - 1] !== "string");
    if (i > 0 && between) out += " ";
    out += goValueString(arg);
  });
  return out;
}

const FUNCTIONS: Record<string, (...args: unknown[]) => unknown> = {
  json: (...args) => toGoJson(args.length === 1 ? args[0] : args),
  len: (v) => {
    if (v === null || v === undefined) return 0;
    if (typeof v === "string") return new TextEncoder().encode(v).length;
    if (Array.isArray(v) || v instanceof Uint8Array) return v.length;
    if (typeof v === "object") return Object.keys(v).length;
    throw new TemplateError(`template: len of ${goValueString(v)}`);
  },
  index: (v, ...keys) =>
    keys.reduce((cur, key) => {
      if (Array.isArray(cur) && typeof key === "number") {
        if (key < 0 || key >= cur.length) {
          throw new TemplateError(`template: index out of range: ${key}`);
        }
        return cur[key];
      }
      if (cur && typeof cur === "object" && typeof key === "string") {
        return (cur as Record<string, unknown>)[key];
      }
      throw new TemplateError(
        `template: can't index ${goValueString(cur)} with ${goValueString(key)}`,
      );
    }, v),
  printf: (format, ...args) => {
    if (typeof format !== "string") {
      throw new TemplateError("template: printf needs a format string");
    }
    return goSprintf(format, ...args);
  },
  print: (...args) => goSprint(args, false),
  println: (...args) => goSprint(args, true) + "\n",
  eq: (a, ...bs) => {
    if (bs.length === 0) throw new TemplateError("template: missing argument for comparison");
    return bs.some((b) => equal(a, b));
  },
  ne: (a, b) => !equal(a, b),
  lt: (a, b) => compare(a, b) < 0,
  le: (a, b) => compare(a, b) <= 0,
  gt: (a, b) => compare(a, b) > 0,
  ge: (a, b) => compare(a, b) >= 0,
  not: (v) => !truth(v),
  and: (...args) => args.find((a) => !truth(a)) ?? args[args.length - 1],
  or: (...args) => args.find((a) => truth(a)) ?? args[args.length - 1],
};
