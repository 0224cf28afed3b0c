/**
 * One router's state as the convergence benchmark compares it, read from a
 * live {@link MeshRouter} (used in-process and by the per-router child).
 *
 * @module
 */
import type { MeshRouter } from "../mesh/router.ts";
import type { PeerView } from "../mesh/peer.ts";
import type { RouterSnapshot } from "./_measure.ts";

function counts(p: PeerView): [number, number] {
  let established = 0;
  for (const c of p.connections.values()) if (c.established) established++;
  return [p.connections.size, established];
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
