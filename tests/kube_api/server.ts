/**
 * A stand-in Kubernetes API server for tests — not a kube-apiserver (none
 * can be installed here): it serves exactly the subset weave's launcher
 * uses, following the API conventions for it, over plain HTTP on loopback:
 *
 * - `GET /version`;
 * - Nodes (`/api/v1/nodes[/<name>[/status]]`) and ConfigMaps
 *   (`/api/v1/namespaces/<ns>/configmaps[/<name>]`): list, get, create
 *   (POST), update (PUT, 409 on a stale resourceVersion), patch (PATCH:
 *   `application/merge-patch+json`, and `application/strategic-merge-patch+json`
 *   with lists of `conditions`/`addresses` merged by `type`, as for Nodes),
 *   delete;
 * - watch (`?watch=1`): from `resourceVersion` (unset or "0": the current
 *   objects as ADDED first), events as JSON lines, `BOOKMARK` events when
 *   `allowWatchBookmarks=true`, an `ERROR` event with a 410 `Status` when
 *   the resourceVersion is too old (then the client must relist),
 *   `timeoutSeconds`;
 * - bearer tokens (401 without one of {@link StandInOptions.tokens});
 * - errors as `Status` objects with `reason` and `code`.
 *
 * Fault injection for the tests: {@link StandInApi.down}/{@link StandInApi.up}
 * (the API unreachable, also from the start with `up: false`),
 * {@link StandInApi.cutWatches} (every watch stream cut mid-stream), and
 * {@link StandInApi.conflictStorm} (the next writes lose a race: the object
 * changes just before each, so the client's resourceVersion is stale).
 *
 * @module
 */
import { ApiStatusError, type KubeObject, KubeStore, matches, RESOURCES } from "./store.ts";
import { applyPatch } from "./patch.ts";

/** Options of {@link StandInApi.create}. */
export interface StandInOptions {
  /** Accepted bearer tokens; default one: "test-token". */
  tokens?: string[];
  /** Listen at once (default true); false: the API is down at start. */
  up?: boolean;
  /** How often watches with bookmarks get one, in ms (default 500). */
  bookmarkMs?: number;
  /** Events kept for watches (default 1000). */
  historyLimit?: number;
  /** Address and port to listen on (default 127.0.0.1 and a free port). */
  hostname?: string;
  port?: number;
  /** PEM certificate chain and key: serve HTTPS instead of HTTP. */
  tls?: { cert: string; key: string };
}

/** One request as the server saw it. */
export interface RequestRecord {
  method: string;
  path: string;
  status: number;
}

interface Route {
  resource: string;
  namespace?: string;
  name?: string;
  sub?: string;
}

/** The stand-in API server. */
export class StandInApi {
  readonly store: KubeStore;
  readonly port: number;
  readonly hostname: string;
  /** Every request answered, in order. */
  readonly requests: RequestRecord[] = [];
  #tokens: Set<string>;
  #server: Deno.HttpServer | undefined;
  #bookmarkMs: number;
  #watches = new Set<ReadableStreamDefaultController<Uint8Array>>();
  #storm = 0;
  #tls: { cert: string; key: string } | undefined;

  private constructor(hostname: string, port: number, options: StandInOptions) {
    this.hostname = hostname;
    this.port = port;
    this.store = new KubeStore({ historyLimit: options.historyLimit });
    this.#tokens = new Set(options.tokens ?? ["test-token"]);
    this.#bookmarkMs = options.bookmarkMs ?? 500;
    this.#tls = options.tls;
  }

  /** Creates the server (by default on a free loopback port). */
  static create(options: StandInOptions = {}): StandInApi {
    const hostname = options.hostname ?? "127.0.0.1";
    let port = options.port;
    if (port === undefined) {
      const probe = Deno.listen({ hostname, port: 0 });
      port = (probe.addr as Deno.NetAddr).port;
      probe.close();
    }
    const api = new StandInApi(hostname, port, options);
    if (options.up ?? true) api.up();
    return api;
  }

