/**
 * The router's initial peers from the cluster's Node objects, as Weave's
 * kube-utils computed them (`getKubePeers`): each node's IPv4 InternalIP,
 * else its IPv4 ExternalIP (nodes with neither are left out), in the order
 * the API lists them. Unlike Weave (which handed the router its own address
 * too), our own node is skipped — by an address of ours or by our node
 * name — so the router never dials itself; the consensus count still
 * includes us, as Weave's `consensus=<number of KUBE_PEERS>` did.
 *
 * @module
 */
import type { KubeNode } from "./node_watch.ts";

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** A node's peer address: its IPv4 InternalIP, else ExternalIP; undefined with neither. */
export function nodeAddress(node: KubeNode): string | undefined {
  let internal: string | undefined, external: string | undefined;
  for (const a of node.status?.addresses ?? []) {
    const ip = a.address?.startsWith("::ffff:") ? a.address.slice(7) : a.address;
    if (typeof ip !== "string" || !IPV4.test(ip)) continue;
    if (a.type === "InternalIP") internal = ip;
    else if (a.type === "ExternalIP") external = ip;
  }
  return internal ?? external;
}

/** The peers to give the router, and the consensus count. */
export interface KubePeers {
  /** Addresses of the other nodes. */
  peers: string[];
  /** Nodes with an address, ourselves included (`consensus=<count>`). */
  consensus: number;
}

/**
 * Peers from the Node list (pure).
 *
 * @example
 * ```ts
 * import { peersFromNodes } from "./peers.ts";
 * const n = (name: string, address: string) => ({
 *   metadata: { name },
 *   status: { addresses: [{ type: "InternalIP", address }] },
 * });
 * peersFromNodes([n("a", "192.0.2.1"), n("b", "192.0.2.2")], { addresses: ["192.0.2.1"] });
 * // { peers: ["192.0.2.2"], consensus: 2 }
 * ```
 */
export function peersFromNodes(
  nodes: Iterable<KubeNode>,
  own: { addresses: Iterable<string>; nodeName?: string },
): KubePeers {
  const mine = new Set(own.addresses);
  const peers: string[] = [];
  let consensus = 0;
  let selfCounted = false;
  for (const node of nodes) {
    const addr = nodeAddress(node);
    if (addr === undefined) continue;
    const isSelf = mine.has(addr) || node.metadata.name === own.nodeName;
    if (isSelf && selfCounted) continue; // one node for us, however many carry our addresses
    consensus++;
    if (isSelf) selfCounted = true;
    else if (!peers.includes(addr)) peers.push(addr);
  }
  return { peers, consensus };
}

/** Words of `KUBE_PEERS` as peers: our own addresses left out, all of them counted. */
export function peersFromList(list: readonly string[], own: Iterable<string>): KubePeers {
  const mine = new Set(own);
  return { peers: list.filter((p) => !mine.has(p)), consensus: list.length };
}
