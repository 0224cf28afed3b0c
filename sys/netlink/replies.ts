/**
 * Reply parsers for addresses, routes, neighbours, errors (NLMSG_ERROR, with extended-ack
 * text) and the end of a dump (NLMSG_DONE). The link parser is in `replies_link.ts`.
 *
 * @module
 */

import { dv } from "./_bytes.ts";
import { attrTable, formatIp, formatMac, readBe16, readString, readU32 } from "./attrs.ts";
import {
  AF_INET6,
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_LABEL,
  IFA_LOCAL,
  NDA_DST,
  NDA_LLADDR,
  NDA_MASTER,
  NDA_PORT,
  NDA_VNI,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MSG,
  RTA_DST,
  RTA_GATEWAY,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
} from "./constants.ts";
import { ifAddrMsg, ndMsg, nlMsgErr, rtMsg } from "./family_headers.ts";
import { align4, type NlMsgHdr } from "./header.ts";

/** An address on a link (RTM_NEWADDR reply). */
export interface AddrInfo {
  family: number;
  index: number;
  prefixLen: number;
  flags: number;
  scope: number;
  /** IFA_LOCAL, or IFA_ADDRESS when there is no local address. */
  address: string;
  /** `address/prefixLen`. */
  cidr: string;
  broadcast?: string;
  label?: string;
}

/** Parses an RTM_NEWADDR payload (ifaddrmsg + attributes). */
export function parseAddr(payload: Uint8Array): AddrInfo {
  const { value: h } = ifAddrMsg.decode(payload, 0);
  const t = attrTable(payload, ifAddrMsg.size);
  const raw = t.get(IFA_LOCAL) ?? t.get(IFA_ADDRESS);
  if (!raw) throw new RangeError("Cannot parse address message: no IFA_LOCAL or IFA_ADDRESS");
  const address = formatIp(raw);
  const info: AddrInfo = {
    family: h.family,
    index: h.index,
    prefixLen: h.prefixLen,
    flags: h.flags,
    scope: h.scope,
    address,
    cidr: `${address}/${h.prefixLen}`,
  };
  const brd = t.get(IFA_BROADCAST);
  if (brd) info.broadcast = formatIp(brd);
  if (t.has(IFA_LABEL)) info.label = readString(t.get(IFA_LABEL)!);
  return info;
}

/** A route (RTM_NEWROUTE reply). */
export interface RouteInfo {
  family: number;
  /** Destination `a.b.c.d/n` (`0.0.0.0/0` for the default route). */
  dst: string;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  oif?: number;
  gateway?: string;
  src?: string;
  priority?: number;
}

/** Parses an RTM_NEWROUTE payload (rtmsg + attributes). */
export function parseRoute(payload: Uint8Array): RouteInfo {
  const { value: h } = rtMsg.decode(payload, 0);
  const t = attrTable(payload, rtMsg.size);
  const dst = t.get(RTA_DST);
  const zero = h.family === AF_INET6 ? "::" : "0.0.0.0";
  const route: RouteInfo = {
    family: h.family,
    dst: `${dst ? formatIp(dst) : zero}/${h.dstLen}`,
    table: t.has(RTA_TABLE) ? readU32(t.get(RTA_TABLE)!, "RTA_TABLE") : h.table,
    protocol: h.protocol,
    scope: h.scope,
    type: h.type,
  };
  if (t.has(RTA_OIF)) route.oif = readU32(t.get(RTA_OIF)!, "RTA_OIF");
  if (t.has(RTA_GATEWAY)) route.gateway = formatIp(t.get(RTA_GATEWAY)!);
  if (t.has(RTA_PREFSRC)) route.src = formatIp(t.get(RTA_PREFSRC)!);
  if (t.has(RTA_PRIORITY)) route.priority = readU32(t.get(RTA_PRIORITY)!, "RTA_PRIORITY");
  return route;
}

/** A neighbour or FDB entry (RTM_NEWNEIGH reply). */
export interface NeighInfo {
  family: number;
  index: number;
  state: number;
  flags: number;
  lladdr?: string;
  dst?: string;
  vni?: number;
  port?: number;
  master?: number;
}

/** Parses an RTM_NEWNEIGH payload (ndmsg + attributes). */
export function parseNeigh(payload: Uint8Array): NeighInfo {
  const { value: h } = ndMsg.decode(payload, 0);
  const t = attrTable(payload, ndMsg.size);
  const info: NeighInfo = { family: h.family, index: h.index, state: h.state, flags: h.flags };
  if (t.has(NDA_LLADDR)) info.lladdr = formatMac(t.get(NDA_LLADDR)!);
  const dst = t.get(NDA_DST);
  if (dst && (dst.length === 4 || dst.length === 16)) info.dst = formatIp(dst);
  if (t.has(NDA_VNI)) info.vni = readU32(t.get(NDA_VNI)!, "NDA_VNI");
  if (t.has(NDA_PORT)) info.port = readBe16(t.get(NDA_PORT)!, "NDA_PORT");
  if (t.has(NDA_MASTER)) info.master = readU32(t.get(NDA_MASTER)!, "NDA_MASTER");
  return info;
}

/** A decoded NLMSG_ERROR: errno 0 is an acknowledgement. */
export interface NetlinkErrorInfo {
  /** Positive errno, or 0 for an ACK. */
  errno: number;
  /** Header of the request this answers. */
  request: NlMsgHdr;
  /** Extended-ack text (NLMSGERR_ATTR_MSG), when the kernel sent one. */
  message?: string;
}

/**
 * Parses an NLMSG_ERROR payload; `flags` are the error message's nlmsghdr flags, which say
 * whether the echoed request is capped and whether extended-ack TLVs follow.
 */
export function parseError(payload: Uint8Array, flags: number): NetlinkErrorInfo {
  const { value } = nlMsgErr.decode(payload, 0);
  const info: NetlinkErrorInfo = {
    errno: value.error === 0 ? 0 : -value.error,
    request: value.request,
  };
  if (!(flags & NLM_F_ACK_TLVS)) return info;
  const echoed = flags & NLM_F_CAPPED ? NLMSG_HDRLEN : value.request.length;
  const start = align4(4 + echoed);
  if (start > payload.length) {
    throw new RangeError(
      `Cannot parse netlink error: TLVs at ${start} beyond ${payload.length} bytes`,
    );
  }
  const msg = attrTable(payload, start).get(NLMSGERR_ATTR_MSG);
  if (msg) info.message = readString(msg);
  return info;
}

/** The errno carried by an NLMSG_DONE payload (positive), or 0. */
export function parseDone(payload: Uint8Array): number {
  if (payload.length < 4) return 0;
  return Math.max(0, -dv(payload).getInt32(0, true));
}
