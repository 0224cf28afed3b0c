/**
 * The typed HTTP client of the router API, shared by the CLI (and CNI): one
 * request over a unix socket or TCP, answering `{ status, body }`. A router
 * that cannot be reached raises {@link NotRunningError}, which the CLI turns
 * into `weave is not running.`.
 *
 * @module
 */

/** Where the router's control API is. */
export interface ApiTarget {
  /** Unix socket path of the control API. */
  socketPath?: string;
  /** TCP `host:port` of the control API (an absolute path means a unix socket). */
  httpAddr?: string;
}

/** An answer of the router. */
export interface ApiResponse {
  status: number;
  body: string;
}

/** Nothing answered at the target (refused, missing socket, unreachable). */
export class NotRunningError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NotRunningError";
  }
}

/** Options of {@link ApiClient}. */
export interface ApiClientOptions {
  /** Give up on a request after this long; default 30 000 ms. */
  timeoutMs?: number;
}

/** Form fields: repeated keys as arrays. */
export type FormFields = Record<string, string | string[] | undefined>;

/**
 * A client of one router.
 *
 * @example
 * ```ts ignore
 * const client = new ApiClient({ httpAddr: "127.0.0.1:6784" });
 * const { status, body } = await client.get("/status");
 * ```
 */
export class ApiClient {
  readonly #socketPath?: string;
  readonly #base: string;
  readonly #timeoutMs: number;

  constructor(target: ApiTarget, options: ApiClientOptions = {}) {
    const http = target.httpAddr;
    this.#socketPath = target.socketPath ?? (http?.startsWith("/") ? http : undefined);
    if (!this.#socketPath && !http) {
      throw new TypeError("Cannot create API client: neither a socket path nor an address given");
    }
    this.#base = this.#socketPath ? "http://localhost" : `http://${http}`;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Where this client connects, for messages. */
  get target(): string {
    return this.#socketPath ?? this.#base.slice("http://".length);
  }

  /** `GET path` (path may carry a query). */
  get(path: string, headers: Record<string, string> = {}): Promise<ApiResponse> {
    return this.request("GET", path, { headers });
  }

  /** `POST path` with an url-encoded form. */
  post(path: string, form: FormFields = {}): Promise<ApiResponse> {
    return this.request("POST", path, { form });
  }

  /** Any method, with optional form and headers. */
  async request(
    method: string,
    path: string,
    init: { form?: FormFields; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse> {
    const headers = new Headers(init.headers);
    let body: string | undefined;
    if (init.form) {
      body = encodeForm(init.form);
      headers.set("content-type", "application/x-www-form-urlencoded");
    }
    const client = this.#socketPath
      ? Deno.createHttpClient({ proxy: { transport: "unix", path: this.#socketPath } })
      : undefined;
    const signal = AbortSignal.timeout(this.#timeoutMs);
    try {
      const res = await fetch(this.#base + path, { method, headers, body, client, signal });
      return { status: res.status, body: await res.text() };
    } catch (e) {
      if (signal.aborted) {
        throw new Error(
          `Cannot ${method} ${path}: no answer from ${this.target} within ${this.#timeoutMs} ms`,
          {
            cause: e,
          },
        );
      }
      throw new NotRunningError(`Cannot connect to ${this.target}: ${(e as Error).message}`, {
        cause: e,
      });
    } finally {
      client?.close();
    }
  }
}

/** Encodes form fields (`peer=a&peer=b`). */
export function encodeForm(form: FormFields): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(form)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, v);
  }
  return params.toString();
}
