/**
 * The veth pair of an attached container: the host end `vethwepl<hash of id>` (15 characters at
 * most) is a port of the bridge; the other end is created straight inside the container's
 * namespace as `ethwe`, with the bridge's MTU, the given addresses and, unless disabled, the
 * multicast route 224.0.0.0/4 via ethwe (as Weave does). Every step only adds what is missing
 * and repairs what drifted. The host end's name is derived from the id alone, so `weave ps`
 * finds a container again by hashing candidate ids — no state file.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import {
  addAddr,
  addRoute,
  addVeth,
  findLink,
  getLink,
  type LinkInfo,
  listAddrs,
  listRoutes,
  type Netlink,
  setLinkUp,
  setMaster,
  setMtu,
} from "../sys/mod.ts";
import type { Container, Namespaces } from "./container.ts";
import { deleteQuietly, ignoreExists } from "./_netlink_quiet.ts";

/** The container-side interface name. */
export const CONTAINER_IFNAME = "ethwe";
/** Prefix of the host-side veth of an attached container. */
export const HOST_VETH_PREFIX = "vethwepl";
/** The route Weave adds in containers so multicast leaves via ethwe. */
export const MULTICAST_ROUTE = "224.0.0.0/4";

/**
 * The host-side veth name of container `id`: `vethwepl` and 7 hex digits of a hash of the id.
 *
 * @example
 * ```ts
 * import { hostVethName } from "./veth.ts";
 * hostVethName("c1").length; // 15
 * ```
 */
export function hostVethName(id: string): string {
  let h = 0x811c9dc5; // FNV-1a, 32 bits
  for (const b of new TextEncoder().encode(id)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return HOST_VETH_PREFIX + (h >>> 4).toString(16).padStart(7, "0");
}

/** What {@link ensureVeth} works on. */
export interface VethContext {
  nl: Netlink;
  cnl: Netlink;
  ns: Namespaces;
  c: Container;
  bridge: LinkInfo;
  mtu: number;
  log?: Logger;
}

/** Makes sure the veth pair exists, sits on the bridge, is up and has the MTU. */
export function ensureVeth(x: VethContext): { name: string; created: boolean } {
  const name = hostVethName(x.c.id);
  let host = findLink(x.nl, name);
  const ethwe = findLink(x.cnl, CONTAINER_IFNAME);
  if (ethwe && !host) {
    throw new Error(
      `Cannot attach container "${x.c.id}": it has an interface "${CONTAINER_IFNAME}" that ` +
        `is not weave's veth "${name}" (attached under another name? detach that first)`,
    );
  }
  if (host && (!ethwe || host.kind !== "veth")) {
    x.log?.warn(`Replacing stale link "${name}" of container "${x.c.id}"`);
    deleteQuietly(x.nl, host.index);
    host = undefined;
  }
  if (!host) {
    createVeth(x, name);
    return { name, created: true };
  }
  if (host.mtu !== x.mtu) setMtu(x.nl, host.index, x.mtu);
  if (ethwe && ethwe.mtu !== x.mtu) setMtu(x.cnl, ethwe.index, x.mtu);
  if (host.master !== x.bridge.index) setMaster(x.nl, host.index, x.bridge.index);
  if (!host.up) setLinkUp(x.nl, host.index);
  return { name, created: false };
}

function createVeth(x: VethContext, name: string): void {
  const target = x.ns.open(x.c.path);
  try {
    addVeth(x.nl, name, { peerName: CONTAINER_IFNAME, mtu: x.mtu, peerNetnsFd: target.fd });
  } finally {
    target.close();
  }
  try {
    setMaster(x.nl, name, x.bridge.index);
    setLinkUp(x.nl, name);
  } catch (e) {
    deleteQuietly(x.nl, name);
    throw e;
  }
}

/** lo and ethwe up, missing addresses added, the multicast route when asked for. */
export function configureContainer(
  cnl: Netlink,
  cidrs: readonly string[],
  multicast: boolean,
): void {
  const lo = findLink(cnl, "lo");
  if (lo && !lo.up) setLinkUp(cnl, lo.index);
  const ethwe = getLink(cnl, CONTAINER_IFNAME);
  if (!ethwe.up) setLinkUp(cnl, ethwe.index);
  const present = new Set(listAddrs(cnl, ethwe.index).map((a) => a.cidr));
  for (const cidr of cidrs) {
    if (!present.has(cidr)) ignoreExists(() => addAddr(cnl, ethwe.index, cidr));
  }
  if (!multicast) return;
  const routes = listRoutes(cnl, { dev: ethwe.index });
  if (!routes.some((r) => r.dst === MULTICAST_ROUTE)) {
    ignoreExists(() => addRoute(cnl, { dst: MULTICAST_ROUTE, dev: ethwe.index }));
  }
}
