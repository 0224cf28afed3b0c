/**
 * A client of the Docker Engine API (HTTP/1.1 over a unix socket or TCP):
 * just what weave needs — inspect a container (pid, hostname, name), list
 * containers, inspect a network, and follow the event stream. An engine that
 * does not answer raises {@link DockerUnavailableError} with Docker's own
 * wording (`Cannot connect to the Docker daemon at …`); an unknown container
 * raises {@link NoSuchContainerError}. Nothing here prints.
 *
 * @module
 */
import { type DockerEndpoint, formatDockerHost } from "./endpoint.ts";

/** No engine answered at the endpoint (socket missing, refused, unreachable). */
export class DockerUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DockerUnavailableError";
  }
}

/** The engine answered with an error status; `status` is the HTTP code. */
export class DockerApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DockerApiError";
    this.status = status;
  }
}

/** The engine knows no container by that name or id (HTTP 404). */
export class NoSuchContainerError extends DockerApiError {
  constructor(message: string, options?: ErrorOptions) {
    super(404, message, options);
    this.name = "NoSuchContainerError";
  }
}

/** What weave uses of `GET /containers/{id}/json`. */
export interface ContainerInfo {
  /** Full 64-hex id. */
  id: string;
  /** Name without Docker's leading slash. */
  name: string;
  /** `Config.Hostname`. */
  hostname: string;
  /** `Config.Domainname` ("" when unset). */
  domainname: string;
  /** Pid of the container's init process; 0 when it is not running. */
  pid: number;
  running: boolean;
  /** `HostConfig.NetworkMode` (`default`, `none`, `host`, `container:<id>`, a network). */
  networkMode: string;
  labels: Record<string, string>;
  /** `Config.Env` as given (`KEY=value`). */
  env: string[];
  /** `NetworkSettings.Networks`, by network name. */
  networks: ContainerNetwork[];
}

/** One network a container is on. */
export interface ContainerNetwork {
  name: string;
  networkId: string;
  /** Its address there ("" when none). */
  ipAddress: string;
}

/** One row of `GET /containers/json`. */
export interface ContainerSummary {
  id: string;
  /** Names without the leading slash. */
  names: string[];
  /** `running`, `exited`, … */
  state: string;
}

/** One event of `GET /events` (container events only carry these). */
export interface DockerEvent {
  /** `container`, `network`, … */
  type: string;
  /** `start`, `die`, `destroy`, … */
  action: string;
  /** The object's id (a container id for container events). */
  id: string;
  attributes: Record<string, string>;
}

/** What weave uses of `GET /networks/{id}`. */
export interface NetworkInfo {
  id: string;
  name: string;
  driver: string;
  options: Record<string, string>;
}

/** Options of {@link DockerClient}. */
export interface DockerClientOptions {
  /** Give up on a (non-streaming) request after this long; default 30 000 ms. */
  timeoutMs?: number;
}

/**
 * A client of one Docker engine.
 *
 * @example
 * ```ts ignore
 * const docker = new DockerClient(dockerEndpointFrom(undefined, Deno.env.toObject()));
 * const c = await docker.inspectContainer("web1");
 * c.pid; // the netns of /proc/<pid>/ns/net is the container's
 * ```
 */
export class DockerClient {
  readonly endpoint: DockerEndpoint;
  readonly #timeoutMs: number;

