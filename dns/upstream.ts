/**
 * Forwarding of non-weave queries to the host's nameservers, as Weave's
 * `nameserver/dns.go` `handleRecursive` and `upstream` do:
 *
 * - the servers come from `--resolv-conf` (default `/etc/resolv.conf`),
 *   re-read when the file changes (checked at most every 5 s), leaving out
 *   our own listen address so that we never ask ourselves;
 * - each server is tried in turn with a fresh random request ID and a
 *   timeout (`--dns-fallback-timeout`, 5 s); the first answer goes back with
 *   the client's ID; when every server fails the caller answers SERVFAIL;
 * - a query that came over UDP is forwarded over UDP (a truncated answer is
 *   passed on as it is, so the client retries over TCP), one that came over
 *   TCP is forwarded over TCP.
 *
 * Parsing resolv.conf is pure ({@link parseResolvConf}); this file is the
 * client-side socket edge.
 *
 * @module
 */
import dgram from "node:dgram";
import type { Logger } from "../lib/log.ts";
import { HEADER_BYTES, messageId, withMessageId } from "./packet.ts";

/** Default `--resolv-conf`. */
export const DEFAULT_RESOLV_CONF = "/etc/resolv.conf";
/** Default `--dns-fallback-timeout`. */
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 5_000;
/** How often the resolv.conf file is checked for changes. */
export const RESOLV_CONF_RECHECK_MS = 5_000;
/** Receive buffer for UDP answers (Weave: 4096). */
export const UPSTREAM_UDP_SIZE = 4096;

/** The parts of resolv.conf that matter here. */
export interface ResolvConf {
  /** `nameserver` addresses, in file order. */
  servers: string[];
  search: string[];
  ndots: number;
}

/**
 * Parses resolv.conf text (`nameserver`, `search`/`domain`, `options ndots:`);
 * unknown lines and malformed addresses are skipped, as libc does.
 *
 * @example
 * ```ts
 * import { parseResolvConf } from "./upstream.ts";
 * parseResolvConf("nameserver 10.0.0.2\nsearch a.example\n").servers; // ["10.0.0.2"]
 * ```
 */
export function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = { servers: [], search: [], ndots: 1 };
  for (const raw of text.split("\n")) {
    const fields = raw.replace(/[#;].*$/, "").trim().split(/\s+/);
    switch (fields[0]) {
      case "nameserver":
        if (fields[1] && isIpLiteral(fields[1])) conf.servers.push(fields[1]);
        break;
      case "domain":
        if (fields[1]) conf.search = [fields[1]];
        break;
      case "search":
        conf.search = fields.slice(1).filter((f) => f !== "");
        break;
      case "options":
        for (const opt of fields.slice(1)) {
          const m = /^ndots:(\d+)$/.exec(opt);
          if (m) conf.ndots = Math.min(Number(m[1]), 15);
        }
    }
  }
  return conf;
}

function isIpLiteral(text: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) return v4.slice(1).every((p) => Number(p) <= 255);
  return /^[0-9a-fA-F:]+(%[\w.-]+)?$/.test(text) && text.includes(":");
}

/** Options of {@link Upstream}. */
export interface UpstreamOptions {
  /** resolv.conf path (default `/etc/resolv.conf`); ignored when `servers` is given. */
  resolvConf?: string;
  /** A fixed server list (IP literals) instead of a resolv.conf file. */
  servers?: string[];
  /** Port of the upstream servers (default 53). */
  port?: number;
  /** Per-server timeout in ms (default 5000). */
  timeoutMs?: number;
  /** Our own DNS address (a host IP), never used as an upstream. */
  filterAddress?: string;
  log: Logger;
  /** Milliseconds clock for the re-read interval (default Date.now). */
  now?: () => number;
}

/** The upstream servers and the forwarding client. */
export class Upstream {
  #opts: UpstreamOptions;
  #cached: string[] | null = null;
  #lastCheck = -Infinity;
  #lastModified: number | null = null;
  #warned = false;

  constructor(opts: UpstreamOptions) {
    this.#opts = opts;
    if (opts.servers) this.#cached = this.#filter(opts.servers);
  }

