/**
 * Reclaiming the IP ranges of peers whose Kubernetes node is gone, the way
 * Weave's kube-utils does it (`prog/kube-utils/main.go`), so that Go nodes
 * and ours can run side by side: the API server's optimistic concurrency on
 * the ConfigMap `kube-system/weave-net` decides which single peer removes a
 * dead one.
 *
 * 1. We add ourselves to the peer list (an update, retried on 409).
 * 2. Peers in the list whose node is gone, or that claim our node name
 *    without being us, are candidates (never ourselves).
 * 3. For each: if its lock annotation names us, we go on (we restarted
 *    mid-way); if there is none, we write one naming us — an update that
 *    fails on 409 when the ConfigMap changed since we read it: then we
 *    read it again, and leave the peer if another peer now holds its lock
 *    or it has left the list (kube-utils gives up at the first 409; asking
 *    again is as safe and survives writes that are not about this peer);
 *    if the lock names another peer, we leave it.
 * 4. `DELETE /peer/<name>` on our router (rmpeer: its ranges become ours).
 * 5. One update (retried on 409 against a fresh copy) removes it from the
 *    list, removes its lock, and releases every lock it held itself — so a
 *    lock left by a peer that died mid-reclaim frees up when that peer is
 *    reclaimed in turn.
 * 6. Back to 2 until three rounds change nothing.
 *
 * Every write is an update (PUT) carrying the resourceVersion that was
 * read; conflicts are retried with kube-utils' jittered 2-4 s delay
 * (injectable for tests).
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import {
  addSelf,
  afterReclaim,
  lockKey,
  lockState,
  PEER_LIST_CONFIGMAP,
  PEER_LIST_NAMESPACE,
  type PeerInfo,
  peersToReclaim,
  readPeerList,
} from "./peer_list.ts";
import { KubeApiError, type KubeClient, type KubeObject } from "./client.ts";

/** The ConfigMap as far as reclaim touches it. */
export interface PeerConfigMap extends KubeObject {
  metadata: KubeObject["metadata"] & { annotations?: Record<string, string> };
}

/** Access to the one ConfigMap; `update` throws a {@link KubeApiError} 409 on a stale copy. */
export interface ConfigMapAccess {
  /** The current ConfigMap; undefined when there is none. */
  get(): Promise<PeerConfigMap | undefined>;
  /** Creates it; throws KubeApiError 409 AlreadyExists when someone else just did. */
  create(cm: PeerConfigMap): Promise<PeerConfigMap>;
  /** Replaces it if `cm`'s resourceVersion is still current. */
  update(cm: PeerConfigMap): Promise<PeerConfigMap>;
}

/** What reclaim needs. */
export interface ReclaimOptions {
  configMap: ConfigMapAccess;
  /** Names of the current Nodes (with or without addresses). */
  nodeNames(): Promise<ReadonlySet<string>>;
  /** Our router's `DELETE /peer/<name>`. */
  rmpeer(peerName: string): Promise<string>;
  /** Us: our peer name and node name. */
  me: PeerInfo;
  log: Logger;
  /** Waits before a retry after a conflict; default 2-4 s (kube-utils' period and jitter). */
  sleep?: (ms: number) => Promise<void>;
  /** Conflicts in a row after which an update gives up (default 100). */
  maxConflicts?: number;
}

const RETRY_MS = 2000;

function defaultSleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The ConfigMap, created when missing (another creator winning the race is fine). */
export async function initConfigMap(access: ConfigMapAccess): Promise<PeerConfigMap> {
  for (;;) {
    const cm = await access.get();
    if (cm) {
      return { ...cm, metadata: { ...cm.metadata, annotations: { ...cm.metadata.annotations } } };
    }
    try {
      await access.create({
        metadata: { name: PEER_LIST_CONFIGMAP, namespace: PEER_LIST_NAMESPACE },
      });
    } catch (e) {
      if (!(e instanceof KubeApiError && e.code === 409)) throw e;
    }
  }
}

/**
 * Reads the ConfigMap and applies `change` to its annotations until the
 * update goes through without a conflict; `change` returning undefined means
 * nothing to write. Returns the annotations written (or found).
 */
