/**
 * Marks our Node's network as up once the router is ready, as Weave's
 * kube-utils `-set-node-status` does: a strategic merge patch of the Node's
 * status with the condition `NetworkUnavailable=False`, reason `WeaveIsUp`
 * (lists of conditions merge by `type`, so the others stay).
 *
 * @module
 */
import type { KubeClient } from "./client.ts";
import type { KubeNode } from "./node_watch.ts";

/** Kubernetes' time format (RFC 3339, seconds). */
function kubeTime(when: Date): string {
  return when.toISOString().replace(/\.\d+Z$/, "Z");
}

/**
 * The status patch (pure).
 *
 * @example
 * ```ts
 * import { networkUpPatch } from "./node_status.ts";
 * networkUpPatch(new Date(0)).status.conditions[0].reason; // "WeaveIsUp"
 * ```
 */
export function networkUpPatch(now: Date) {
  const t = kubeTime(now);
  return {
    status: {
      conditions: [{
        type: "NetworkUnavailable",
        status: "False",
        reason: "WeaveIsUp",
        message: "Weave pod has set this",
        lastTransitionTime: t,
        lastHeartbeatTime: t,
      }],
    },
  };
}

/** Patches `nodeName`'s status (`PATCH /api/v1/nodes/<name>/status`). */
export function setNetworkUp(
  client: KubeClient,
  nodeName: string,
  now = new Date(),
): Promise<KubeNode> {
  return client.patch<KubeNode>(
    `/api/v1/nodes/${encodeURIComponent(nodeName)}/status`,
    networkUpPatch(now),
  );
}
