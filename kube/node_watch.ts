/**
 * Keeps a current copy of the cluster's Nodes by list and watch, as
 * client-go's reflector does: list, then watch from the list's
 * resourceVersion; bookmarks and every event move that resourceVersion on;
 * a watch that ends or is cut is resumed from it; a `410 Gone` (the version
 * was compacted away) means list again. When the API cannot be reached the
 * last known nodes stay in place and the loop retries with exponential
 * backoff, logging one line per outage (user lessons #5: never a crash
 * loop because the API is away).
 *
 * The owner receives every change through `onChange` after the copy is
 * updated; on a relist, nodes that vanished while nobody watched are
 * reported as deleted.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import { KubeApiError, type KubeClient, type KubeObject } from "./client.ts";

/** A Node object, as far as weave reads it. */
export interface KubeNode extends KubeObject {
  status?: {
    addresses?: { type: string; address: string }[];
    conditions?: { type: string; status: string; reason?: string }[];
  };
}

/** What changed. */
export interface NodeChange {
  /** Names added or changed. */
  upserted: string[];
  /** Names deleted. */
  deleted: string[];
  /** Whether this change came from a (re)list. */
  relist: boolean;
}

/** Options of {@link watchNodes}. */
export interface NodeWatchOptions {
  client: KubeClient;
  log: Logger;
  signal: AbortSignal;
  /** Called after each change, with the whole current copy. */
  onChange(nodes: ReadonlyMap<string, KubeNode>, change: NodeChange): void;
  /** First retry delay in ms (default 500), doubled up to `maxBackoffMs` (default 30 000). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Server-side watch timeout in seconds (default 300). */
  timeoutSeconds?: number;
}

const NODES = "/api/v1/nodes";

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Runs until `signal` aborts; resolves then. Never rejects for API errors
 * (they are logged and retried); rejects only if `onChange` throws.
 */
export async function watchNodes(o: NodeWatchOptions): Promise<void> {
  const nodes = new Map<string, KubeNode>();
  let rv: string | undefined;
  let delay = o.backoffMs ?? 500;
  let outage = false;
  const reached = () => {
    if (outage) o.log.info(`Kubernetes API reachable again; watching Nodes`);
    outage = false;
    delay = o.backoffMs ?? 500;
  };
  while (!o.signal.aborted) {
    try {
      if (rv === undefined) {
        rv = await relist(o, nodes);
        reached();
      }
      rv = await follow(o, nodes, rv, reached);
    } catch (e) {
      if (o.signal.aborted) break;
      if (!(e instanceof KubeApiError)) throw e;
      if (e.code === 410) {
        o.log.debug(`Node watch: ${e.message}; listing again`);
        rv = undefined;
        continue;
      }
      if (e.reason === "StreamCut" && !outage) {
        o.log.debug(`Node watch: ${e.message}; resuming from ${rv}`);
        outage = true; // a cut followed by an unreachable server logs once
        continue;
      }
      if (!outage || e.code !== 0) {
        o.log.warn(
          `Kubernetes API: ${e.message}; keeping the last ${nodes.size} nodes as peers, retrying with backoff (check the API server and this pod's service account)`,
        );
      }
      outage = true;
      await sleep(delay, o.signal);
      delay = Math.min(delay * 2, o.maxBackoffMs ?? 30_000);
    }
  }
}

async function relist(o: NodeWatchOptions, nodes: Map<string, KubeNode>): Promise<string> {
  const list = await o.client.list<KubeNode>(NODES, o.signal);
  const fresh = new Map(list.items.map((n) => [n.metadata.name, n]));
  const deleted = [...nodes.keys()].filter((name) => !fresh.has(name));
  nodes.clear();
  for (const [k, v] of fresh) nodes.set(k, v);
  o.onChange(nodes, { upserted: [...fresh.keys()], deleted, relist: true });
  return list.metadata.resourceVersion ?? "0";
}

/** Follows one watch stream; returns the resourceVersion to resume from. */
async function follow(
  o: NodeWatchOptions,
  nodes: Map<string, KubeNode>,
  from: string,
  reached: () => void,
): Promise<string> {
  let rv = from;
  const stream = o.client.watch<KubeNode>(NODES, {
    resourceVersion: rv,
    timeoutSeconds: o.timeoutSeconds ?? 300,
    signal: o.signal,
  });
  for await (const e of stream) {
    reached();
    if (e.type === "ERROR") {
      const s = e.object as unknown as { code?: number; reason?: string; message?: string };
      throw new KubeApiError(
        s.code ?? 500,
        s.reason ?? "Unknown",
        `watch: ${s.message ?? "error"}`,
      );
    }
    rv = e.object.metadata?.resourceVersion ?? rv;
    if (e.type === "BOOKMARK") continue;
    const name = e.object.metadata.name;
    if (e.type === "DELETED") {
      if (!nodes.delete(name)) continue;
      o.onChange(nodes, { upserted: [], deleted: [name], relist: false });
    } else {
      nodes.set(name, e.object);
      o.onChange(nodes, { upserted: [name], deleted: [], relist: false });
    }
  }
  return rv;
}
