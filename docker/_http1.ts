/**
 * Just enough HTTP/1.1 for a transparent proxy: a buffered reader over a
 * connection, message heads parsed and re-serialised with their original
 * header lines, and bodies copied in their own framing (Content-Length,
 * chunked, or until close) without being decoded — so streams pass through
 * byte for byte, and a connection can be handed over raw (hijacked) at any
 * point with whatever was already buffered.
 *
 * @module
 */
import { concatBytes } from "../lib/bytes.ts";

/** Largest message head accepted, in bytes. */
export const MAX_HEAD = 64 * 1024;
/** Largest body the proxy buffers to rewrite, in bytes. */
export const MAX_REWRITE_BODY = 8 * 1024 * 1024;

const CRLF = new Uint8Array([13, 10]);
const enc = new TextEncoder();
const dec = new TextDecoder();

/** The readable side of a connection. */
export interface Source {
  read(p: Uint8Array): Promise<number | null>;
}

/** The writable side of a connection. */
export interface Sink {
  write(p: Uint8Array): Promise<number>;
}

/** A buffered reader. */
export class BufReader {
  readonly #src: Source;
  #buf: Uint8Array = new Uint8Array(0);
  #eof = false;

  constructor(src: Source) {
    this.#src = src;
  }

  /** Bytes buffered but not yet consumed. */
  get buffered(): number {
    return this.#buf.length;
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(32 * 1024);
    const n = await this.#src.read(chunk);
    if (n === null) {
      this.#eof = true;
      return false;
    }
    this.#buf = this.#buf.length
      ? concatBytes([this.#buf, chunk.subarray(0, n)])
      : chunk.slice(0, n);
    return true;
  }

  /** Reads up to and including `\r\n\r\n`; null at a clean end of stream before any byte. */
  async readHead(): Promise<string | null> {
    for (;;) {
      const i = indexOfHeadEnd(this.#buf);
      if (i >= 0) {
        const head = this.#buf.subarray(0, i + 4);
        this.#buf = this.#buf.subarray(i + 4);
        return dec.decode(head);
      }
      if (this.#buf.length > MAX_HEAD) throw new HttpSyntaxError("message head too large");
      if (!(await this.#fill())) {
        if (this.#buf.length === 0) return null;
        throw new HttpSyntaxError("connection closed inside a message head");
      }
    }
  }

  /** Reads one line ending in CRLF, the CRLF included. */
  async readLine(): Promise<Uint8Array> {
    for (;;) {
      const i = indexOf(this.#buf, CRLF);
      if (i >= 0) {
        const line = this.#buf.subarray(0, i + 2);
        this.#buf = this.#buf.subarray(i + 2);
        return line;
      }
      if (this.#buf.length > MAX_HEAD) throw new HttpSyntaxError("chunk line too long");
      if (!(await this.#fill())) throw new HttpSyntaxError("connection closed inside a chunk");
    }
  }

  /** Up to `max` bytes (buffered ones first); null at end of stream. */
  async readSome(max = Infinity): Promise<Uint8Array | null> {
    if (this.#buf.length === 0 && !(await this.#fill())) return null;
    const n = Math.min(max, this.#buf.length);
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }
}

/** A malformed message; the connection cannot continue. */
export class HttpSyntaxError extends Error {
  constructor(message: string) {
    super(`Bad HTTP message: ${message}`);
    this.name = "HttpSyntaxError";
  }
}

/** A parsed message head; `lines` keeps the header lines as they came. */
export interface Head {
  /** Request line or status line. */
  start: string;
  lines: string[];
}

/** Parses a head read by {@link BufReader.readHead}. */
export function parseHead(text: string): Head {
  const all = text.slice(0, -4).split("\r\n");
  if (all[0] === "" || all.slice(1).some((l) => !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:/.test(l))) {
    throw new HttpSyntaxError(`malformed head "${all[0].slice(0, 80)}"`);
  }
  return { start: all[0], lines: all.slice(1) };
}

/** The head as bytes. */
export function formatHead(h: Head): Uint8Array {
  return enc.encode([h.start, ...h.lines, "", ""].join("\r\n"));
}

/** The (first) value of header `name`, case-insensitive. */
export function header(h: Head, name: string): string | undefined {
  const lower = name.toLowerCase() + ":";
  const line = h.lines.find((l) => l.toLowerCase().startsWith(lower));
  return line?.slice(lower.length).trim();
}

/** A copy of `h` without header `name` (all occurrences). */
export function withoutHeader(h: Head, name: string): Head {
  const lower = name.toLowerCase() + ":";
  return { start: h.start, lines: h.lines.filter((l) => !l.toLowerCase().startsWith(lower)) };
}

/** A copy of `h` with header `name` set to `value` (replacing earlier values). */
export function withHeader(h: Head, name: string, value: string): Head {
  const out = withoutHeader(h, name);
  out.lines.push(`${name}: ${value}`);
  return out;
}

/** How a body is framed. */
export type Framing =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "close" };

/** A request's body framing (no length and not chunked: no body). */
export function requestFraming(h: Head): Framing {
  if (/\bchunked\b/i.test(header(h, "transfer-encoding") ?? "")) return { kind: "chunked" };
  const length = header(h, "content-length");
  if (length === undefined) return { kind: "none" };
  return lengthFraming(length);
}

/** A response's body framing, given the request method and the status. */
export function responseFraming(h: Head, method: string, status: number): Framing {
  if (method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200)) {
    return { kind: "none" };
  }
  if (/\bchunked\b/i.test(header(h, "transfer-encoding") ?? "")) return { kind: "chunked" };
  const length = header(h, "content-length");
  return length === undefined ? { kind: "close" } : lengthFraming(length);
}

function lengthFraming(text: string): Framing {
  if (!/^\d{1,15}$/.test(text)) throw new HttpSyntaxError(`bad Content-Length "${text}"`);
  const length = Number(text);
  return length === 0 ? { kind: "none" } : { kind: "length", length };
}

/** Copies a body as framed (chunked framing kept as is); false when the source ended early. */
export async function copyBody(r: BufReader, w: Sink, f: Framing): Promise<boolean> {
  if (f.kind === "none") return true;
  if (f.kind === "length") return await copyN(r, w, f.length);
  if (f.kind === "close") {
    for (let b = await r.readSome(); b; b = await r.readSome()) await writeAll(w, b);
    return true;
  }
  for (;;) {
    const line = await r.readLine();
    await writeAll(w, line);
    const size = parseChunkSize(line);
    if (size === 0) {
      // Trailers, then the empty line.
      for (let t = await r.readLine();; t = await r.readLine()) {
        await writeAll(w, t);
        if (t.length === 2) return true;
      }
    }
    if (!(await copyN(r, w, size + 2))) return false;
  }
}

/** Reads a whole body into memory (chunked decoded), at most `max` bytes. */
export async function readBody(
  r: BufReader,
  f: Framing,
  max = MAX_REWRITE_BODY,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const sink: Sink = {
    write(p) {
      total += p.length;
      if (total > max) throw new HttpSyntaxError(`body larger than ${max} bytes`);
      parts.push(p.slice());
      return Promise.resolve(p.length);
    },
  };
  if (f.kind !== "chunked") {
    if (!(await copyBody(r, sink, f))) throw new HttpSyntaxError("connection closed inside a body");
    return concatBytes(parts);
  }
  for (;;) {
    const size = parseChunkSize(await r.readLine());
    if (size === 0) {
      while ((await r.readLine()).length !== 2) { /* trailers dropped */ }
      return concatBytes(parts);
    }
    if (!(await copyN(r, sink, size))) {
      throw new HttpSyntaxError("connection closed inside a chunk");
    }
    const crlf = await r.readLine();
    if (crlf.length !== 2) throw new HttpSyntaxError("chunk not followed by CRLF");
  }
}

function parseChunkSize(line: Uint8Array): number {
  const text = dec.decode(line).trim().split(";")[0];
  if (!/^[0-9a-fA-F]{1,12}$/.test(text)) throw new HttpSyntaxError(`bad chunk size "${text}"`);
  return parseInt(text, 16);
}

async function copyN(r: BufReader, w: Sink, n: number): Promise<boolean> {
  let left = n;
  while (left > 0) {
    const b = await r.readSome(left);
    if (!b) return false;
    await writeAll(w, b);
    left -= b.length;
  }
  return true;
}

/** Writes every byte. */
export async function writeAll(w: Sink, p: Uint8Array): Promise<void> {
  let rest = p;
  while (rest.length > 0) rest = rest.subarray(await w.write(rest));
}

function indexOfHeadEnd(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

function indexOf(b: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= b.length; i++) {
    for (let j = 0; j < needle.length; j++) if (b[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
