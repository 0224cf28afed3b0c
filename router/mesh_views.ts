/**
 * What the router's parts see of the mesh, each through the small interface it declares:
 * the network router's routes and nicknames, fastdp's short IDs, IPAM's peer list.
 *
 * @module
 */
import type { NetworkRouterMesh } from "../datapath/network_router.ts";
import type { FastdpPeers } from "../datapath/fastdp/mod.ts";
import type { PeerName } from "../lib/peer_name.ts";
import type { MeshRouter } from "../mesh/router.ts";

/** The mesh as the network router (MAC learning, forwarding) needs it. */
export function networkRouterMesh(mesh: MeshRouter): NetworkRouterMesh {
  return {
    ourName: mesh.ourName,
    unicastNextHop: (d) => mesh.routes.unicast(d),
    broadcastNextHops: (o) => mesh.routes.broadcast(o),
    peerNick: (p) => mesh.peers.get(p)?.nickName,
    relaysVia: relayHops(mesh),
  };
}

/** The mesh's peer table as fastdp reads short IDs from it. */
export function fastdpPeers(mesh: MeshRouter): FastdpPeers {
  return {
    shortID: () => mesh.peers.ourself.shortID,
    peerShortID: (n) => {
      const p = mesh.peers.get(n);
      return p?.hasShortID ? p.shortID : undefined;
    },
  };
}

/** Every known peer with whether a route reaches it (ourselves always), as IPAM lists them. */
export function ipamPeers(
  mesh: MeshRouter,
): () => { name: PeerName; nickName: string; reachable: boolean }[] {
  return () =>
    mesh.peers.all().map((p) => ({
      name: p.name,
      nickName: p.nickName,
      reachable: p.name === mesh.ourName || mesh.routes.unicastAll(p.name) !== undefined,
    }));
}

/**
 * Which neighbours pass our broadcasts on: those through which some other peer is
 * reached. Recomputed at most once a second (it is asked per broadcast frame).
 */
function relayHops(mesh: MeshRouter): (hop: PeerName) => boolean {
  let at = 0;
  let hops = new Set<PeerName>();
  return (hop) => {
    const now = Date.now();
    if (now - at > 1000) {
      at = now;
      hops = new Set();
      for (const p of mesh.peers.all()) {
        const via = mesh.routes.unicast(p.name);
        if (via !== undefined && via !== 0n && via !== p.name) hops.add(via);
      }
    }
    return hops.has(hop);
  };
}
