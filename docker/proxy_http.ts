/**
 * The router's `GET /proxyaddrs` (spec §7): the proxy's listen addresses,
 * space-separated (`unix:///var/run/weave/weave.sock`), which `weave env` and
 * `weave config` print. Contributed to the control API by whoever runs the
 * proxy (the router, once `weave launch` starts it).
 *
 * @module
 */
import type { ApiRoute } from "../api/ops.ts";

/**
 * The route, answering the current addresses (none: empty body, "proxy not running").
 *
 * @example
 * ```ts ignore
 * ops.routes.push(proxyAddrsRoute(() => ["unix:///var/run/weave/weave.sock"]));
 * ```
 */
export function proxyAddrsRoute(addresses: () => readonly string[]): ApiRoute {
  return {
    method: "GET",
    pattern: /^\/proxyaddrs$/,
    scope: "control",
    handle: () =>
      new Response(addresses().join(" "), {
        headers: { "content-type": "text/plain; charset=utf-8" },
      }),
  };
}
