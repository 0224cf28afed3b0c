/**
 * Link request builders: RTM_NEWLINK/SETLINK/DELLINK/GETLINK messages from a {@link LinkSpec},
 * and the nested data of veth, vxlan and bridge-port links.
 *
 * @module
 */

import {
  type Attr,
  attrsLength,
  be16Attr,
  ipv4Attr,
  nestAttr,
  parseMac,
  rtAttr,
  stringAttr,
  u32Attr,
  u8Attr,
} from "./attrs.ts";
import {
  AF_UNSPEC,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_BRPORT_BCAST_FLOOD,
  IFLA_BRPORT_ISOLATED,
  IFLA_BRPORT_LEARNING,
  IFLA_BRPORT_MCAST_FLOOD,
  IFLA_BRPORT_MODE,
  IFLA_BRPORT_UNICAST_FLOOD,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_PROTINFO,
  IFLA_VXLAN_ID,
  IFLA_VXLAN_LEARNING,
  IFLA_VXLAN_LOCAL,
  IFLA_VXLAN_PORT,
  NLM_F_ACK,
  NLM_F_REQUEST,
  VETH_INFO_PEER,
} from "./constants.ts";
import { type IfInfoMsg, ifInfoMsg } from "./family_headers.ts";
import { encodeMessage } from "./message.ts";

/** A link to create or change; absent fields are not sent. */
export interface LinkSpec {
  /** AF_UNSPEC (default) for generic link changes, AF_BRIDGE for bridge port settings. */
  family?: number;
  index?: number;
  name?: string;
  mtu?: number;
  /** Master (bridge) index; 0 detaches. */
  master?: number;
  /** Move the link to the network namespace open at this fd. */
  netnsFd?: number;
  /** Hardware address `aa:bb:cc:dd:ee:ff`. */
  address?: string;
  /** Set (`true`) or clear (`false`) IFF_UP. */
  up?: boolean;
  /** IFLA_INFO_KIND, e.g. "bridge", "veth", "vxlan". */
  kind?: string;
  /** IFLA_INFO_DATA children for `kind`. */
  data?: readonly Attr[];
  /** IFLA_PROTINFO children (bridge port attributes), sent with NLA_F_NESTED. */
  protinfo?: readonly Attr[];
}

/** The attributes a {@link LinkSpec} sends, in kernel-friendly order. */
export function linkAttrs(spec: LinkSpec): Attr[] {
  const attrs: Attr[] = [];
  if (spec.name !== undefined) attrs.push(stringAttr(IFLA_IFNAME, spec.name));
  if (spec.mtu !== undefined) attrs.push(u32Attr(IFLA_MTU, spec.mtu));
  if (spec.address !== undefined) attrs.push({ type: IFLA_ADDRESS, value: parseMac(spec.address) });
  if (spec.master !== undefined) attrs.push(u32Attr(IFLA_MASTER, spec.master));
  if (spec.netnsFd !== undefined) attrs.push(u32Attr(IFLA_NET_NS_FD, spec.netnsFd));
  if (spec.kind !== undefined) {
    const info = [stringAttr(IFLA_INFO_KIND, spec.kind)];
    if (spec.data) info.push(nestAttr(IFLA_INFO_DATA, spec.data));
    attrs.push(nestAttr(IFLA_LINKINFO, info));
  }
  if (spec.protinfo) attrs.push(nestAttr(IFLA_PROTINFO, spec.protinfo, true));
  return attrs;
}

function linkHeader(spec: LinkSpec): IfInfoMsg {
  const up = spec.up;
  return {
    family: spec.family ?? AF_UNSPEC,
    type: 0,
    index: spec.index ?? 0,
    flags: up ? IFF_UP : 0,
    change: up === undefined ? 0 : IFF_UP,
  };
}

/** An ifinfomsg followed by attributes, as carried in VETH_INFO_PEER. */
export function linkBody(spec: LinkSpec): Uint8Array {
  const attrs = linkAttrs(spec);
  const bytes = new Uint8Array(ifInfoMsg.size + attrsLength(attrs));
  let at = ifInfoMsg.encode(linkHeader(spec), bytes, 0);
  for (const a of attrs) at = rtAttr.encode(a, bytes, at);
  return bytes;
}

/**
 * A link request (RTM_NEWLINK/SETLINK/DELLINK/GETLINK) with NLM_F_REQUEST|NLM_F_ACK plus `flags`;
 * seq 0 (the socket assigns it).
 *
 * @example
 * ```ts
 * import { linkMessage, NLM_F_CREATE, NLM_F_EXCL, RTM_NEWLINK } from "./codec.ts";
 * const bytes = linkMessage(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, { name: "weave", kind: "bridge" });
 * bytes.length; // 60
 * ```
 */
export function linkMessage(type: number, flags: number, spec: LinkSpec): Uint8Array {
  return encodeMessage(ifInfoMsg, {
    type,
    flags: NLM_F_REQUEST | NLM_F_ACK | flags,
    seq: 0,
    pid: 0,
    header: linkHeader(spec),
    attrs: linkAttrs(spec),
  });
}

/** IFLA_INFO_DATA children of a veth whose peer is `peer`. */
export function vethData(peer: LinkSpec): Attr[] {
  return [{ type: VETH_INFO_PEER, value: linkBody(peer) }];
}

/** VXLAN settings for IFLA_INFO_DATA. */
export interface VxlanSpec {
  vni: number;
  /** Local (source) IPv4 address. */
  local?: string;
  /** UDP destination port. */
  port?: number;
  learning?: boolean;
  /** Hairpin mode (IFLA_BRPORT_MODE): frames may go back out of the port they came in on. */
  hairpin?: boolean;
}

/** IFLA_INFO_DATA children of a vxlan device. */
export function vxlanData(spec: VxlanSpec): Attr[] {
  const attrs = [u32Attr(IFLA_VXLAN_ID, spec.vni)];
  if (spec.local !== undefined) attrs.push(ipv4Attr(IFLA_VXLAN_LOCAL, spec.local));
  if (spec.learning !== undefined) attrs.push(u8Attr(IFLA_VXLAN_LEARNING, spec.learning ? 1 : 0));
  if (spec.port !== undefined) attrs.push(be16Attr(IFLA_VXLAN_PORT, spec.port));
  return attrs;
}

/** Bridge port settings; absent fields are left unchanged. */
export interface BridgePortSpec {
  isolated?: boolean;
  /** Unknown-unicast flooding. */
  flood?: boolean;
  mcastFlood?: boolean;
  bcastFlood?: boolean;
  learning?: boolean;
  /** Hairpin mode (IFLA_BRPORT_MODE): frames may go back out of the port they came in on. */
  hairpin?: boolean;
}

/** Bridge port attributes (IFLA_BRPORT_*) for IFLA_PROTINFO. */
export function bridgePortAttrs(spec: BridgePortSpec): Attr[] {
  const out: Attr[] = [];
  const put = (type: number, on: boolean | undefined) => {
    if (on !== undefined) out.push(u8Attr(type, on ? 1 : 0));
  };
  put(IFLA_BRPORT_LEARNING, spec.learning);
  put(IFLA_BRPORT_UNICAST_FLOOD, spec.flood);
  put(IFLA_BRPORT_MCAST_FLOOD, spec.mcastFlood);
  put(IFLA_BRPORT_BCAST_FLOOD, spec.bcastFlood);
  put(IFLA_BRPORT_ISOLATED, spec.isolated);
  put(IFLA_BRPORT_MODE, spec.hairpin);
  return out;
}
