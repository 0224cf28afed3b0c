/**
 * The link reply parser: an RTM_NEWLINK payload read into a {@link LinkInfo}, including the
 * kind-specific vxlan data and bridge port settings.
 *
 * @module
 */

import { attrTable, formatIp, formatMac, readBe16, readString, readU32, readU8 } from "./attrs.ts";
import {
  AF_BRIDGE,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_BRPORT_BCAST_FLOOD,
  IFLA_BRPORT_ISOLATED,
  IFLA_BRPORT_LEARNING,
  IFLA_BRPORT_MCAST_FLOOD,
  IFLA_BRPORT_MODE,
  IFLA_BRPORT_STATE,
  IFLA_BRPORT_UNICAST_FLOOD,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_DATA,
  IFLA_INFO_SLAVE_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_OPERSTATE,
  IFLA_PROTINFO,
  IFLA_VXLAN_ID,
  IFLA_VXLAN_LEARNING,
  IFLA_VXLAN_LOCAL,
  IFLA_VXLAN_PORT,
} from "./constants.ts";
import { ifInfoMsg } from "./family_headers.ts";

/** Bridge port state as reported by the kernel. */
export interface BridgePortInfo {
  state?: number;
  learning?: boolean;
  flood?: boolean;
  mcastFlood?: boolean;
  bcastFlood?: boolean;
  isolated?: boolean;
  /** Hairpin mode (IFLA_BRPORT_MODE). */
  hairpin?: boolean;
}

/** VXLAN device settings as reported by the kernel. */
export interface VxlanInfo {
  vni?: number;
  local?: string;
  port?: number;
  learning?: boolean;
}

/** A network link (RTM_NEWLINK reply). */
export interface LinkInfo {
  index: number;
  name: string;
  family: number;
  /** ARPHRD_* type. */
  type: number;
  /** IFF_* flags. */
  flags: number;
  /** Whether IFF_UP is set. */
  up: boolean;
  mtu?: number;
  address?: string;
  master?: number;
  /** IFLA_LINK: for a veth, the ifindex of its peer (in the peer's namespace). */
  link?: number;
  /** IF_OPER_* (6 = up, 2 = down). */
  operState?: number;
  /** IFLA_INFO_KIND, e.g. "bridge", "veth", "vxlan". */
  kind?: string;
  /** IFLA_INFO_SLAVE_KIND, e.g. "bridge" for a bridge port. */
  slaveKind?: string;
  vxlan?: VxlanInfo;
  /** Bridge port settings, from IFLA_INFO_SLAVE_DATA or (AF_BRIDGE replies) IFLA_PROTINFO. */
  bridgePort?: BridgePortInfo;
}

function parseBridgePort(bytes: Uint8Array): BridgePortInfo {
  const t = attrTable(bytes);
  const flag = (type: number) => t.has(type) ? readU8(t.get(type)!) !== 0 : undefined;
  const info: BridgePortInfo = {};
  if (t.has(IFLA_BRPORT_STATE)) info.state = readU8(t.get(IFLA_BRPORT_STATE)!);
  const fields: [keyof BridgePortInfo, number][] = [
    ["learning", IFLA_BRPORT_LEARNING],
    ["flood", IFLA_BRPORT_UNICAST_FLOOD],
    ["mcastFlood", IFLA_BRPORT_MCAST_FLOOD],
    ["bcastFlood", IFLA_BRPORT_BCAST_FLOOD],
    ["isolated", IFLA_BRPORT_ISOLATED],
    ["hairpin", IFLA_BRPORT_MODE],
  ];
  for (const [key, type] of fields) {
    const on = flag(type);
    if (on !== undefined) (info as Record<string, unknown>)[key] = on;
  }
  return info;
}

function parseVxlan(bytes: Uint8Array): VxlanInfo {
  const t = attrTable(bytes);
  const info: VxlanInfo = {};
  if (t.has(IFLA_VXLAN_ID)) info.vni = readU32(t.get(IFLA_VXLAN_ID)!, "IFLA_VXLAN_ID");
  const local = t.get(IFLA_VXLAN_LOCAL);
  if (local?.length === 4) info.local = formatIp(local);
  if (t.has(IFLA_VXLAN_PORT)) info.port = readBe16(t.get(IFLA_VXLAN_PORT)!, "IFLA_VXLAN_PORT");
  if (t.has(IFLA_VXLAN_LEARNING)) info.learning = readU8(t.get(IFLA_VXLAN_LEARNING)!) !== 0;
  return info;
}

function parseLinkInfo(link: LinkInfo, bytes: Uint8Array): void {
  const t = attrTable(bytes);
  if (t.has(IFLA_INFO_KIND)) link.kind = readString(t.get(IFLA_INFO_KIND)!);
  if (t.has(IFLA_INFO_SLAVE_KIND)) link.slaveKind = readString(t.get(IFLA_INFO_SLAVE_KIND)!);
  const data = t.get(IFLA_INFO_DATA);
  if (data && link.kind === "vxlan") link.vxlan = parseVxlan(data);
  const slave = t.get(IFLA_INFO_SLAVE_DATA);
  if (slave && link.slaveKind === "bridge") link.bridgePort = parseBridgePort(slave);
}

/**
 * Parses an RTM_NEWLINK payload (ifinfomsg + attributes).
 *
 * @example
 * ```ts
 * import { linkBody, parseLink } from "./codec.ts";
 * parseLink(linkBody({ index: 3, name: "weave", mtu: 1376 })).mtu; // 1376
 * ```
 */
export function parseLink(payload: Uint8Array): LinkInfo {
  const { value: h } = ifInfoMsg.decode(payload, 0);
  const t = attrTable(payload, ifInfoMsg.size);
  const link: LinkInfo = {
    index: h.index,
    name: t.has(IFLA_IFNAME) ? readString(t.get(IFLA_IFNAME)!) : "",
    family: h.family,
    type: h.type,
    flags: h.flags,
    up: (h.flags & IFF_UP) !== 0,
  };
  if (t.has(IFLA_MTU)) link.mtu = readU32(t.get(IFLA_MTU)!, "IFLA_MTU");
  if (t.has(IFLA_ADDRESS)) link.address = formatMac(t.get(IFLA_ADDRESS)!);
  if (t.has(IFLA_MASTER)) link.master = readU32(t.get(IFLA_MASTER)!, "IFLA_MASTER");
  if (t.has(IFLA_LINK)) link.link = readU32(t.get(IFLA_LINK)!, "IFLA_LINK");
  if (t.has(IFLA_OPERSTATE)) link.operState = readU8(t.get(IFLA_OPERSTATE)!);
  const info = t.get(IFLA_LINKINFO);
  if (info) parseLinkInfo(link, info);
  const protinfo = t.get(IFLA_PROTINFO);
  if (protinfo && h.family === AF_BRIDGE) link.bridgePort = parseBridgePort(protinfo);
  return link;
}
