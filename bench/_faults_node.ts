/**
 * A router for the fault campaign (`faults.ts`) and its short CI version: the mesh with the
 * sleeve overlay (under the overlay switch, as the weaver runs it), the network router with
 * injection counted instead of a TAP, and the control API on an ephemeral loopback port whose
 * `connect`/`forget` are the mesh's own. Everything a hostile peer can reach, without root.
 *
 * @module
 */
import { FakeRouterOps } from "../api/fake_ops.ts";
import { ApiError } from "../api/ops.ts";
import { type ApiServers, startApiServers } from "../api/server.ts";
import { loadReport } from "../api/_samples.ts";
import { NetworkRouter } from "../datapath/network_router.ts";
import { OverlaySwitch } from "../datapath/overlay_switch.ts";
import { SleeveOverlay } from "../datapath/sleeve/sleeve.ts";
import type { Logger } from "../lib/log.ts";
import type { PeerName } from "../lib/peer_name.ts";
import { MeshRouter } from "../mesh/router.ts";

/** Options of {@link startFaultNode}. */
export interface FaultNodeOptions {
  name: PeerName;
  nickName: string;
  /** Loopback address to listen on (TCP and UDP). */
  host: string;
  port: number;
  log: Logger;
  /** Serve the control API on `host:0` too. */
  api?: boolean;
  /** Handshake timeout (ms); Weave's 10 s by default. */
  handshakeTimeoutMs?: number;
}

/** A running node. */
export interface FaultNode {
  mesh: MeshRouter;
  sleeve: SleeveOverlay;
  router: NetworkRouter;
  /** `host:port` of the API, when served. */
  apiAddr?: string;
  /** Frames the network router injected (a TAP would have written them to the bridge). */
  injected(): number;
  stop(): Promise<void>;
}

/**
 * Starts a node.
 *
 * @example
 * ```ts ignore
 * const node = await startFaultNode({ name: 1n, nickName: "v", host: "127.0.0.1", port, log });
 * await node.stop();
 * ```
 */
export async function startFaultNode(opts: FaultNodeOptions): Promise<FaultNode> {
  const { name, log } = opts;
  const sleeve = new SleeveOverlay({ localPeer: name, port: opts.port, host: opts.host, log });
  await sleeve.start();
  const overlay = new OverlaySwitch([{ name: "sleeve", overlay: sleeve }], { log });
  const mesh = new MeshRouter({
    name,
    nickName: opts.nickName,
    port: opts.port,
    host: opts.host,
    connLimit: 200,
    discovery: false,
    overlay,
    log,
    connectionTimings: opts.handshakeTimeoutMs === undefined
      ? undefined
      : { handshakeTimeoutMs: opts.handshakeTimeoutMs },
  });
  let injected = 0;
  const router = new NetworkRouter({
    mesh: {
      ourName: name,
      unicastNextHop: (dst) => mesh.routes.unicast(dst),
      broadcastNextHops: (origin) => mesh.routes.broadcast(origin),
      peerNick: (peer) => mesh.peers.get(peer)?.nickName,
    },
    overlay,
    inject: () => injected++,
    log,
  });
  overlay.setConsumer(router);
  mesh.onPeerGone((peer) => router.onPeerGone(peer));
  mesh.start();
  router.start();
  let servers: ApiServers | undefined;
  if (opts.api) servers = await startApi(mesh, opts.host, log);
  return {
    mesh,
    sleeve,
    router,
    apiAddr: servers?.addresses.http,
    injected: () => injected,
    async stop() {
      mesh.stop();
      router.stop();
      await overlay.stop();
      await servers?.close();
    },
  };
}

function startApi(mesh: MeshRouter, host: string, log: Logger): Promise<ApiServers> {
  const ops = new FakeRouterOps(loadReport("plain", "h1"));
  ops.connect = (peers, replace) => {
    const errors = mesh.connectionMaker.initiateConnections(peers, replace);
    if (errors.length) throw new ApiError(400, errors.map((e) => e.message).join("\n"));
  };
  ops.forget = (peers) => mesh.connectionMaker.forgetConnections(peers);
  ops.routes = [{
    method: "DELETE",
    pattern: /^\/peer\/(?<id>[^/]+)$/,
    scope: "control",
    handle: (_req, p) => new Response(`0 IPs taken over from ${p.id}\n`),
  }];
  return startApiServers(ops, { httpAddr: `${host}:0`, log });
}