  /** The current servers (null when there is no usable resolv.conf, as Weave reports it). */
  servers(): string[] | null {
    if (this.#opts.servers) return this.#cached;
    const now = (this.#opts.now ?? Date.now)();
    if (now - this.#lastCheck < RESOLV_CONF_RECHECK_MS) return this.#cached;
    this.#lastCheck = now;
    const path = this.#opts.resolvConf ?? DEFAULT_RESOLV_CONF;
    try {
      const mtime = Deno.statSync(path).mtime?.getTime() ?? 0;
      if (mtime !== this.#lastModified) {
        this.#cached = this.#filter(parseResolvConf(Deno.readTextFileSync(path)).servers);
        this.#lastModified = mtime;
      }
    } catch (e) {
      if (!this.#warned) this.#opts.log.warn(`Cannot read "${path}": ${(e as Error).message}`);
      this.#warned = true;
    }
    return this.#cached;
  }

  /**
   * Sends a raw query to each server in turn; returns the first answer (with
   * the query's own ID) or null when none answered in time.
   */
  async exchange(query: Uint8Array, transport: "udp" | "tcp"): Promise<Uint8Array | null> {
    const port = this.#opts.port ?? 53;
    const timeoutMs = this.#opts.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
    for (const server of this.servers() ?? []) {
      const id = randomId();
      const request = withMessageId(query, id);
      try {
        const res = transport === "udp"
          ? await udpExchange(request, server, port, timeoutMs)
          : await tcpExchange(request, server, port, timeoutMs);
        return withMessageId(res, messageId(query));
      } catch (e) {
        this.#opts.log.debug(`error trying ${server}: ${(e as Error).message}`);
      }
    }
    return null;
  }

  #filter(servers: string[]): string[] {
    return servers.filter((s) => s !== this.#opts.filterAddress);
  }
}

function randomId(): number {
  return crypto.getRandomValues(new Uint16Array(1))[0];
}

/** Whether raw bytes are a response to request `id`. */
function isAnswerTo(bytes: Uint8Array, id: number): boolean {
  return bytes.length >= HEADER_BYTES && messageId(bytes) === id && (bytes[2] & 0x80) !== 0;
}

/** One UDP request/answer with a timeout; ignores datagrams that are not the answer. */
export function udpExchange(
  request: Uint8Array,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<Uint8Array> {
  const id = messageId(request);
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({
      type: host.includes(":") ? "udp6" : "udp4",
      recvBufferSize: UPSTREAM_UDP_SIZE,
    });
    let done = false;
    const finish = (err: Error | null, answer?: Uint8Array) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(answer!);
    };
    const timer = setTimeout(
      () => finish(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    sock.on("error", (e: Error) => finish(e));
    sock.on("message", (msg: Uint8Array, from: { address: string; port: number }) => {
      if (from.port !== port || !isAnswerTo(msg, id)) return;
      finish(null, new Uint8Array(msg));
    });
    sock.send(request, port, host, (e: Error | null) => {
      if (e) finish(e);
    });
  });
}

/** One TCP request/answer (2-byte length prefixes) with a timeout over the whole exchange. */
export async function tcpExchange(
  request: Uint8Array,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<Uint8Array> {
  let conn: Deno.TcpConn | undefined;
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      try {
        conn?.close();
      } catch { /* already closed */ }
      reject(new Error("timed out"));
    }, timeoutMs);
  });
  deadline.catch(() => {});
  try {
    const connecting = Deno.connect({ hostname: host, port });
    connecting.then((c) => timedOut && c.close(), () => {});
    conn = await Promise.race([connecting, deadline]);
    const framed = new Uint8Array(2 + request.length);
    framed[0] = request.length >>> 8;
    framed[1] = request.length & 0xff;
    framed.set(request, 2);
    await writeAll(conn, framed);
    const len = await readExactly(conn, 2);
    const answer = await readExactly(conn, (len[0] << 8) | len[1]);
    if (!isAnswerTo(answer, messageId(request))) throw new Error("answer does not match");
    return answer;
  } catch (e) {
    const why = timedOut ? `no answer within ${timeoutMs} ms` : (e as Error).message;
    throw new Error(`TCP exchange with ${host}:${port} failed: ${why}`, { cause: e });
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* already closed */ }
  }
}

/** Writes all bytes to a connection. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** Reads exactly `n` bytes; throws at end of stream. */
export async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const got = await conn.read(out.subarray(off));
    if (got === null) throw new RangeError(`Cannot read ${n} bytes: stream ended after ${off}`);
    off += got;
  }
  return out;
}
