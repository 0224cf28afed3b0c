/**
 * Spec constants of rtnetlink (linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h,
 * neighbour.h): message types and flags, address families, attribute types and header sizes.
 *
 * @module
 */

/** nlmsghdr types. */
export const NLMSG_NOOP = 1;
/** An error or (errno 0) acknowledgement. */
export const NLMSG_ERROR = 2;
/** End of a multipart dump. */
export const NLMSG_DONE = 3;
/** Data lost. */
export const NLMSG_OVERRUN = 4;

/** nlmsghdr flags. */
export const NLM_F_REQUEST = 0x1;
/** Part of a multipart reply. */
export const NLM_F_MULTI = 0x2;
/** Ask for an acknowledgement. */
export const NLM_F_ACK = 0x4;
/** Dump was interrupted by a change; its content may be inconsistent. */
export const NLM_F_DUMP_INTR = 0x10;
/** Dump the whole table (ROOT | MATCH). */
export const NLM_F_DUMP = 0x300;
/** Replace an existing object. */
export const NLM_F_REPLACE = 0x100;
/** Fail if the object exists. */
export const NLM_F_EXCL = 0x200;
/** Create the object if absent. */
export const NLM_F_CREATE = 0x400;
/** Add to the end of the object list. */
export const NLM_F_APPEND = 0x800;
/** In NLMSG_ERROR: the echoed request was capped to its header. */
export const NLM_F_CAPPED = 0x100;
/** In NLMSG_ERROR: extended-ack TLVs follow the echoed request. */
export const NLM_F_ACK_TLVS = 0x200;
/** Extended-ack attribute carrying the kernel's error text. */
export const NLMSGERR_ATTR_MSG = 1;

/** rtnetlink message types. */
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;

/** Address families. */
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;

/** Interface flag: administratively up. */
export const IFF_UP = 0x1;

/** Link attributes (IFLA_*). */
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_MASTER = 10;
export const IFLA_PROTINFO = 12;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_FD = 28;
/** IFLA_LINKINFO children. */
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_INFO_SLAVE_KIND = 4;
export const IFLA_INFO_SLAVE_DATA = 5;
/** veth IFLA_INFO_DATA child: the peer's ifinfomsg + attributes. */
export const VETH_INFO_PEER = 1;
/** vxlan IFLA_INFO_DATA children. */
export const IFLA_VXLAN_ID = 1;
export const IFLA_VXLAN_LOCAL = 4;
export const IFLA_VXLAN_LEARNING = 7;
export const IFLA_VXLAN_PORT = 15;
/** Bridge port attributes (in IFLA_PROTINFO or IFLA_INFO_SLAVE_DATA). */
export const IFLA_BRPORT_STATE = 1;
/** Hairpin mode: frames may leave through the port they came in on. */
export const IFLA_BRPORT_MODE = 4;
export const IFLA_BRPORT_LEARNING = 8;
export const IFLA_BRPORT_UNICAST_FLOOD = 9;
export const IFLA_BRPORT_MCAST_FLOOD = 27;
export const IFLA_BRPORT_BCAST_FLOOD = 30;
export const IFLA_BRPORT_ISOLATED = 33;

/** Address attributes (IFA_*). */
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_BROADCAST = 4;

/** Route attributes (RTA_*). */
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_TABLE = 15;
/** Route table, protocol, scope and type values. */
export const RT_TABLE_UNSPEC = 0;
export const RT_TABLE_MAIN = 254;
export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
export const RTPROT_STATIC = 4;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RT_SCOPE_NOWHERE = 255;
export const RTN_UNICAST = 1;

/** Neighbour attributes (NDA_*), flags (NTF_*) and states (NUD_*). */
export const NDA_DST = 1;
export const NDA_LLADDR = 2;
export const NDA_PORT = 6;
export const NDA_VNI = 7;
export const NDA_MASTER = 9;
export const NTF_SELF = 0x02;
export const NTF_MASTER = 0x04;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;

/** rtattr type bits. */
export const NLA_F_NESTED = 0x8000;
export const NLA_TYPE_MASK = 0x3fff;

/** Header sizes. */
export const NLMSG_HDRLEN = 16;
export const RTA_HDRLEN = 4;
