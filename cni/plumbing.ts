/**
 * What the plugin does to the kernel, as a small seam: the real one is
 * {@link kernelPlumbing} (`pod.ts`, netlink through `sys/`), tests of the
 * command logic use `fake_plumbing.ts`.
 *
 * @module
 */

/** The host end of a pod's veth is `vethwepl` and the first 7 characters of the container id. */
export const HOST_VETH_PREFIX = "vethwepl";

/**
 * The host-side veth name of container `containerId`, as Weave names it.
 *
 * @example
 * ```ts
 * import { hostVethName } from "./plumbing.ts";
 * hostVethName("4b0c1d2e3f40"); // "vethwepl4b0c1d2"
 * ```
 */
export function hostVethName(containerId: string): string {
  return HOST_VETH_PREFIX + containerId.slice(0, 7);
}

/** A route to install in the pod. */
export interface PodRoute {
  /** `a.b.c.d/n`. */
  dst: string;
  /** Next hop; absent: a device route (scope link). */
  gw?: string;
}

/** What ADD puts in place. */
export interface PodSpec {
  containerId: string;
  /** Path of the pod's network namespace. */
  netns: string;
  /** The pod's interface name (CNI_IFNAME). */
  ifname: string;
  bridge: string;
  /** MTU of both veth ends. */
  mtu: number;
  hairpin: boolean;
  /** The pod's address `a.b.c.d/n`. */
  cidr: string;
  /** In order: e.g. a link route to an off-subnet gateway, then the default route. */
  routes: PodRoute[];
}

/** Which pod attachment to look at or remove. */
export interface PodRef {
  containerId: string;
  /** Empty when the runtime no longer knows it (DEL). */
  netns: string;
  ifname: string;
}

/** A link as results name it. */
export interface LinkSummary {
  name: string;
  mac: string;
  mtu: number;
}

/** What {@link Plumbing.inspectPod} finds (`peer`: a veth end's other end's ifindex). */
export interface PodState {
  /** The host veth: whether it is a port of `bridge` and up. */
  host?: LinkSummary & { bridge?: string; up: boolean; index: number; peer?: number };
  /** The pod's interface, its addresses and the routes through it. */
  pod?: LinkSummary & {
    up: boolean;
    cidrs: string[];
    routes: PodRoute[];
    index: number;
    peer?: number;
  };
}

/** The kernel work of the plugin; every method acts in the plugin's (host) namespace and the pod's. */
export interface Plumbing {
  /** The bridge's MTU and addresses; undefined when there is no such bridge. */
  bridge(name: string): { mtu: number; cidrs: string[] } | undefined;
  /** Adds `cidr` to the bridge (present already: fine). */
  addBridgeAddr(name: string, cidr: string): void;
  /**
   * Creates (or, when ADD is retried, keeps) the veth pair, configures both ends and the pod's
   * address and routes, announces the address; a failure undoes what this call created.
   */
  setupPod(spec: PodSpec): { host: LinkSummary; pod: LinkSummary };
  /** Removes the pod's interface (and so the host veth); already gone or no namespace: fine. */
  teardownPod(ref: PodRef): void;
  /** What is in place for `ref`; throws CniError code 3 when the namespace does not exist. */
  inspectPod(ref: PodRef & { bridge: string }): PodState;
}