export async function loopUpdate(
  o: ReclaimOptions,
  change: (annotations: Record<string, string>) => Record<string, string> | undefined,
): Promise<Record<string, string>> {
  const max = o.maxConflicts ?? 100;
  for (let conflicts = 0;; conflicts++) {
    const cm = await initConfigMap(o.configMap);
    const next = change(cm.metadata.annotations ?? {});
    if (next === undefined) return cm.metadata.annotations ?? {};
    try {
      await o.configMap.update({ ...cm, metadata: { ...cm.metadata, annotations: next } });
      return next;
    } catch (e) {
      if (!(e instanceof KubeApiError && e.isConflict) || conflicts + 1 >= max) throw e;
      o.log.debug(`[kube-peers] Optimistic locking conflict: trying again: ${e.message}`);
      await (o.sleep ?? defaultSleep)(RETRY_MS * (1 + Math.random()));
    }
  }
}

/** Step 1: puts us in the peer list; returns the list. */
export async function addSelfToPeerList(o: ReclaimOptions): Promise<PeerInfo[]> {
  const annotations = await loopUpdate(o, (a) => addSelf(a, o.me));
  return readPeerList(annotations);
}

/**
 * Step 3: takes the lock of `peerName` for us. False when the peer is no
 * longer in the list (someone finished it) or another peer holds the lock;
 * a 409 means the ConfigMap changed under us, so it is read again and the
 * same questions asked of the new copy — the lock is only ever written
 * when it was free in the very version the write replaces.
 */
async function takeLock(o: ReclaimOptions, peerName: string): Promise<boolean> {
  let outcome = false;
  await loopUpdate(o, (a) => {
    outcome = false;
    if (!readPeerList(a).some((p) => p.PeerName === peerName)) return undefined;
    const state = lockState(a, peerName, o.me.PeerName);
    if (state === "held") {
      o.log.debug(`[kube-peers] ${peerName} is being removed by ${a[lockKey(peerName)]}`);
      return undefined;
    }
    outcome = true;
    return state === "mine" ? undefined : { ...a, [lockKey(peerName)]: o.me.PeerName };
  });
  return outcome;
}

/** Steps 3-5 for one peer; true when we reclaimed it. */
async function reclaimPeer(o: ReclaimOptions, peerName: string): Promise<boolean> {
  if (!(await takeLock(o, peerName))) return false;
  const result = await o.rmpeer(peerName);
  o.log.info(`[kube-peers] rmpeer of ${peerName}: ${result}`);
  await loopUpdate(o, (a) => afterReclaim(a, peerName));
  return true;
}

/**
 * Steps 2-6: reclaims every peer whose node is gone; returns the ones we
 * removed (others may have been removed by other peers meanwhile).
 */
export async function reclaimRemovedPeers(o: ReclaimOptions): Promise<string[]> {
  const removed: string[] = [];
  for (let idle = 0; idle < 3; idle++) {
    const cm = await initConfigMap(o.configMap);
    const candidates = peersToReclaim(
      readPeerList(cm.metadata.annotations ?? {}),
      await o.nodeNames(),
      o.me,
    );
    if (candidates.length === 0) break;
    o.log.debug(`[kube-peers] Nodes that have disappeared: ${candidates.join(" ")}`);
    for (const peer of candidates) {
      if (await reclaimPeer(o, peer)) {
        removed.push(peer);
        idle = -1;
      }
    }
  }
  return removed;
}

/** {@link ConfigMapAccess} over the API (`kube-system/weave-net`). */
export function configMapAccess(client: KubeClient): ConfigMapAccess {
  const collection = `/api/v1/namespaces/${PEER_LIST_NAMESPACE}/configmaps`;
  const path = `${collection}/${PEER_LIST_CONFIGMAP}`;
  return {
    async get() {
      try {
        return await client.get<PeerConfigMap>(path);
      } catch (e) {
        if (e instanceof KubeApiError && e.code === 404) return undefined;
        throw e;
      }
    },
    create: (cm) => client.create(collection, cm),
    update: (cm) => client.update(path, cm),
  };
}
