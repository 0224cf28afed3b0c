/**
 * The router's HTTP API on `Deno.serve`: the full control API on the HTTP
 * address and the unix socket, the read-only status routes plus `/metrics` on
 * the status address, and only `/metrics` on the metrics address — the split
 * Weave Net 2.8.1 makes between 6784, 6782 and `--metrics-addr`.
 *
 * Answers follow Weave's: status texts as `text/plain; charset=utf-8`, 503
 * (with the text) while the router is not ready, `404 page not found` for
 * unknown paths, `http.Error`-style `message\n` bodies for errors. The server
 * never throws on bad input: malformed forms get 400, bodies over 1 MiB 413.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import { toGoJson } from "../lib/go/json.ts";
import {
  METRICS_CONTENT_TYPE,
  type ProcessStats,
  readProcessStats,
  renderMetrics,
} from "./metrics.ts";
import { ApiError, type RouterOps } from "./ops.ts";
import {
  renderConnections,
  renderDns,
  renderIpam,
  renderPeers,
  renderStatus,
  renderTargets,
} from "./render_status.ts";
import type { WeaveReport } from "./report.ts";
import { executeTemplate, TemplateError } from "../lib/go/template.ts";

/** Largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 1 << 20;

/** Which routes a listener serves. */
export type ApiScope = "control" | "status" | "metrics";

/** Options of {@link startApiServers}; an address left out or `""` is not served. */
export interface ApiServerOptions {
  /** Full control API on TCP `host:port` (an absolute path means a unix socket, as in Weave). */
  httpAddr?: string;
  /** Full control API on this unix socket path. */
  socketPath?: string;
  /** Read-only status routes and `/metrics` on TCP `host:port`. */
  statusAddr?: string;
  /** Only `/metrics` on TCP `host:port`. */
  metricsAddr?: string;
  log: Logger;
  /** Source of the `process_*` figures; default: read `/proc/self`. */
  processStats?: () => ProcessStats;
}

/** Running listeners. */
export interface ApiServers {
  /** Where each listener ended up (`host:port` with the real port, or the socket path). */
  readonly addresses: { http?: string; socket?: string; status?: string; metrics?: string };
  /** Stops all listeners (in-flight requests finish first) and removes the socket file. */
  close(): Promise<void>;
}

const TEXT = "text/plain; charset=utf-8";

/**
 * Starts the configured listeners; if one cannot listen, the others are
 * closed again and the error is thrown.
 *
 * @example
 * ```ts ignore
 * const servers = await startApiServers(ops, { httpAddr: "127.0.0.1:6784", log });
 * await servers.close();
 * ```
 */
export async function startApiServers(ops: RouterOps, opts: ApiServerOptions): Promise<ApiServers> {
  const started: { server: Deno.HttpServer; socket?: string }[] = [];
  const addresses: { http?: string; socket?: string; status?: string; metrics?: string } = {};
  const close = async () => {
    await Promise.all(started.map((s) => s.server.shutdown()));
    for (const s of started) if (s.socket) removeQuietly(s.socket);
    started.length = 0;
  };
  const listen = async (addr: string | undefined, scope: ApiScope, key: keyof typeof addresses) => {
    if (!addr) return;
    const handler = createApiHandler(ops, scope, opts);
    const { server, where, socket } = await serveOn(addr, handler, opts.log);
    started.push({ server, socket });
    addresses[key] = where;
  };
  try {
    await listen(opts.httpAddr, "control", "http");
    await listen(opts.socketPath, "control", "socket");
    await listen(opts.statusAddr, "status", "status");
    await listen(opts.metricsAddr, "metrics", "metrics");
  } catch (e) {
    await close();
    throw e;
  }
  return { addresses, close };
}

async function serveOn(
  addr: string,
  handler: (req: Request) => Promise<Response>,
  log: Logger,
): Promise<{ server: Deno.HttpServer; where: string; socket?: string }> {
  const onError = (err: unknown) => {
    log.error(`HTTP handler failed: ${err instanceof Error ? err.message : String(err)}`);
    return httpError(500, "Internal Server Error");
  };
  if (addr.startsWith("/")) {
    await prepareSocketPath(addr);
    const server = Deno.serve({ path: addr, transport: "unix", onListen() {}, onError }, handler);
    return { server, where: addr, socket: addr };
  }
  const { hostname, port } = parseHostPort(addr);
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname, port, onListen() {}, onError }, handler);
  } catch (e) {
    throw new Error(`Cannot listen on "${addr}": ${(e as Error).message}`, { cause: e });
  }
  const a = server.addr;
  const where = a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
  return { server, where };
}

