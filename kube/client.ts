/**
 * A small Kubernetes API client over `fetch`: the requests weave's launcher
 * (and `weave npc`) makes — get, list, create, update (PUT), patch, delete,
 * and watch as a stream of events — with a bearer token and the cluster's
 * CA (see `kube_config.ts` for where those come from).
 *
 * Why not `@kubernetes/client-node`: it loads and works under Deno, but
 * costs ~90 MiB more RSS and ~1 s more start-up for the same list+watch
 * (numbers and method in the README's dependency notes).
 *
 * @module
 */
import type { KubeConfig } from "./kube_config.ts";

/** A Kubernetes object as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/** A list answer. */
export interface KubeList<T extends KubeObject = KubeObject> {
  metadata: { resourceVersion?: string };
  items: T[];
}

/** One watch event; `BOOKMARK` objects carry only metadata.resourceVersion. */
export interface KubeWatchEvent<T extends KubeObject = KubeObject> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

/** An error answer of the API server (its `Status`), or a transport failure (`code` 0). */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "KubeApiError";
  }

  /** 409 Conflict from a stale resourceVersion (retry with a fresh object). */
  get isConflict(): boolean {
    return this.code === 409 && this.reason !== "AlreadyExists";
  }
}

/** Request options. */
export interface RequestOptions {
  body?: unknown;
  /** Content type of the body, default `application/json`. */
  contentType?: string;
  signal?: AbortSignal;
}

/**
 * The client. Paths are API paths (`/api/v1/nodes`).
 *
 * @example
 * ```ts ignore
 * import { KubeClient } from "./client.ts";
 * const kube = new KubeClient({ server: "https://10.96.0.1:443", token: "…", caCert: "…" });
 * const nodes = await kube.list("/api/v1/nodes");
 * ```
 */
export class KubeClient {
  readonly config: KubeConfig;
  #http: Deno.HttpClient | undefined;

  constructor(config: KubeConfig) {
    this.config = config;
    if (config.caCert || config.clientCert) {
      this.#http = Deno.createHttpClient({
        caCerts: config.caCert ? [config.caCert] : undefined,
        cert: config.clientCert,
        key: config.clientKey,
      });
    }
  }

  /** One request; resolves to the JSON answer, throws {@link KubeApiError}. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.#fetch(method, path, options);
    const text = await res.text();
    if (!res.ok) throw errorOf(method, path, res.status, text);
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new KubeApiError(res.status, "BadResponse", `${method} ${path}: answer is not JSON`, {
        cause,
      });
    }
  }

  /** `GET path`. */
  get<T extends KubeObject>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request("GET", path, { signal });
  }

  /** `GET path` of a collection. */
  list<T extends KubeObject>(path: string, signal?: AbortSignal): Promise<KubeList<T>> {
    return this.request("GET", path, { signal });
  }

  /** `POST collection`. */
  create<T extends KubeObject>(collection: string, obj: T): Promise<T> {
    return this.request("POST", collection, { body: obj });
  }

  /** `PUT path` (fails with 409 when obj's resourceVersion is stale). */
  update<T extends KubeObject>(path: string, obj: T): Promise<T> {
    return this.request("PUT", path, { body: obj });
  }

  /** `PATCH path` with a strategic merge patch (default) or a merge patch. */
  patch<T extends KubeObject>(path: string, patch: unknown, strategic = true): Promise<T> {
    return this.request("PATCH", path, {
      body: patch,
      contentType: strategic
        ? "application/strategic-merge-patch+json"
        : "application/merge-patch+json",
    });
  }

  /**
   * Watches a collection from `resourceVersion` (with bookmarks); yields each
   * event until the server ends the stream or `signal` aborts. A stream cut
   * mid-way throws a {@link KubeApiError} with code 0; an `ERROR` event (410
   * Gone, say) is yielded as it came.
   */
  async *watch<T extends KubeObject>(
    collection: string,
    options: { resourceVersion?: string; timeoutSeconds?: number; signal?: AbortSignal } = {},
  ): AsyncGenerator<KubeWatchEvent<T>> {
    const q = new URLSearchParams({ watch: "1", allowWatchBookmarks: "true" });
    if (options.resourceVersion) q.set("resourceVersion", options.resourceVersion);
    if (options.timeoutSeconds) q.set("timeoutSeconds", String(options.timeoutSeconds));
    const path = `${collection}?${q}`;
    const res = await this.#fetch("GET", path, { signal: options.signal });
    if (!res.ok) throw errorOf("GET", path, res.status, await res.text());
    let buf = "";
    try {
      for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (line !== "") yield parseEvent<T>(line, path);
        }
      }
    } catch (cause) {
      if (options.signal?.aborted) return;
      if (cause instanceof KubeApiError) throw cause;
      throw new KubeApiError(0, "StreamCut", `watch ${collection} cut: ${cause}`, { cause });
    }
  }

  /** Releases the HTTP client. */
  close(): void {
    this.#http?.close();
    this.#http = undefined;
  }

  async #fetch(method: string, path: string, o: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.config.token) headers.authorization = `Bearer ${this.config.token}`;
    if (o.body !== undefined) headers["content-type"] = o.contentType ?? "application/json";
    try {
      return await fetch(`${this.config.server}${path}`, {
        method,
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        signal: o.signal,
        client: this.#http,
      });
    } catch (cause) {
      if (o.signal?.aborted) throw cause;
      throw new KubeApiError(
        0,
        "Unreachable",
        `${method} ${this.config.server}${path}: ${(cause as Error).message}`,
        { cause },
      );
    }
  }
}

function parseEvent<T extends KubeObject>(line: string, path: string): KubeWatchEvent<T> {
  let e: KubeWatchEvent<T>;
  try {
    e = JSON.parse(line);
  } catch (cause) {
    throw new KubeApiError(0, "BadResponse", `watch ${path}: event is not JSON`, { cause });
  }
  if (typeof e?.type !== "string" || typeof e.object !== "object" || e.object === null) {
    throw new KubeApiError(0, "BadResponse", `watch ${path}: event without type or object`);
  }
  return e;
}

function errorOf(method: string, path: string, status: number, text: string): KubeApiError {
  let reason = "Unknown", message = text.slice(0, 200);
  try {
    const s = JSON.parse(text);
    if (typeof s?.reason === "string") reason = s.reason;
    if (typeof s?.message === "string") message = s.message;
  } catch { /* not a Status */ }
  return new KubeApiError(status, reason, `${method} ${path}: ${status} ${reason}: ${message}`);
}
