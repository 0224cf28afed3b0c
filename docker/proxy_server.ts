/**
 * The Docker API proxy: a unix socket (Weave's `unix:///var/run/weave/weave.sock`
 * by default) in front of the engine that forwards every call unchanged —
 * streams and hijacked connections (`docker run -i`, `attach`, `exec`,
 * `logs -f`, events) byte for byte — except container create, start and
 * (with `--rewrite-inspect`) inspect, which get the rewrites of
 * `proxy_rewrite.ts`. A start the engine accepted is answered only once the
 * container is attached to weave (Weave's proxy waited likewise); if attaching
 * fails the container is killed and the client gets the error. The proxy also
 * follows the engine's start events and attaches the marked containers Docker
 * starts by itself (restart policies), and those already running when it
 * starts, as Weave's proxy did. With no engine
 * behind it the proxy answers 502 and tries again on the next request.
 *
 * One upstream connection per client connection, made on its first request:
 * HTTP/1.1 keep-alive and hijacking then work as they do against the engine.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import type { ContainerInfo, DockerEvent } from "./client.ts";
import { ProxyAttacher } from "./proxy_attacher.ts";
import type { DockerEndpoint } from "./endpoint.ts";
import {
  BufReader,
  copyBody,
  formatHead,
  type Head,
  header,
  HttpSyntaxError,
  parseHead,
  readBody,
  requestFraming,
  responseFraming,
  withHeader,
  withoutHeader,
  writeAll,
} from "./_http1.ts";
import {
  classifyRequest,
  containerOfPath,
  type DnsSettings,
  type ProxyConfig,
  ProxyRequestError,
  type ProxyRoute,
  rewriteCreate,
  rewriteInspect,
  rewriteStart,
} from "./proxy_rewrite.ts";

/** Weave's default proxy socket. */
export const DEFAULT_PROXY_SOCKET = "/var/run/weave/weave.sock";

/** What the proxy asks of the router and the engine. */
export interface ProxyEffects {
  /** weaveDNS's domain and container address; undefined when weaveDNS is off or unreachable. */
  dns(): Promise<DnsSettings | undefined>;
  /** Inspects a container at the engine. */
  inspect(ref: string): Promise<ContainerInfo>;
  /** Attaches a running container with `WEAVE_CIDR` words; answers its CIDRs. */
  attach(info: ContainerInfo, cidrs: string[]): Promise<string[]>;
  /** Kills a container whose attach failed. */
  kill(id: string): Promise<void>;
  /** The engine's events until `signal` aborts (to attach containers Docker restarts itself). */
  events?(signal: AbortSignal): AsyncIterable<DockerEvent>;
  /** Ids of the running containers (attached when the proxy starts). */
  running?(): Promise<string[]>;
}

/** Options of {@link DockerProxy.start}. */
export interface DockerProxyOptions {
  /** Unix socket path to listen on. */
  listen: string;
  /** The engine. */
  upstream: DockerEndpoint;
  config: ProxyConfig;
  effects: ProxyEffects;
  log: Logger;
  /** Wait before following the event stream again; default 2000 ms. */
  retryMs?: number;
}

type Upstream = { conn: Deno.Conn; reader: BufReader };

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * A running proxy.
 *
 * @example
 * ```ts ignore
 * await using proxy = await DockerProxy.start({ listen: "/var/run/weave/weave.sock", upstream, config, effects, log });
 * ```
 */
export class DockerProxy implements AsyncDisposable {
  readonly #o: DockerProxyOptions;
  readonly #listener: Deno.Listener;
  readonly #conns = new Set<Deno.Conn>();
  readonly #serving: Promise<void>;
  readonly #attacher: ProxyAttacher;
  readonly #stop = new AbortController();
  readonly #watching: Promise<void>;

