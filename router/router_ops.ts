/**
 * The operations the control API calls on the router ({@link RouterOps}): a report built in
 * one go from the mesh and the router's other parts, connect/forget, and stop.
 *
 * @module
 */
import { ApiError, type ApiRoute, type RouterOps } from "../api/ops.ts";
import type { WeaveReport } from "../api/report.ts";
import type { NetworkRouter } from "../datapath/network_router.ts";
import type { Nameserver } from "../dns/nameserver.ts";
import type { Allocator } from "../ipam/mod.ts";
import type { MeshRouter } from "../mesh/router.ts";
import { buildReport } from "./status.ts";

/** The parts of the router the report and the operations reach. */
export interface RouterParts {
  mesh: MeshRouter;
  /** The network router whose learned MACs the report lists. */
  network: NetworkRouter;
  /** The capture port's name, reported as Weave's `Interface`. */
  captureInterface: string;
  ipam?: Allocator;
  nameserver?: Nameserver;
  /** Subsystem HTTP routes (plumbing, IPAM, DNS). */
  routes: ApiRoute[];
  /** Report sections of parts that start later (the Docker proxy and plugin). */
  extraReport?: () => Partial<WeaveReport>;
  /** Asks the router to stop (`weave stop`). */
  stop: () => void;
}

/**
 * The API's view of the running router.
 *
 * @example
 * ```ts ignore
 * const ops = routerOps({ mesh, network, captureInterface: "vethwe-pcap", routes, stop });
 * ops.report().Router.Interface; // "vethwe-pcap (via tap)"
 * ```
 */
export function routerOps(parts: RouterParts): RouterOps {
  const { mesh } = parts;
  return {
    routes: parts.routes,
    report: () => ({
      ...buildReport(mesh, true, {
        interface: `${parts.captureInterface} (via tap)`,
        macs: parts.network.macs(),
        ipam: parts.ipam?.report(),
        dns: parts.nameserver?.report(),
      }),
      ...parts.extraReport?.(),
    }),
    connect(peers, replace) {
      const errors = mesh.connectionMaker.initiateConnections(peers, replace);
      if (errors.length) throw new ApiError(400, errors.map((e) => e.message).join("\n"));
    },
    forget(peers) {
      mesh.connectionMaker.forgetConnections(peers);
    },
    stop() {
      parts.stop();
      return Promise.resolve();
    },
  };
}
