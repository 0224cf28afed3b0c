/**
 * The DNS socket edge: UDP (`node:dgram`, since `Deno.listenDatagram` needs
 * an unstable flag) and TCP (`Deno.listen`) on `--dns-listen-address`, both
 * on the same port, handing every message to a {@link QueryHandler}.
 *
 * Nothing a client sends can crash or stall it:
 * - handler failures are logged, never thrown out of a socket callback;
 * - at most `maxInFlight` queries are worked on at once (forwarding can take
 *   the upstream timeout); more UDP queries are dropped, as a busy server
 *   drops them, and the client retries;
 * - TCP: at most `maxTcpConnections` connections; a connection that sends
 *   nothing for `tcpIdleMs` (including one stuck half-way through a message
 *   whose length prefix promised more) is closed; a zero length closes it;
 * - with `allow`, queries (UDP) and connections (TCP) from other source
 *   addresses are dropped unanswered, so a listener on an address the
 *   underlay could reach never serves strangers.
 *
 * @module
 */
import dgram from "node:dgram";
import type { Logger } from "../lib/log.ts";
import type { QueryHandler } from "./handler.ts";
import { readExactly, writeAll } from "./upstream.ts";

/** Default `--dns-listen-address`. */
export const DEFAULT_DNS_LISTEN_ADDRESS = "0.0.0.0:53";

/** Tries at finding a port free for both UDP and TCP when asked for port 0. */
const PORT_ATTEMPTS = 20;

/** Options of {@link DnsServer}. */
export interface DnsServerOptions {
  /** `host:port` (`[v6]:port`); port 0 picks a free port (tests). */
  listenAddress: string;
  handler: QueryHandler;
  log: Logger;
  /** Queries worked on at once (default 256). */
  maxInFlight?: number;
  /** Open TCP connections (default 64). */
  maxTcpConnections?: number;
  /** Idle time after which a TCP connection is closed (default 10 s). */
  tcpIdleMs?: number;
  /** Which client addresses are answered (default: all). */
  allow?: (source: string) => boolean;
}

/** Splits `host:port` or `[v6]:port`. */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]*)):(\d{1,5})$/.exec(address);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new SyntaxError(`Cannot parse DNS listen address "${address}": expected host:port`);
  }
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

/** UDP and TCP DNS listeners sharing one handler. */
export class DnsServer {
  #opts: DnsServerOptions;
  #udp?: dgram.Socket;
  #tcp?: Deno.TcpListener;
  #conns = new Set<Deno.Conn>();
  #work = new Set<Promise<unknown>>();
  #acceptLoop?: Promise<void>;
  #port = 0;
  #stopped = false;

  constructor(opts: DnsServerOptions) {
    this.#opts = opts;
  }