  private constructor(o: DockerProxyOptions, listener: Deno.Listener) {
    this.#o = o;
    this.#listener = listener;
    this.#serving = this.#accept();
    this.#attacher = new ProxyAttacher({ effects: o.effects, log: o.log, retryMs: o.retryMs });
    this.#watching = this.#attacher.watch(this.#stop.signal).catch((e) =>
      o.log.warn(`proxy: watching the engine: ${(e as Error).message}`)
    );
  }

  /** Listens on `listen` (replacing a stale socket file). */
  static async start(o: DockerProxyOptions): Promise<DockerProxy> {
    const dir = o.listen.slice(0, o.listen.lastIndexOf("/"));
    if (dir) await Deno.mkdir(dir, { recursive: true });
    await Deno.remove(o.listen).catch(() => {});
    const listener = Deno.listen({ transport: "unix", path: o.listen });
    await copyOwnership(o.upstream, o.listen, o.log);
    o.log.info(`proxy listening on unix://${o.listen}`);
    return new DockerProxy(o, listener);
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // closed
      }
      this.#conns.add(conn);
      this.#serve(conn).catch((e) => {
        // A client that hangs up mid-answer (Ctrl-C on `logs -f`) is no news.
        const gone = e instanceof Deno.errors.BrokenPipe ||
          e instanceof Deno.errors.ConnectionReset;
        this.#o.log[gone ? "debug" : "warn"](`proxy: ${(e as Error).message}`);
      })
        .finally(() => {
          this.#conns.delete(conn);
          closeQuietly(conn);
        });
    }
  }

  async #connectUpstream(): Promise<Upstream> {
    const u = this.#o.upstream;
    const conn = u.kind === "unix"
      ? await Deno.connect({ transport: "unix", path: u.path })
      : await Deno.connect({ hostname: u.host, port: u.port });
    return { conn, reader: new BufReader(conn) };
  }

  async #serve(client: Deno.Conn): Promise<void> {
    const cr = new BufReader(client);
    let up: Upstream | undefined;
    try {
      for (;;) {
        const text = await cr.readHead();
        if (text === null) return;
        const head = parseHead(text);
        const [method, target] = head.start.split(" ");
        const url = new URL(target ?? "/", "http://docker");
        const route = classifyRequest(method, url.pathname);
        let framing = requestFraming(head);
        let sendHead = head;
        let body: Uint8Array | undefined;
        if (route === "create" || route === "start") {
          body = await readBody(cr, framing);
          framing = { kind: "none" };
          try {
            body = await this.#rewriteRequest(route, url, head, body);
          } catch (e) {
            if (!(e instanceof ProxyRequestError)) throw e;
            await respond(client, 500, e.message);
            continue;
          }
          sendHead = withHeader(
            withoutHeader(head, "transfer-encoding"),
            "Content-Length",
            String(body.length),
          );
        }
        // An idle kept-alive connection the engine closed fails the first write or read: a
        // request that can be sent again (no body, or one read into memory) is, once.
        const replayable = body !== undefined || framing.kind === "none";
        let resHead: Head | undefined;
        let failure: unknown;
        let bodySent = false;
        for (let attempt = 0; attempt < 2 && !resHead; attempt++) {
          const reused = up !== undefined;
          if (!up) {
            try {
              up = await this.#connectUpstream();
            } catch (e) {
              failure = e;
              break;
            }
          }
          try {
            await writeAll(up.conn, formatHead(sendHead));
            bodySent = true;
            if (body) await writeAll(up.conn, body);
            else await copyBody(cr, up.conn, framing);
            resHead = await this.#readResponseHead(up, client);
          } catch (e) {
            if (e instanceof HttpSyntaxError && !(e.message.includes("closed"))) throw e;
            closeQuietly(up.conn);
            up = undefined;
            failure = e;
            if (!(reused && replayable)) break;
          }
        }
        if (!resHead || !up) {
          if (!bodySent && body === undefined) {
            await copyBody(cr, { write: (p) => Promise.resolve(p.length) }, framing);
          }
          await respond(client, 502, this.#unreachable(failure));
          continue;
        }
        const upstream = up;
        const status = Number(resHead.start.split(" ")[1]);
        if (status === 101 || isRawStream(resHead)) {
          await writeAll(client, formatHead(resHead));
          await splice(cr, client, upstream);
          return;
        }
        const resFraming = responseFraming(resHead, method, status);
        if (route === "start" && status >= 200 && status < 300) {
          const failure = await this.#attacher.afterStart(containerOfPath(url.pathname));
          if (failure) {
            await readBody(upstream.reader, resFraming);
            await respond(client, 500, failure);
            continue;
          }
        }
        if (route === "inspect" && this.#o.config.rewriteInspect && status === 200) {
          const raw = await readBody(upstream.reader, resFraming);
          const out = enc.encode(this.#rewriteInspect(raw));
          const h = withHeader(
            withoutHeader(resHead, "transfer-encoding"),
            "Content-Length",
            String(out.length),
          );
          await writeAll(client, formatHead(h));
          await writeAll(client, out);
          continue;
        }
        await writeAll(client, formatHead(resHead));
        await copyBody(upstream.reader, client, resFraming);
        if (resFraming.kind === "close" || /\bclose\b/i.test(header(resHead, "connection") ?? "")) {
          return;
        }
      }
    } finally {
      if (up) closeQuietly(up.conn);
    }
  }

  async #readResponseHead(up: Upstream, client: Deno.Conn): Promise<Head> {
    for (;;) {
      const text = await up.reader.readHead();
      if (text === null) throw new HttpSyntaxError("connection closed by the engine");
      const h = parseHead(text);
      if (!/^HTTP\/1\.[01] 1\d\d\b/.test(h.start) || /^HTTP\/1\.[01] 101\b/.test(h.start)) return h;
      await writeAll(client, formatHead(h)); // 100 Continue and friends
    }
  }

  #unreachable(e: unknown): string {
    const u = this.#o.upstream;
    const where = u.kind === "unix" ? `unix://${u.path}` : `tcp://${u.host}:${u.port}`;
    this.#o.log.warn(`proxy: Docker engine at ${where} not reachable: ${(e as Error).message}`);
    return `Cannot connect to the Docker daemon at ${where}. Is the docker daemon running?`;
  }

  async #rewriteRequest(
    route: ProxyRoute,
    url: URL,
    head: Head,
    raw: Uint8Array,
  ): Promise<Uint8Array> {
    const { config, effects } = this.#o;
    const json = /application\/json/i.test(header(head, "content-type") ?? "");
    if (route === "create") {
      const original = parseJson(raw);
      const dns = config.withoutDns ? undefined : await effects.dns();
      const { decision, body } = rewriteCreate(
        original,
        url.searchParams.get("name") ?? "",
        config,
        dns,
      );
      if (!decision.attach) {
        this.#o.log.info(`Leaving container alone because ${decision.reason}`);
        return raw;
      }
      this.#o.log.info(`Creating container with WEAVE_CIDR "${decision.cidrs.join(" ")}"`);
      return enc.encode(JSON.stringify(body));
    }
    // start: only a JSON HostConfig body (API < 1.24) needs our settings back.
    if (!json || raw.length === 0) return raw;
    const info = await effects.inspect(containerOfPath(url.pathname)).catch(() => undefined);
    if (!info) return raw;
    const dns = config.withoutDns ? undefined : await effects.dns();
    const out = rewriteStart(parseJson(raw), info, config, dns);
    return enc.encode(JSON.stringify(out));
  }

  #rewriteInspect(raw: Uint8Array): string {
    const text = dec.decode(raw);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text);
    } catch {
      return text;
    }
    const weave = this.#attacher.interfaceOf(String(body.Id ?? ""));
    return weave ? JSON.stringify(rewriteInspect(body, weave)) : text;
  }

  /** Stops listening, drops every connection and removes the socket. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#stop.abort();
    this.#listener.close();
    for (const c of this.#conns) closeQuietly(c);
    await this.#serving;
    await this.#watching;
    await this.#attacher.settled();
    await Deno.remove(this.#o.listen).catch(() => {});
  }
}

/**
 * Gives the proxy's socket the engine socket's mode and owner, as Weave did, so the users
 * allowed to use docker (its group) may use the proxy too.
 */
