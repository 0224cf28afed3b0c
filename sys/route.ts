/**
 * IPv4 route operations over a {@link Netlink} socket (main table unless told otherwise).
 *
 * Adding a route that exists fails with {@link ExistsError} (unless `replace`); deleting a
 * missing one fails with {@link NotFoundError} (ESRCH).
 *
 * @module
 */

import { formatIPv4, parseCidr } from "../lib/cidr.ts";
import { linkIndex, type LinkRef } from "./link.ts";
import type { Netlink } from "./netlink/socket.ts";
import {
  AF_INET,
  dumpMessage,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  parseRoute,
  type RouteInfo,
  routeMessage,
  type RouteSpec,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RTM_DELROUTE,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  RTN_UNICAST,
  RTPROT_BOOT,
} from "./netlink/codec.ts";

export type { RouteInfo };

const SCOPES = { universe: RT_SCOPE_UNIVERSE, link: RT_SCOPE_LINK, host: RT_SCOPE_HOST } as const;

/** An IPv4 unicast route. */
export interface Route {
  /** Destination `a.b.c.d/n` (host bits are cleared) or `"default"`. */
  dst: string;
  /** Output device. */
  dev?: LinkRef;
  /** Next hop. */
  gateway?: string;
  /** Default: `"link"` for a device route without gateway, else `"universe"`. */
  scope?: keyof typeof SCOPES | number;
  /** Preferred source address. */
  src?: string;
  /** Default: main (254). */
  table?: number;
  /** Default: RTPROT_BOOT (3), as `ip route add`. */
  protocol?: number;
  /** Route priority (metric). */
  metric?: number;
}

function scopeOf(route: Route, fallback: number): number {
  if (route.scope === undefined) return fallback;
  return typeof route.scope === "number" ? route.scope : SCOPES[route.scope];
}

function toSpec(nl: Netlink, route: Route, deleting: boolean): RouteSpec {
  const net = route.dst === "default" ? { network: 0, prefix: 0 } : parseCidr(route.dst);
  const natural = route.gateway === undefined && route.dev !== undefined
    ? RT_SCOPE_LINK
    : RT_SCOPE_UNIVERSE;
  return {
    dst: formatIPv4(net.network),
    dstLen: net.prefix,
    oif: route.dev === undefined ? undefined : linkIndex(nl, route.dev),
    gateway: route.gateway,
    src: route.src,
    priority: route.metric,
    table: route.table ?? RT_TABLE_MAIN,
    protocol: route.protocol ?? (deleting ? 0 : RTPROT_BOOT),
    scope: scopeOf(route, deleting ? RT_SCOPE_NOWHERE : natural),
    type: RTN_UNICAST,
  };
}

function describe(route: Route): string {
  const via = route.gateway ? ` via ${route.gateway}` : "";
  const dev = route.dev === undefined ? "" : ` dev "${route.dev}"`;
  return `route ${route.dst}${via}${dev}`;
}

/**
 * Adds `route`; {@link ExistsError} when the same destination exists unless `replace` is set.
 *
 * @example
 * ```ts ignore
 * addRoute(nl, { dst: "224.0.0.0/4", dev: "ethwe" }); // ip route add 224.0.0.0/4 dev ethwe
 * ```
 */
export function addRoute(nl: Netlink, route: Route, options: { replace?: boolean } = {}): void {
  const flags = NLM_F_CREATE | (options.replace ? NLM_F_REPLACE : NLM_F_EXCL);
  nl.request(routeMessage(RTM_NEWROUTE, flags, toSpec(nl, route, false)), `add ${describe(route)}`);
}

/** Deletes the route matching `route`; {@link NotFoundError} when there is none. */
export function delRoute(nl: Netlink, route: Route): void {
  nl.request(routeMessage(RTM_DELROUTE, 0, toSpec(nl, route, true)), `delete ${describe(route)}`);
}

/** Lists IPv4 routes of `table` (default main; 0 for all), of one output device when `dev` is given. */
export function listRoutes(
  nl: Netlink,
  options: { dev?: LinkRef; table?: number } = {},
): RouteInfo[] {
  const oif = options.dev === undefined ? undefined : linkIndex(nl, options.dev);
  const table = options.table ?? RT_TABLE_MAIN;
  return nl.request(dumpMessage(RTM_GETROUTE, AF_INET), "list routes")
    .map((r) => parseRoute(r.payload))
    .filter((r) => (table === 0 || r.table === table) && (oif === undefined || r.oif === oif));
}
