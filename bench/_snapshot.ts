/**
 * One router's state as the convergence benchmark compares it, read from a
 * live {@link MeshRouter} (used in-process and by the per-router child).
 *
 * @module
 */
import type { MeshRouter } from "../mesh/router.ts";
import type { PeerView } from "../mesh/peer.ts";
import type { RouterSnapshot } from "./_measure.ts";

/** Counts per peer record, kept while its version and UID stay (polls are O(N²) otherwise). */
const counted = new WeakMap<PeerView, { version: bigint; uid: bigint; counts: [number, number] }>();

function counts(p: PeerView): [number, number] {
  const hit = counted.get(p);
  if (hit !== undefined && hit.version === p.version && hit.uid === p.uid) return hit.counts;
  let established = 0;
  for (const c of p.connections.values()) if (c.established) established++;
  const result: [number, number] = [p.connections.size, established];
  counted.set(p, { version: p.version, uid: p.uid, counts: result });
  return result;
}

/** The router's own connection list, its view of every peer, and its traffic. */
export function routerSnapshot(r: MeshRouter, connLimit: number): RouterSnapshot {
  const view: Record<string, [number, number]> = {};
  for (const p of r.peers.all()) view[p.name.toString(16)] = counts(p);
  const live = r.connections();
  return {
    name: r.ourName.toString(16),
    own: counts(r.peers.ourself),
    established: live.filter((c) => c.established).length,
    atLimit: connLimit > 0 && live.length >= connLimit,
    view,
    sent: r.trafficStats().sent,
  };
}