  /** The address actually listened on (`host:port`), once started. */
  get address(): string | undefined {
    if (!this.#udp) return undefined;
    const { host } = splitHostPort(this.#opts.listenAddress);
    return host.includes(":") ? `[${host}]:${this.#port}` : `${host}:${this.#port}`;
  }

  /**
   * Binds UDP, then TCP on the same port; throws (with nothing left open) if
   * either fails. With port 0 it retries when the free UDP port is taken for TCP.
   */
  async start(): Promise<void> {
    const { host, port } = splitHostPort(this.#opts.listenAddress);
    let udp: dgram.Socket;
    for (let attempt = 1;; attempt++) {
      udp = await bindUdp(host, port);
      try {
        this.#port = udp.address().port;
        this.#tcp = Deno.listen({ hostname: host, port: this.#port, transport: "tcp" });
        break;
      } catch (e) {
        udp.close();
        if (port === 0 && e instanceof Deno.errors.AddrInUse && attempt < PORT_ATTEMPTS) continue;
        throw new Error(
          `Cannot listen on "${this.#opts.listenAddress}" (TCP): ${(e as Error).message}`,
          { cause: e },
        );
      }
    }
    this.#udp = udp;
    udp.on("message", (msg: Uint8Array, from: { address: string; port: number }) => {
      this.#onDatagram(new Uint8Array(msg), from.address, from.port);
    });
    udp.on("error", (e: Error) => this.#opts.log.warn(`DNS UDP socket error: ${e.message}`));
    this.#acceptLoop = this.#accept(this.#tcp);
  }

  /** Closes both listeners and every TCP connection; waits for queries being answered. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#udp?.close();
    try {
      this.#tcp?.close();
    } catch { /* closed */ }
    for (const c of this.#conns) closeQuietly(c);
    await this.#acceptLoop;
    await Promise.allSettled([...this.#work]);
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#work.add(p);
    p.finally(() => this.#work.delete(p)).catch(() => {});
    return p;
  }

  #busy(): boolean {
    return this.#work.size >= (this.#opts.maxInFlight ?? 256);
  }

  #onDatagram(msg: Uint8Array, address: string, port: number): void {
    if (this.#stopped || this.#busy() || !this.#allowed(address)) return;
    this.#track(this.#answer(msg, "udp")).then((reply) => {
      if (!reply || this.#stopped) return;
      this.#udp?.send(reply, port, address, (e: Error | null) => {
        if (e) this.#opts.log.debug(`Cannot answer ${address}:${port}: ${e.message}`);
      });
    });
  }

  #allowed(address: string): boolean {
    const allow = this.#opts.allow;
    if (!allow) return true;
    const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
    try {
      return allow(v4);
    } catch (e) {
      this.#opts.log.warn(`DNS source check failed for ${address}: ${(e as Error).message}`);
      return false;
    }
  }

  /** Runs the handler; never rejects. */
  async #answer(msg: Uint8Array, transport: "udp" | "tcp"): Promise<Uint8Array | null> {
    try {
      return await this.#opts.handler(msg, transport);
    } catch (e) {
      this.#opts.log.warn(`DNS handler failed: ${(e as Error).message}`);
      return null;
    }
  }

  async #accept(listener: Deno.TcpListener): Promise<void> {
    while (!this.#stopped) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch {
        return; // closed
      }
      const from = (conn.remoteAddr as Deno.NetAddr).hostname;
      if (this.#conns.size >= (this.#opts.maxTcpConnections ?? 64) || !this.#allowed(from)) {
        closeQuietly(conn);
        continue;
      }
      this.#conns.add(conn);
      this.#track(this.#serveConn(conn)).finally(() => {
        this.#conns.delete(conn);
        closeQuietly(conn);
      });
    }
  }

  async #serveConn(conn: Deno.Conn): Promise<void> {
    const idleMs = this.#opts.tcpIdleMs ?? 10_000;
    let timer = setTimeout(() => closeQuietly(conn), idleMs);
    try {
      while (!this.#stopped) {
        const head = await readExactly(conn, 2);
        const len = (head[0] << 8) | head[1];
        if (len === 0) return;
        const msg = await readExactly(conn, len);
        clearTimeout(timer);
        const reply = await this.#answer(msg, "tcp");
        if (reply && reply.length <= 0xffff && !this.#stopped) {
          const framed = new Uint8Array(2 + reply.length);
          framed[0] = reply.length >>> 8;
          framed[1] = reply.length & 0xff;
          framed.set(reply, 2);
          await writeAll(conn, framed);
        }
        timer = setTimeout(() => closeQuietly(conn), idleMs);
      }
    } catch {
      // Closed by the client, by the idle timer or by stop().
    } finally {
      clearTimeout(timer);
    }
  }
}

function bindUdp(host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
    const onError = (e: Error) => {
      try {
        sock.close();
      } catch { /* never opened */ }
      reject(new Error(`Cannot listen on "${host}:${port}" (UDP): ${e.message}`, { cause: e }));
    };
    sock.once("error", onError);
    sock.bind(port, host, () => {
      sock.off("error", onError);
      resolve(sock);
    });
  });
}

function closeQuietly(c: Deno.Conn): void {
  try {
    c.close();
  } catch { /* already closed */ }
}
