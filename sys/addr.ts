/**
 * IPv4 address operations on links over a {@link Netlink} socket.
 *
 * Addresses are given as `a.b.c.d/n` with the host part kept (`10.32.0.1/12`). Adding an address
 * that is already there fails with {@link ExistsError}; deleting one that is not fails with
 * {@link NotFoundError} (EADDRNOTAVAIL).
 *
 * @module
 */

import { parseIPv4 } from "../lib/cidr.ts";
import { linkIndex, type LinkRef } from "./link.ts";
import type { Netlink } from "./netlink/socket.ts";
import {
  type AddrInfo,
  addrMessage,
  type AddrSpec,
  AF_INET,
  dumpMessage,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  parseAddr,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
} from "./netlink/codec.ts";

export type { AddrInfo };

/** An IPv4 address with its prefix length, host bits kept. */
export interface IpNet {
  address: string;
  prefixLen: number;
}

/**
 * Parses `a.b.c.d/n` (host bits kept); throws SyntaxError otherwise.
 *
 * @example
 * ```ts
 * import { parseIpNet } from "./addr.ts";
 * parseIpNet("10.32.0.1/12"); // { address: "10.32.0.1", prefixLen: 12 }
 * ```
 */
export function parseIpNet(text: string): IpNet {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(text.trim());
  if (!m || Number(m[2]) > 32) {
    throw new SyntaxError(`Cannot parse address "${text}": want a.b.c.d/n`);
  }
  parseIPv4(m[1]);
  return { address: m[1], prefixLen: Number(m[2]) };
}

/** The broadcast address of `net` (as `ip addr add … brd +`), or undefined for /31 and /32. */
export function broadcastOf(net: IpNet): string | undefined {
  if (net.prefixLen >= 31) return undefined;
  const host = net.prefixLen === 0 ? 0xffffffff : (1 << (32 - net.prefixLen)) - 1;
  const n = (parseIPv4(net.address) | host) >>> 0;
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}

function spec(nl: Netlink, link: LinkRef, cidr: string): AddrSpec {
  const net = parseIpNet(cidr);
  return { index: linkIndex(nl, link), ...net, broadcast: broadcastOf(net) };
}

/**
 * Adds `cidr` (e.g. `10.32.0.1/12`, broadcast derived) to `link`; {@link ExistsError} when
 * present unless `replace` is set.
 */
export function addAddr(
  nl: Netlink,
  link: LinkRef,
  cidr: string,
  options: { replace?: boolean } = {},
): void {
  const flags = NLM_F_CREATE | (options.replace ? NLM_F_REPLACE : NLM_F_EXCL);
  nl.request(
    addrMessage(RTM_NEWADDR, flags, spec(nl, link, cidr)),
    `add address ${cidr} to "${link}"`,
  );
}

/** Removes `cidr` from `link`; {@link NotFoundError} when it is not there. */
export function delAddr(nl: Netlink, link: LinkRef, cidr: string): void {
  nl.request(
    addrMessage(RTM_DELADDR, 0, spec(nl, link, cidr)),
    `delete address ${cidr} from "${link}"`,
  );
}

/** Lists IPv4 addresses, of one link when `link` is given. */
export function listAddrs(nl: Netlink, link?: LinkRef): AddrInfo[] {
  const index = link === undefined ? undefined : linkIndex(nl, link);
  return nl.request(dumpMessage(RTM_GETADDR, AF_INET), "list addresses")
    .map((r) => parseAddr(r.payload))
    .filter((a) => index === undefined || a.index === index);
}
