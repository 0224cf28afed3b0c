/**
 * N real {@link MeshRouter}s in this process on 127.0.0.1…N sharing one port
 * (as `_inprocess.ts`: NullOverlay, discovery on, connection limit 200,
 * Weave's timings), router i given router i−1, returned once the mesh is
 * full. Used by the IPAM and DNS benchmarks to put subsystems on a real mesh.
 *
 * @module
 */
import { discardLogger } from "../lib/log.ts";
import { NullOverlay } from "../mesh/overlay.ts";
import { MeshRouter } from "../mesh/router.ts";
import { freePortOnAll, loopbackHosts } from "./_host.ts";
import { benchPeerName } from "./_inprocess.ts";

/** A connected mesh. */
export interface TcpMesh {
  readonly routers: MeshRouter[];
  readonly hosts: string[];
  /** Seconds from handing out the first peers until the mesh was full. */
  readonly meshS: number;
  /** Mesh TCP bytes sent so far, all routers. */
  sentBytes(): number;
  /** Runs the teardown, then stops every router; safe to call twice. */
  stop(): Promise<void>;
}

/** Options of {@link startTcpMesh}. */
export interface TcpMeshOptions {
  timeoutMs: number;
  /** Registers subsystems; runs after the routers listen, before they connect. */
  setup?: (routers: MeshRouter[], hosts: string[]) => Promise<void>;
  /** Stops what `setup` started; runs before the routers stop. */
  teardown?: () => Promise<void> | void;
}

/**
 * Whether every router knows every peer, holds N−1 connections and a route
 * to each, and sees every peer with N−1 established connections (topology
 * settled: broadcast trees computed from a stale view can miss peers).
 */
export function meshFull(routers: MeshRouter[]): boolean {
  const n = routers.length;
  return routers.every((r) =>
    r.peers.size === n &&
    r.connections().filter((c) => c.established).length === n - 1 &&
    r.peers.all().every((p) =>
      r.routes.unicastAll(p.name) !== undefined &&
      [...p.connections.values()].filter((c) => c.established).length === n - 1
    )
  );
}

/** Builds, starts and connects N routers; throws (with everything stopped) on timeout. */
export async function startTcpMesh(n: number, opts: TcpMeshOptions): Promise<TcpMesh> {
  const hosts = loopbackHosts(n);
  const port = freePortOnAll(hosts);
  const routers = hosts.map((host, i) =>
    new MeshRouter({
      name: benchPeerName(i),
      nickName: `h${i + 1}`,
      port,
      host,
      connLimit: 200,
      discovery: true,
      overlay: new NullOverlay(),
      log: discardLogger,
    })
  );
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await opts.teardown?.();
    for (const r of routers) r.stop();
    await new Promise((res) => setTimeout(res, 200));
  };
  try {
    for (const r of routers) r.start();
    await opts.setup?.(routers, hosts);
    const t0 = performance.now();
    routers.forEach((r, i) => {
      if (i > 0) r.connectionMaker.initiateConnections([`${hosts[i - 1]}:${port}`], false);
    });
    while (!meshFull(routers)) {
      if (performance.now() - t0 > opts.timeoutMs) {
        throw new Error(`Cannot form a ${n}-router mesh: not full after ${opts.timeoutMs} ms`);
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    return {
      routers,
      hosts,
      meshS: (performance.now() - t0) / 1000,
      sentBytes: () => routers.reduce((s, r) => s + r.trafficStats().sent, 0),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