/**
 * Splits `host:port` (`[v6]:port`, or `:port` for all interfaces).
 *
 * @example
 * ```ts
 * import { parseHostPort } from "./server.ts";
 * parseHostPort("127.0.0.1:6784"); // { hostname: "127.0.0.1", port: 6784 }
 * ```
 */
export function parseHostPort(addr: string): { hostname: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]*)):(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new SyntaxError(
      `Cannot parse address "${addr}": expected host:port with a port up to 65535`,
    );
  }
  return { hostname: m[1] ?? (m[2] || "0.0.0.0"), port };
}

/** Creates the socket's directory and removes a stale socket nobody listens on. */
async function prepareSocketPath(path: string): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
  try {
    await Deno.lstat(path);
  } catch {
    return;
  }
  let live = false;
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    live = true;
  } catch {
    // Nobody answers: a leftover from a process that died.
  }
  if (live) throw new Error(`Cannot listen on "${path}": another process is listening there`);
  await Deno.remove(path);
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // Already gone.
  }
}

/**
 * The request handler of one listener scope (exported for tests and for
 * embedding under another server).
 */
export function createApiHandler(
  ops: RouterOps,
  scope: ApiScope,
  opts: Pick<ApiServerOptions, "log" | "processStats">,
): (req: Request) => Promise<Response> {
  const stats = opts.processStats ?? readProcessStats;
  return async (req) => {
    try {
      return await route({ ops, scope, stats, log: opts.log }, req);
    } catch (e) {
      if (e instanceof ApiError) return httpError(e.status, e.message);
      if (e instanceof TemplateError) return httpError(400, e.message);
      const message = e instanceof Error ? e.message : String(e);
      opts.log.error(`${req.method} ${new URL(req.url).pathname} failed: ${message}`);
      return httpError(500, message);
    }
  };
}

const STATUS_VIEWS: Record<string, (r: WeaveReport) => string | undefined> = {
  connections: renderConnections,
  peers: renderPeers,
  targets: renderTargets,
  ipam: (r) => (r.IPAM ? renderIpam(r) : undefined),
  dns: (r) => (r.DNS ? renderDns(r) : undefined),
};

interface RouteContext {
  ops: RouterOps;
  scope: ApiScope;
  stats: () => ProcessStats;
  log: Logger;
}

async function route({ ops, scope, stats, log }: RouteContext, req: Request): Promise<Response> {
  const url = new URL(req.url);
  const path = url.pathname;
  if (path === "/metrics") {
    return onlyMethod(req, "GET") ??
      new Response(renderMetrics(ops.report(), stats()), {
        headers: { "content-type": METRICS_CONTENT_TYPE },
      });
  }
  if (scope === "metrics") return notFound();
  if (path === "/status" || path.startsWith("/status/")) {
    return onlyMethod(req, "GET") ?? status(ops.report(), path.slice("/status".length));
  }
  if (path === "/report") return onlyMethod(req, "GET") ?? reportResponse(ops.report(), req, url);
  if (scope !== "control") return await extraRoute(ops, scope, req, url) ?? notFound();
  switch (path) {
    case "/connect":
      return onlyMethod(req, "POST") ?? await formAction(req, url, (form) => {
        ops.connect(form.getAll("peer"), form.get("replace") === "true");
      });
    case "/forget":
      return onlyMethod(req, "POST") ?? await formAction(req, url, (form) => {
        ops.forget(form.getAll("peer"));
      });
    case "/stop":
      return onlyMethod(req, "POST") ?? await formAction(req, url, () => {
        // Answer first; the router then closes this server, which lets the answer finish.
        setTimeout(() => {
          ops.stop().catch((e) => log.error(`Cannot stop the router: ${(e as Error).message}`));
        }, 0);
      });
  }
  return await extraRoute(ops, scope, req, url) ?? notFound();
}