  /** `http(s)://<hostname>:<port>`. */
  get url(): string {
    return `${this.#tls ? "https" : "http"}://${this.hostname}:${this.port}`;
  }

  /** Starts answering (again) on the same port. */
  up(): void {
    if (this.#server) return;
    this.#server = Deno.serve(
      {
        hostname: this.hostname,
        port: this.port,
        onListen() {},
        onError: () => new Response(null, { status: 500 }),
        ...this.#tls,
      },
      (req) => this.#handle(req),
    );
  }

  /** Stops answering: connections are refused until {@link up}. */
  async down(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    this.cutWatches();
    if (s) await s.shutdown();
  }

  /** Cuts every open watch stream mid-stream (the client sees the body fail). */
  cutWatches(): void {
    for (const c of this.#watches) {
      try {
        c.error(new Error("stand-in: watch cut"));
      } catch { /* already closed */ }
    }
    this.#watches.clear();
  }

  /** The next `writes` updates or patches each lose a race against another writer. */
  conflictStorm(writes: number): void {
    this.#storm = writes;
  }

  /** Stops the server and its watches. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.down();
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    let res: Response;
    try {
      res = await this.#route(req, url);
    } catch (e) {
      res = e instanceof ApiStatusError
        ? statusResponse(e.code, e.reason, e.message)
        : statusResponse(500, "InternalError", String(e));
    }
    this.requests.push({ method: req.method, path: url.pathname + url.search, status: res.status });
    return res;
  }

  async #route(req: Request, url: URL): Promise<Response> {
    const token = /^Bearer (.+)$/.exec(req.headers.get("authorization") ?? "")?.[1];
    if (!token || !this.#tokens.has(token)) {
      throw new ApiStatusError(401, "Unauthorized", "Unauthorized");
    }
    if (url.pathname === "/version" && req.method === "GET") {
      return json(200, { major: "1", minor: "29", gitVersion: "v1.29.0-weave-stand-in" });
    }
    const r = parsePath(url.pathname);
    if (!r) throw new ApiStatusError(404, "NotFound", `the server could not find ${url.pathname}`);
    const s = this.store;
    if (r.name === undefined) {
      if (req.method === "GET" && isTrue(url.searchParams.get("watch"))) return this.#watch(r, url);
      if (req.method === "GET") return json(200, this.#list(r));
      if (req.method === "POST") {
        return json(201, s.create(r.resource, r.namespace, await body(req)));
      }
    } else if (req.method === "GET") {
      return json(200, s.get(r.resource, r.namespace, r.name));
    } else if (req.method === "PUT") {
      const obj = await body(req);
      if (obj.metadata?.name !== r.name) {
        throw new ApiStatusError(
          400,
          "BadRequest",
          "the name of the object does not match the URL",
        );
      }
      this.#stormBefore(r);
      return json(200, s.update(r.resource, r.namespace, obj));
    } else if (req.method === "PATCH") {
      this.#stormBefore(r);
      const current = s.get(r.resource, r.namespace, r.name);
      const patched = applyPatch(current, await req.text(), req.headers.get("content-type") ?? "");
      patched.metadata.name = r.name;
      return json(200, s.update(r.resource, r.namespace, patched));
    } else if (req.method === "DELETE") {
      s.delete(r.resource, r.namespace, r.name);
      return json(200, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success" });
    }
    throw new ApiStatusError(405, "MethodNotAllowed", `${req.method} is not supported here`);
  }

  #list(r: Route): unknown {
    const { kind, apiVersion } = RESOURCES[r.resource];
    const items = this.store.list(r.resource, r.namespace).map((o) => {
      const { kind: _k, apiVersion: _a, ...rest } = o;
      return rest;
    });
    return {
      kind: `${kind}List`,
      apiVersion,
      metadata: { resourceVersion: String(this.store.resourceVersion) },
      items,
    };
  }

  /** The object changes under the writer: its next write has a stale resourceVersion. */
  #stormBefore(r: Route): void {
    if (this.#storm <= 0 || r.name === undefined) return;
    this.#storm--;
    const o = this.store.get(r.resource, r.namespace, r.name);
    o.metadata.annotations = {
      ...o.metadata.annotations,
      "stand-in.weave.works/touched": String(this.store.resourceVersion),
    };
    this.store.update(r.resource, r.namespace, o);
  }