async function copyOwnership(upstream: DockerEndpoint, path: string, log: Logger): Promise<void> {
  if (upstream.kind !== "unix") return;
  try {
    const st = await Deno.stat(upstream.path);
    if (st.mode !== null) await Deno.chmod(path, st.mode & 0o777);
    if (st.uid !== null && st.gid !== null) await Deno.chown(path, st.uid, st.gid);
  } catch (e) {
    log.debug(`proxy: keeping ${path}'s own mode: ${(e as Error).message}`);
  }
}

function parseJson(raw: Uint8Array): Record<string, unknown> {
  try {
    const v = JSON.parse(dec.decode(raw));
    if (v && typeof v === "object" && !Array.isArray(v)) return v;
  } catch { /* below */ }
  throw new ProxyRequestError("Cannot rewrite the request: its body is not a JSON object");
}

/** A hijacked response without 101 (old clients): the engine's raw stream. */
function isRawStream(h: Head): boolean {
  return /application\/vnd\.docker\.raw-stream/i.test(header(h, "content-type") ?? "") &&
    header(h, "content-length") === undefined && header(h, "transfer-encoding") === undefined;
}

/** Pipes both ways until both sides are done, passing half-closes on. */
async function splice(cr: BufReader, client: Deno.Conn, up: Upstream): Promise<void> {
  const pump = async (r: BufReader, w: Deno.Conn) => {
    try {
      for (let b = await r.readSome(); b; b = await r.readSome()) await writeAll(w, b);
      await w.closeWrite().catch(() => {});
    } catch {
      closeQuietly(w);
    }
  };
  await Promise.all([pump(cr, up.conn), pump(up.reader, client)]);
}

/** An answer in the engine's error format. */
async function respond(conn: Deno.Conn, status: number, message: string): Promise<void> {
  const body = enc.encode(JSON.stringify({ message }) + "\n");
  const reason = status === 502
    ? "Bad Gateway"
    : status === 500
    ? "Internal Server Error"
    : "Error";
  const head = `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\n\r\n`;
  await writeAll(conn, enc.encode(head));
  await writeAll(conn, body);
}

function closeQuietly(c: Deno.Conn): void {
  try {
    c.close();
  } catch { /* closed */ }
}