async function extraRoute(
  ops: RouterOps,
  scope: ApiScope,
  req: Request,
  url: URL,
): Promise<Response | undefined> {
  let pathMatched = false;
  for (const r of ops.routes ?? []) {
    if (r.scope === "control" && scope !== "control") continue;
    const m = r.pattern.exec(url.pathname);
    if (!m) continue;
    pathMatched = true;
    if (r.method !== req.method) continue;
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.groups ?? {})) {
      if (v !== undefined) params[k] = decodePathParam(v);
    }
    return await r.handle(req, params, url);
  }
  return pathMatched ? httpError(405, "Method Not Allowed") : undefined;
}

/**
 * One path segment, percent-decoded; a bad escape or bytes that are not
 * UTF-8 (`%ff`) or a NUL are the client's error (400), never a 500.
 */
function decodePathParam(raw: string): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    throw new ApiError(400, `invalid URL path: bad percent-escape in ${JSON.stringify(raw)}`);
  }
  if (value.includes("\0")) {
    throw new ApiError(400, `invalid URL path: NUL byte in ${JSON.stringify(raw)}`);
  }
  return value;
}

function status(report: WeaveReport, sub: string): Response {
  let text: string | undefined;
  if (sub === "") text = renderStatus(report);
  else if (/^\/[a-z]+$/.test(sub) && Object.hasOwn(STATUS_VIEWS, sub.slice(1))) {
    text = STATUS_VIEWS[sub.slice(1)](report);
  }
  if (text === undefined) return notFound();
  return new Response(text, {
    status: report.Ready ? 200 : 503,
    headers: { "content-type": TEXT },
  });
}

function reportResponse(report: WeaveReport, req: Request, url: URL): Response {
  const formats = url.searchParams.getAll("format");
  const wantsJson = (req.headers.get("accept") ?? "").includes("application/json");
  if (wantsJson || formats.length === 0) {
    return new Response(toGoJson(report, { indent: "    " }), {
      headers: { "content-type": "application/json" },
    });
  }
  if (formats.length !== 1) return httpError(400, "error: must supply one format parameter");
  return new Response(executeTemplate(formats[0], report), { headers: { "content-type": TEXT } });
}

async function formAction(
  req: Request,
  url: URL,
  act: (form: URLSearchParams) => void,
): Promise<Response> {
  const form = await readForm(req, url);
  act(form);
  return new Response(null, { status: 200 });
}

/** Form values as Go's `ParseForm` sees them: url-encoded body first, then the query. */
async function readForm(req: Request, url: URL): Promise<URLSearchParams> {
  const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  const body = await readBody(req);
  const form = new URLSearchParams();
  const add = (text: string) => {
    if (/%(?![0-9a-fA-F]{2})/.test(text)) {
      throw new ApiError(400, "unable to parse form: invalid URL escape");
    }
    for (const [k, v] of new URLSearchParams(text)) form.append(k, v);
  };
  if (type === "application/x-www-form-urlencoded") add(new TextDecoder().decode(body));
  add(url.search.slice(1));
  return form;
}

/** Reads a request body, refusing more than {@link MAX_BODY_BYTES}. */
async function readBody(req: Request): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  const tooLarge = () =>
    new ApiError(413, `request body too large: the limit is ${MAX_BODY_BYTES} bytes`);
  if (declared > MAX_BODY_BYTES) {
    await req.body?.cancel();
    throw tooLarge();
  }
  if (!req.body) return new Uint8Array();
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = req.body.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > MAX_BODY_BYTES) {
      await reader.cancel();
      throw tooLarge();
    }
    parts.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    body.set(p, offset);
    offset += p.length;
  }
  return body;
}

function onlyMethod(req: Request, method: string): Response | undefined {
  if (req.method === method) return undefined;
  return new Response(null, { status: 405, headers: { allow: method } });
}

function notFound(): Response {
  return new Response("404 page not found\n", { status: 404, headers: { "content-type": TEXT } });
}

/** An error answer shaped like Go's `http.Error`. */
function httpError(status: number, message: string): Response {
  return new Response(message + "\n", {
    status,
    headers: { "content-type": TEXT, "x-content-type-options": "nosniff" },
  });
}
