/**
 * How attached containers reach weaveDNS, on the host side.
 *
 * Containers cannot use the host's 127.0.0.1, so weaveDNS also listens on an
 * address of the `weave` bridge. Weave used docker0's address (every Docker
 * container has a route to it through its eth0); an `ip netns` container has
 * only `ethwe`, and an exposed bridge address is no good either: `weave
 * expose` is optional, `weave hide` takes it away (a socket bound to it would
 * stop answering) and containers in other subnets have no route to it. So we
 * use one fixed link-local address, {@link CONTAINER_DNS_ADDRESS}, set as a
 * /32 on the bridge by the router, and give every attached container:
 *
 * - a route `169.254.53.1/32 dev ethwe` and a permanent neighbour entry
 *   pointing it at *this* host's bridge MAC (datapath/attach.ts). Every
 *   host's bridge has the same address on the one weave L2 network, so an
 *   ARP request would be answered by remote bridges too; with the static
 *   entry nothing is ever asked;
 * - on the host, a route `<container ip>/32 dev weave` (marked with protocol
 *   {@link DNS_ROUTE_PROTOCOL}) so the answer finds its way back without
 *   `weave expose` (a reply from 169.254.53.1 would otherwise follow the
 *   default route out of the underlay); it is removed on detach and when the
 *   container's namespace goes.
 *
 * Link-local addresses are not forwarded by routers, and the router answers
 * on this address only to the addresses of containers it attached (see
 * {@link ContainerDns}), so it never becomes a resolver for the underlay.
 *
 * @module
 */
import {
  addAddr,
  addRoute,
  delRoute,
  ExistsError,
  listAddrs,
  listRoutes,
  type Netlink,
  NotFoundError,
} from "../sys/mod.ts";

/** The address weaveDNS listens on for containers (on the bridge, as a /32). */
export const CONTAINER_DNS_ADDRESS = "169.254.53.1";
/** The `proto` of our host routes to containers (`ip route` shows `proto 87`, 'W'). */
export const DNS_ROUTE_PROTOCOL = 87;

/**
 * Makes sure `ip`/32 is an address of `bridge` (idempotent).
 *
 * @example
 * ```ts ignore
 * ensureDnsAddress(nl, "weave"); // ip addr add 169.254.53.1/32 dev weave
 * ```
 */
export function ensureDnsAddress(nl: Netlink, bridge: string, ip = CONTAINER_DNS_ADDRESS): void {
  const cidr = `${ip}/32`;
  if (listAddrs(nl, bridge).some((a) => a.cidr === cidr)) return;
  try {
    addAddr(nl, bridge, cidr);
  } catch (e) {
    if (!(e instanceof ExistsError)) throw e;
  }
}

/** Adds our host routes `<ip>/32 dev <bridge>` for `ips` (those present are left alone). */
export function addHostRoutes(nl: Netlink, bridge: string, ips: Iterable<string>): void {
  for (const ip of ips) {
    try {
      addRoute(nl, { dst: `${ip}/32`, dev: bridge, scope: "link", protocol: DNS_ROUTE_PROTOCOL });
    } catch (e) {
      if (!(e instanceof ExistsError)) throw e;
    }
  }
}

/** Removes our host routes for `ips`; missing ones (or someone else's) are left alone. */
export function removeHostRoutes(nl: Netlink, bridge: string, ips: Iterable<string>): void {
  for (const ip of ips) {
    try {
      delRoute(nl, { dst: `${ip}/32`, dev: bridge, protocol: DNS_ROUTE_PROTOCOL });
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
  }
}

/** The addresses our host routes on `bridge` lead to. */
export function listHostRoutes(nl: Netlink, bridge: string): string[] {
  return listRoutes(nl, { dev: bridge })
    .filter((r) => r.protocol === DNS_ROUTE_PROTOCOL && r.dst.endsWith("/32"))
    .map((r) => r.dst.slice(0, -3));
}
