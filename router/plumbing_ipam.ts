/**
 * The IPAM seam of the plumbing routes (`datapath/http.ts` {@link PlumbingIpam}) over the
 * router's {@link Allocator}.
 *
 * Addresses given by hand (`weave attach ip:10.32.0.5/12 c1`, `weave expose 10.32.0.9/12`) are
 * claimed for the container, as Weave's script does with `PUT /ip/<id>/<cidr>`, so IPAM never
 * allocates them to anyone else. One difference: inside the range a claim first waits for the
 * ring to exist (as an allocation does), where Weave fails at once with "the allocator is not
 * initialized yet"; a host attaching right after launch thus never races the ring's gossip.
 * Addresses outside the range are recorded without waiting, as Weave does. `weave:expose` is not
 * a container (Weave claims its addresses without `check-alive`).
 *
 * @module
 */
import { EXPOSE_ID } from "../datapath/attach.ts";
import type { PlumbingIpam } from "../datapath/http.ts";
import { formatIPv4, ipInSubnets, parseCidr, parseIPv4 } from "../lib/cidr.ts";
import type { Allocator } from "../ipam/allocator.ts";

/** What the adapter uses of the allocator. */
export type PlumbingAllocator = Pick<
  Allocator,
  "universe" | "allocate" | "claim" | "prime" | "free" | "delete" | "ownedAddresses"
>;

/**
 * Adapts the allocator to what attach/detach/expose/hide need.
 *
 * @example
 * ```ts ignore
 * const routes = plumbingRoutes({ netlink, log, ipam: plumbingIpam(allocator) });
 * ```
 */
export function plumbingIpam(ipam: PlumbingAllocator): PlumbingIpam {
  const wait = (ident: string, signal: AbortSignal) => ({
    signal,
    isContainer: ident !== EXPOSE_ID,
  });
  return {
    async allocate(ident, subnet, signal) {
      const got = await ipam.allocate(
        ident,
        subnet ? parseCidr(subnet) : undefined,
        wait(ident, signal),
      );
      return `${formatIPv4(got.addr)}/${got.prefix}`;
    },
    async claim(ident, cidr, signal) {
      const { ip, prefix } = splitCidr(cidr);
      if (ipInSubnets(ip, [ipam.universe])) await ipam.prime({ signal });
      await ipam.claim(ident, { addr: parseIPv4(ip), prefix }, wait(ident, signal));
    },
    async release(ident, cidr) {
      const held = ipam.ownedAddresses().find((o) => o.ident === ident);
      if (!held) return;
      if (cidr === undefined) return await ipam.delete(ident);
      const addr = parseIPv4(splitCidr(cidr).ip);
      if (held.cidrs.some((c) => c.addr === addr)) await ipam.free(ident, addr);
    },
  };
}

function splitCidr(cidr: string): { ip: string; prefix: number } {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m || Number(m[2]) > 32) {
    throw new SyntaxError(`Cannot use address "${cidr}": want <ip>/<prefix length>`);
  }
  return { ip: m[1], prefix: Number(m[2]) };
}