  #watch(r: Route, url: URL): Response {
    const rvText = url.searchParams.get("resourceVersion") ?? "";
    const bookmarks = url.searchParams.get("allowWatchBookmarks") === "true";
    const timeout = Number(url.searchParams.get("timeoutSeconds") ?? "0");
    const { kind, apiVersion } = RESOURCES[r.resource];
    const enc = new TextEncoder();
    const watches = this.#watches;
    const store = this.store;
    let cleanup = () => {};
    const stream = new ReadableStream<Uint8Array>({
      start: (c) => {
        const send = (type: string, object: unknown) => {
          try {
            c.enqueue(enc.encode(JSON.stringify({ type, object }) + "\n"));
          } catch { /* closed */ }
        };
        const close = () => {
          cleanup();
          try {
            c.close();
          } catch { /* already closed */ }
        };
        let start: number;
        if (rvText === "" || rvText === "0") {
          for (const o of store.list(r.resource, r.namespace)) send("ADDED", o);
          start = store.resourceVersion;
        } else {
          start = Number(rvText);
          let backlog;
          try {
            if (!/^\d+$/.test(rvText)) {
              throw new ApiStatusError(400, "BadRequest", `invalid resourceVersion "${rvText}"`);
            }
            backlog = store.since(start, r.resource, r.namespace);
          } catch (e) {
            const err = e as ApiStatusError;
            send("ERROR", statusBody(err.code, err.reason, err.message));
            return close();
          }
          for (const e of backlog) send(e.type, e.object);
        }
        watches.add(c);
        const unsubscribe = store.subscribe((e) => {
          if (e.rv > start && matches(e, r.resource, r.namespace)) send(e.type, e.object);
        });
        const bookmark = bookmarks
          ? setInterval(() => {
            send("BOOKMARK", {
              kind,
              apiVersion,
              metadata: { resourceVersion: String(store.resourceVersion) },
            });
          }, this.#bookmarkMs)
          : undefined;
        const timer = timeout > 0 ? setTimeout(close, timeout * 1000) : undefined;
        cleanup = () => {
          unsubscribe();
          clearInterval(bookmark);
          clearTimeout(timer);
          watches.delete(c);
        };
      },
      cancel: () => cleanup(),
    });
    // A cut stream (controller.error) also ends here through cancel or the body's end.
    return new Response(stream, {
      status: 200,
      headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
    });
  }
}

function parsePath(path: string): Route | undefined {
  const p = path.split("/").filter((x) => x !== "");
  if (p[0] !== "api" || p[1] !== "v1") return undefined;
  let rest = p.slice(2);
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, sub, ...more] = rest;
  const info = RESOURCES[resource ?? ""];
  if (!info || more.length || info.namespaced !== (namespace !== undefined)) return undefined;
  if (sub !== undefined && !(resource === "nodes" && sub === "status")) return undefined;
  return { resource, namespace, name, sub };
}

function isTrue(v: string | null): boolean {
  return v === "1" || v === "true";
}

async function body(req: Request): Promise<KubeObject> {
  let obj: KubeObject;
  try {
    obj = await req.json();
  } catch {
    throw new ApiStatusError(400, "BadRequest", "the request body is not JSON");
  }
  if (typeof obj?.metadata?.name !== "string" || obj.metadata.name === "") {
    throw new ApiStatusError(422, "Invalid", "metadata.name: Required value");
  }
  return obj;
}

function json(status: number, value: unknown): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function statusBody(code: number, reason: string, message: string) {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  };
}

function statusResponse(code: number, reason: string, message: string): Response {
  return json(code, statusBody(code, reason, message));
}
