/**
 * The object store of the stand-in Kubernetes API server (see `server.ts`):
 * objects by resource and key, one cluster-wide `resourceVersion` counter,
 * and a bounded history of change events for watches, after the API
 * conventions (`api-conventions.md`, "Concurrency Control and Consistency",
 * and `api-concepts.md`, "Efficient detection of changes"):
 *
 * - every write gives the object the next resourceVersion (an opaque string
 *   to clients; here a decimal counter);
 * - an update or patch whose object names a resourceVersion other than the
 *   stored one fails with 409 Conflict (optimistic concurrency); one that
 *   names none is unconditional;
 * - a watch from a resourceVersion older than the oldest event still kept
 *   gets 410 Gone ("too old resource version"): the client must relist.
 *
 * This is a stand-in for the subset weave uses, not a kube-apiserver.
 *
 * @module
 */

/** A Kubernetes object as JSON, with at least metadata.name. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    creationTimestamp?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/** One change, as a watch sends it. */
export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: KubeObject;
  /** The resourceVersion of the change. */
  rv: number;
  resource: string;
  namespace?: string;
}

/** An API error, rendered as a `Status` object with `code`. */
export class ApiStatusError extends Error {
  constructor(readonly code: number, readonly reason: string, message: string) {
    super(message);
    this.name = "ApiStatusError";
  }
}

/** Kinds known to the store: resource name → kind, apiVersion, namespaced. */
export const RESOURCES: Readonly<
  Record<string, { kind: string; apiVersion: string; namespaced: boolean }>
> = Object.freeze({
  nodes: { kind: "Node", apiVersion: "v1", namespaced: false },
  configmaps: { kind: "ConfigMap", apiVersion: "v1", namespaced: true },
});

const clone = <T>(v: T): T => structuredClone(v);

/** In-memory objects with resourceVersions and an event history. */
export class KubeStore {
  #rv = 100;
  #objects = new Map<string, KubeObject>();
  #history: WatchEvent[] = [];
  #listeners = new Set<(e: WatchEvent) => void>();
  #uid = 0;
  /** Events kept for watches; older resourceVersions get 410 Gone. */
  historyLimit: number;

  constructor(options: { historyLimit?: number } = {}) {
    this.historyLimit = options.historyLimit ?? 1000;
  }

  /** The current resourceVersion (that of the latest write). */
  get resourceVersion(): number {
    return this.#rv;
  }

  /** The oldest resourceVersion a watch may still start from. */
  get oldestWatchable(): number {
    return this.#history.length ? this.#history[0].rv - 1 : this.#rv;
  }

  /** Forgets the event history (as etcd compaction does): older watches get 410. */
  compact(): void {
    this.#history = [];
  }

  /** Objects of a resource (in a namespace, when given), sorted by name. */
  list(resource: string, namespace?: string): KubeObject[] {
    const prefix = `${resource}/${namespace ?? ""}/`;
    return [...this.#objects]
      .filter(([k]) =>
        namespace === undefined ? k.startsWith(`${resource}/`) : k.startsWith(prefix)
      )
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, o]) => clone(o));
  }

  /** One object; throws 404. */
  get(resource: string, namespace: string | undefined, name: string): KubeObject {
    const o = this.#objects.get(this.#key(resource, namespace, name));
    if (!o) throw notFound(resource, name);
    return clone(o);
  }

  /** Creates; throws 409 AlreadyExists. */
  create(resource: string, namespace: string | undefined, obj: KubeObject): KubeObject {
    const key = this.#key(resource, namespace, obj.metadata.name);
    if (this.#objects.has(key)) {
      throw new ApiStatusError(
        409,
        "AlreadyExists",
        `${resource} "${obj.metadata.name}" already exists`,
      );
    }
    const stored = this.#stamp(resource, namespace, obj);
    stored.metadata.uid = `uid-${++this.#uid}`;
    stored.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    this.#objects.set(key, stored);
    this.#emit("ADDED", resource, namespace, stored);
    return clone(stored);
  }

  /** Replaces; throws 404, or 409 Conflict when obj's resourceVersion is stale. */
  update(resource: string, namespace: string | undefined, obj: KubeObject): KubeObject {
    const key = this.#key(resource, namespace, obj.metadata.name);
    const old = this.#objects.get(key);
    if (!old) throw notFound(resource, obj.metadata.name);
    const want = obj.metadata.resourceVersion;
    if (want !== undefined && want !== "" && want !== old.metadata.resourceVersion) {
      throw conflict(resource, obj.metadata.name);
    }
    const stored = this.#stamp(resource, namespace, obj);
    stored.metadata.uid = old.metadata.uid;
    stored.metadata.creationTimestamp = old.metadata.creationTimestamp;
    this.#objects.set(key, stored);
    this.#emit("MODIFIED", resource, namespace, stored);
    return clone(stored);
  }

  /** Deletes; throws 404. */
  delete(resource: string, namespace: string | undefined, name: string): KubeObject {
    const key = this.#key(resource, namespace, name);
    const old = this.#objects.get(key);
    if (!old) throw notFound(resource, name);
    this.#objects.delete(key);
    const gone = clone(old);
    gone.metadata.resourceVersion = String(++this.#rv);
    this.#emit("DELETED", resource, namespace, gone);
    return clone(gone);
  }

  /** Events after `rv` for a resource; throws 410 when they are no longer kept. */
  since(rv: number, resource: string, namespace?: string): WatchEvent[] {
    if (rv < this.oldestWatchable) {
      throw new ApiStatusError(
        410,
        "Expired",
        `too old resource version: ${rv} (${this.oldestWatchable})`,
      );
    }
    return this.#history.filter((e) => e.rv > rv && matches(e, resource, namespace));
  }

  /** Calls `fn` with every later event; returns the unsubscribe function. */
  subscribe(fn: (e: WatchEvent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #key(resource: string, namespace: string | undefined, name: string): string {
    if (!RESOURCES[resource]) throw notFound(resource, name);
    return `${resource}/${RESOURCES[resource].namespaced ? namespace ?? "default" : ""}/${name}`;
  }

  #stamp(resource: string, namespace: string | undefined, obj: KubeObject): KubeObject {
    const { kind, apiVersion, namespaced } = RESOURCES[resource];
    const stored = clone(obj);
    stored.kind = kind;
    stored.apiVersion = apiVersion;
    if (namespaced) stored.metadata.namespace = namespace ?? "default";
    else delete stored.metadata.namespace;
    stored.metadata.resourceVersion = String(++this.#rv);
    return stored;
  }

  #emit(
    type: WatchEvent["type"],
    resource: string,
    namespace: string | undefined,
    object: KubeObject,
  ): void {
    const ns = RESOURCES[resource].namespaced ? namespace ?? "default" : undefined;
    const e: WatchEvent = { type, object: clone(object), rv: this.#rv, resource, namespace: ns };
    this.#history.push(e);
    while (this.#history.length > this.historyLimit) this.#history.shift();
    for (const fn of [...this.#listeners]) fn(e);
  }
}

/** Whether an event is of a resource (and namespace, when given). */
export function matches(e: WatchEvent, resource: string, namespace?: string): boolean {
  return e.resource === resource && (namespace === undefined || e.namespace === namespace);
}

function notFound(resource: string, name: string): ApiStatusError {
  return new ApiStatusError(404, "NotFound", `${resource} "${name}" not found`);
}

function conflict(resource: string, name: string): ApiStatusError {
  return new ApiStatusError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
  );
}

/** The 409 the server answers during a conflict storm (see `server.ts`). */
export function injectedConflict(resource: string, name: string): ApiStatusError {
  return conflict(resource, name);
}