  constructor(endpoint: DockerEndpoint, options: DockerClientOptions = {}) {
    this.endpoint = endpoint;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** The engine in `DOCKER_HOST` syntax. */
  get host(): string {
    return formatDockerHost(this.endpoint);
  }

  /** `GET /_ping`: resolves when the engine answers. */
  async ping(): Promise<void> {
    await this.#json("GET", "/_ping", { text: true });
  }

  /** `GET /version`: the engine's version and API version. */
  async version(): Promise<{ version: string; apiVersion: string }> {
    const v = await this.#json("GET", "/version") as { Version?: string; ApiVersion?: string };
    return { version: String(v.Version ?? ""), apiVersion: String(v.ApiVersion ?? "") };
  }

  /** Inspects a container by name, id or unique id prefix. */
  async inspectContainer(ref: string): Promise<ContainerInfo> {
    if (ref === "" || /[/?#]/.test(ref)) {
      throw new TypeError(`Cannot inspect container "${ref}": not a container name or id`);
    }
    return toContainerInfo(await this.#json("GET", `/containers/${ref}/json`));
  }

  /** Lists containers (running ones unless `all`). */
  async listContainers(options: { all?: boolean } = {}): Promise<ContainerSummary[]> {
    const rows = await this.#json("GET", `/containers/json${options.all ? "?all=1" : ""}`);
    if (!Array.isArray(rows)) throw new DockerApiError(500, "Cannot list containers: not a list");
    return rows.map((r: Record<string, unknown>) => ({
      id: String(r.Id ?? ""),
      names: (Array.isArray(r.Names) ? r.Names : []).map((n: unknown) =>
        String(n).replace(/^\//, "")
      ),
      state: String(r.State ?? ""),
    }));
  }

  /** Kills a container (`POST /containers/{id}/kill`). */
  async kill(ref: string): Promise<void> {
    await this.#json("POST", `/containers/${encodeURIComponent(ref)}/kill`, { text: true });
  }

  /** Inspects a network by name or id. */
  async inspectNetwork(ref: string): Promise<NetworkInfo> {
    const n = await this.#json("GET", `/networks/${encodeURIComponent(ref)}`) as Record<
      string,
      unknown
    >;
    return {
      id: String(n.Id ?? ""),
      name: String(n.Name ?? ""),
      driver: String(n.Driver ?? ""),
      options: stringRecord(n.Options),
    };
  }

  /**
   * Follows `GET /events` (container events only unless `types` says otherwise)
   * until `signal` aborts or the engine closes the stream.
   */
  async *events(
    options: { signal?: AbortSignal; types?: string[] } = {},
  ): AsyncGenerator<DockerEvent> {
    const filters = JSON.stringify({ type: options.types ?? ["container"] });
    const { res, close } = await this.#fetch(
      "GET",
      `/events?filters=${encodeURIComponent(filters)}`,
      { signal: options.signal },
    );
    try {
      if (!res.ok) throw await apiError(res, "GET /events");
      const lines = res.body!.pipeThrough(new TextDecoderStream()).pipeThrough(splitLines());
      for await (const line of lines) {
        if (line.trim() === "") continue;
        yield toEvent(JSON.parse(line));
      }
    } catch (e) {
      if (options.signal?.aborted) return;
      throw e;
    } finally {
      close();
    }
  }

  async #json(method: string, path: string, opts: { text?: boolean } = {}): Promise<unknown> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    const { res, close } = await this.#fetch(method, path, { signal, timeout: true });
    let body: string;
    try {
      if (!res.ok) throw await apiError(res, `${method} ${path}`);
      body = await res.text();
    } finally {
      close();
    }
    if (opts.text) return body;
    try {
      return JSON.parse(body);
    } catch (e) {
      throw new DockerApiError(res.status, `Cannot ${method} ${path}: the engine sent no JSON`, {
        cause: e,
      });
    }
  }

  async #fetch(
    method: string,
    path: string,
    opts: { signal?: AbortSignal; timeout?: boolean },
  ): Promise<{ res: Response; close: () => void }> {
    const e = this.endpoint;
    const client = e.kind === "unix"
      ? Deno.createHttpClient({ proxy: { transport: "unix", path: e.path } })
      : undefined;
    const base = e.kind === "unix" ? "http://docker" : `http://${e.host}:${e.port}`;
    let res: Response;
    try {
      res = await fetch(base + path, { method, client, signal: opts.signal });
    } catch (err) {
      client?.close();
      if (opts.timeout && opts.signal?.aborted) {
        throw new DockerUnavailableError(
          `Cannot ${method} ${path}: no answer from the Docker daemon at ${this.host} ` +
            `within ${this.#timeoutMs} ms`,
          { cause: err },
        );
      }
      if (opts.signal?.aborted) throw err;
      throw new DockerUnavailableError(
        `Cannot connect to the Docker daemon at ${this.host}. Is the docker daemon running?`,
        { cause: err },
      );
    }
    return { res, close: () => client?.close() };
  }
}

async function apiError(res: Response, what: string): Promise<DockerApiError> {
  const text = await res.text().catch(() => "");
  let message = text.trim();
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    if (typeof m === "string") message = m;
  } catch { /* plain text */ }
  if (message === "") message = `HTTP ${res.status}`;
  if (res.status === 404 && /container/i.test(message)) return new NoSuchContainerError(message);
  return new DockerApiError(res.status, `Error response from daemon (${what}): ${message}`);
}

function toContainerInfo(raw: unknown): ContainerInfo {
  const c = raw as Record<string, Record<string, unknown> | undefined> & Record<string, unknown>;
  const config = c.Config ?? {};
  const state = c.State ?? {};
  const host = c.HostConfig ?? {};
  return {
    id: String(c.Id ?? ""),
    name: String(c.Name ?? "").replace(/^\//, ""),
    hostname: String(config.Hostname ?? ""),
    domainname: String(config.Domainname ?? ""),
    pid: Number(state.Pid ?? 0),
    running: state.Running === true,
    networkMode: String(host.NetworkMode ?? ""),
    labels: stringRecord(config.Labels),
    env: Array.isArray(config.Env) ? config.Env.map(String) : [],
    networks: toNetworks(c.NetworkSettings?.Networks),
  };
}

function toNetworks(raw: unknown): ContainerNetwork[] {
  if (!raw || typeof raw !== "object") return [];
  return Object.entries(raw as Record<string, Record<string, unknown> | null>).map(([name, n]) => ({
    name,
    networkId: String(n?.NetworkID ?? ""),
    ipAddress: String(n?.IPAddress ?? ""),
  }));
}

function toEvent(raw: Record<string, unknown>): DockerEvent {
  const actor = (raw.Actor ?? {}) as Record<string, unknown>;
  return {
    type: String(raw.Type ?? ""),
    action: String(raw.Action ?? raw.status ?? ""),
    id: String(actor.ID ?? raw.id ?? ""),
    attributes: stringRecord(actor.Attributes),
  };
}

function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) if (typeof x === "string") out[k] = x;
  }
  return out;
}

/** A stream of text chunks cut into lines (without the newline). */
function splitLines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, out) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const p of parts) out.enqueue(p);
    },
    flush(out) {
      if (rest !== "") out.enqueue(rest);
    },
  });
}
