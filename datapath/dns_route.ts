/**
 * The container's way to weaveDNS (`dnsRoute` of attach; the address is dns/reach.ts's): a
 * route `<dnsRoute>/32 dev ethwe` and a permanent neighbour entry mapping that address to this
 * host's bridge MAC. Every host's bridge carries the same link-local address on the one weave
 * L2 network, so the container must never ask ARP who has it.
 *
 * @module
 */
import { formatIPv4, parseIPv4 } from "../lib/cidr.ts";
import {
  addRoute,
  AF_INET,
  getLink,
  listRoutes,
  neighMessage,
  type Netlink,
  NLM_F_CREATE,
  NLM_F_REPLACE,
  NUD_PERMANENT,
  RTM_NEWNEIGH,
} from "../sys/mod.ts";
import { ignoreExists } from "./_netlink_quiet.ts";
import { CONTAINER_IFNAME } from "./veth.ts";

/** The route to weaveDNS via ethwe and its permanent neighbour entry (the bridge's MAC). */
export function ensureDnsRoute(cnl: Netlink, ip: string, bridgeMac: string): void {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(bridgeMac)) {
    throw new Error(`Cannot route to weaveDNS at ${ip}: the bridge has no MAC address`);
  }
  const ethwe = getLink(cnl, CONTAINER_IFNAME);
  const dst = `${formatIPv4(parseIPv4(ip))}/32`;
  if (!listRoutes(cnl, { dev: ethwe.index }).some((r) => r.dst === dst)) {
    ignoreExists(() => addRoute(cnl, { dst, dev: ethwe.index }));
  }
  const spec = {
    family: AF_INET,
    index: ethwe.index,
    state: NUD_PERMANENT,
    flags: 0,
    lladdr: bridgeMac,
    dst: ip,
  };
  cnl.request(
    neighMessage(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, spec),
    `add neighbour ${ip} lladdr ${bridgeMac} dev ${CONTAINER_IFNAME}`,
  );
}
