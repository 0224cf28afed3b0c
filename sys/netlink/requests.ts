/**
 * Request builders for addresses (RTM_NEWADDR/DELADDR), routes (RTM_NEWROUTE/DELROUTE),
 * neighbours and FDB entries (RTM_NEWNEIGH/DELNEIGH), and table dumps. Link requests are in
 * `requests_link.ts`.
 *
 * @module
 */

import { type Attr, be16Attr, ipv4Attr, parseMac, u32Attr } from "./attrs.ts";
import {
  AF_INET,
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_LOCAL,
  NDA_DST,
  NDA_LLADDR,
  NDA_MASTER,
  NDA_PORT,
  NDA_VNI,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_HDRLEN,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_UNSPEC,
  RTA_DST,
  RTA_GATEWAY,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETNEIGH,
  RTM_GETROUTE,
} from "./constants.ts";
import { ifAddrMsg, ifInfoMsg, ndMsg, rtMsg } from "./family_headers.ts";
import { nlMsgHdr } from "./header.ts";
import { encodeMessage } from "./message.ts";

/** An IPv4 address on a link. */
export interface AddrSpec {
  index: number;
  address: string;
  prefixLen: number;
  broadcast?: string;
  scope?: number;
}

/** An address request (RTM_NEWADDR/DELADDR) with NLM_F_REQUEST|NLM_F_ACK plus `flags`. */
export function addrMessage(type: number, flags: number, spec: AddrSpec): Uint8Array {
  const attrs = [ipv4Attr(IFA_LOCAL, spec.address), ipv4Attr(IFA_ADDRESS, spec.address)];
  if (spec.broadcast !== undefined) attrs.push(ipv4Attr(IFA_BROADCAST, spec.broadcast));
  return encodeMessage(ifAddrMsg, {
    type,
    flags: NLM_F_REQUEST | NLM_F_ACK | flags,
    seq: 0,
    pid: 0,
    header: {
      family: AF_INET,
      prefixLen: spec.prefixLen,
      flags: 0,
      scope: spec.scope ?? RT_SCOPE_UNIVERSE,
      index: spec.index,
    },
    attrs,
  });
}

/** An IPv4 route. */
export interface RouteSpec {
  /** Destination network address (omitted or with `dstLen` 0 for the default route). */
  dst?: string;
  dstLen: number;
  oif?: number;
  gateway?: string;
  src?: string;
  priority?: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
}

/** A route request (RTM_NEWROUTE/DELROUTE) with NLM_F_REQUEST|NLM_F_ACK plus `flags`. */
export function routeMessage(type: number, flags: number, spec: RouteSpec): Uint8Array {
  const attrs: Attr[] = [];
  if (spec.table > 255) attrs.push(u32Attr(RTA_TABLE, spec.table));
  if (spec.dst !== undefined && spec.dstLen > 0) attrs.push(ipv4Attr(RTA_DST, spec.dst));
  if (spec.src !== undefined) attrs.push(ipv4Attr(RTA_PREFSRC, spec.src));
  if (spec.gateway !== undefined) attrs.push(ipv4Attr(RTA_GATEWAY, spec.gateway));
  if (spec.oif !== undefined) attrs.push(u32Attr(RTA_OIF, spec.oif));
  if (spec.priority !== undefined) attrs.push(u32Attr(RTA_PRIORITY, spec.priority));
  return encodeMessage(rtMsg, {
    type,
    flags: NLM_F_REQUEST | NLM_F_ACK | flags,
    seq: 0,
    pid: 0,
    header: {
      family: AF_INET,
      dstLen: spec.dstLen,
      srcLen: 0,
      tos: 0,
      table: spec.table > 255 ? RT_TABLE_UNSPEC : spec.table,
      protocol: spec.protocol,
      scope: spec.scope,
      type: spec.type,
      flags: 0,
    },
    attrs,
  });
}

/** A neighbour or bridge FDB entry. */
export interface NeighSpec {
  /** AF_BRIDGE for FDB entries, AF_INET for ARP entries. */
  family: number;
  index: number;
  /** NUD_* state. */
  state: number;
  /** NTF_* flags (NTF_SELF for the device's own table, NTF_MASTER for the bridge's). */
  flags: number;
  lladdr?: string;
  /** Remote IPv4 address (VXLAN destination, or the ARP entry's address). */
  dst?: string;
  vni?: number;
  /** Remote UDP port. */
  port?: number;
  master?: number;
}

/** A neighbour request (RTM_NEWNEIGH/DELNEIGH) with NLM_F_REQUEST|NLM_F_ACK plus `flags`. */
export function neighMessage(type: number, flags: number, spec: NeighSpec): Uint8Array {
  const attrs: Attr[] = [];
  if (spec.lladdr !== undefined) attrs.push({ type: NDA_LLADDR, value: parseMac(spec.lladdr) });
  if (spec.dst !== undefined) attrs.push(ipv4Attr(NDA_DST, spec.dst));
  if (spec.port !== undefined) attrs.push(be16Attr(NDA_PORT, spec.port));
  if (spec.vni !== undefined) attrs.push(u32Attr(NDA_VNI, spec.vni));
  if (spec.master !== undefined) attrs.push(u32Attr(NDA_MASTER, spec.master));
  return encodeMessage(ndMsg, {
    type,
    flags: NLM_F_REQUEST | NLM_F_ACK | flags,
    seq: 0,
    pid: 0,
    header: {
      family: spec.family,
      index: spec.index,
      state: spec.state,
      flags: spec.flags,
      type: 0,
    },
    attrs,
  });
}

const DUMP_HEADERS: Record<number, Uint8Array> = {
  [RTM_GETLINK]: new Uint8Array(ifInfoMsg.size),
  [RTM_GETADDR]: new Uint8Array(ifAddrMsg.size),
  [RTM_GETROUTE]: new Uint8Array(rtMsg.size),
  [RTM_GETNEIGH]: new Uint8Array(ndMsg.size),
};

/** A dump request (NLM_F_REQUEST|NLM_F_DUMP) for GETLINK/GETADDR/GETROUTE/GETNEIGH of `family`. */
export function dumpMessage(type: number, family: number): Uint8Array {
  const header = DUMP_HEADERS[type];
  if (!header) throw new TypeError(`Cannot build dump request: message type ${type} is not a GET`);
  const bytes = new Uint8Array(NLMSG_HDRLEN + header.length);
  nlMsgHdr.encode(
    { length: bytes.length, type, flags: NLM_F_REQUEST | NLM_F_DUMP, seq: 0, pid: 0 },
    bytes,
    0,
  );
  bytes[NLMSG_HDRLEN] = family;
  return bytes;
}
