/**
 * Better than Weave: each attach announces the container's addresses with gratuitous ARP
 * (`arp.ts`), so an address re-attached on another host is reachable again at once.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import { getLink, type Netlink } from "../sys/mod.ts";
import { gratuitousArp } from "./arp.ts";
import type { Container, Namespaces } from "./container.ts";
import { CONTAINER_IFNAME } from "./veth.ts";

/**
 * Announces the container's addresses with gratuitous ARP, so that peers holding a neighbour
 * entry for an address that was elsewhere before (a container moved to another host) use the
 * new MAC at once. Weave 2.8.1 does not, and such peers wait for the old entry to go stale.
 * Best effort: a failure is logged, never fails the attach.
 */
export function announce(
  ns: Namespaces,
  c: Container,
  cnl: Netlink,
  cidrs: readonly string[],
  log?: Logger,
): void {
  if (!ns.send || cidrs.length === 0) return;
  try {
    const ethwe = getLink(cnl, CONTAINER_IFNAME);
    const frames = cidrs.map((cidr) => gratuitousArp(ethwe.address ?? "", cidr.split("/")[0]));
    ns.send(c.path, ethwe.index, frames);
  } catch (e) {
    log?.warn(`Cannot announce addresses of "${c.id}": ${e instanceof Error ? e.message : e}`);
  }
}
