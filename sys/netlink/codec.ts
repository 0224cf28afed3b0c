/**
 * Pure rtnetlink message codec: the wire units (nlmsghdr, rtattr, ifinfomsg, ifaddrmsg, rtmsg,
 * ndmsg, nlmsgerr), request builders for link/address/route/neighbour changes, and parsers for
 * the kernel's replies.
 *
 * Layout (x86_64, host byte order little-endian; IP addresses and UDP ports in network order):
 * a message is a 16-byte nlmsghdr, a fixed family header (ifinfomsg 16, ifaddrmsg 8, rtmsg 12,
 * ndmsg 12 bytes), then rtattrs — a 4-byte {len, type} head, the payload, zero padding to 4
 * bytes; a nested attribute's payload is itself a list of rtattrs. Every decoder takes
 * `(bytes, offset)`, checks lengths before reading, bounds nested lists by their parent, and
 * throws `RangeError` on truncated or hostile input; every attribute advances by at least 4
 * bytes, so no input can make a decoder loop forever. Nothing here touches the OS.
 *
 * @module
 */

import { parseIPv4 } from "../../lib/cidr.ts";

// ---- spec constants (linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h, neighbour.h) ----

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

// ---- primitives ----

/** A decoded value and the offset just past it. */
export interface Decoded<T> {
  value: T;
  offset: number;
}

/** A fixed-size wire struct. */
export interface FixedCodec<T> {
  /** Encoded size in bytes. */
  readonly size: number;
  /** Writes `value` at `offset`; returns the offset after it. */
  encode(value: T, bytes: Uint8Array, offset: number): number;
  /** Reads a value at `offset` after checking `size` bytes are there. */
  decode(bytes: Uint8Array, offset: number): Decoded<T>;
}

/** Rounds up to the 4-byte netlink alignment (NLMSG_ALIGN / RTA_ALIGN). */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

function need(bytes: Uint8Array, offset: number, n: number, what: string): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + n > bytes.length) {
    const have = Math.max(0, bytes.length - (Number.isInteger(offset) ? offset : 0));
    throw new RangeError(
      `Cannot decode ${what}: need ${n} bytes at offset ${offset}, have ${have}`,
    );
  }
}

function room(bytes: Uint8Array, offset: number, n: number, what: string): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + n > bytes.length) {
    throw new RangeError(
      `Cannot encode ${what}: need ${n} bytes at offset ${offset}, buffer is ${bytes.length}`,
    );
  }
}

function dv(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ---- nlmsghdr ----

/** struct nlmsghdr. */
export interface NlMsgHdr {
  /** Total message length including this header. */
  length: number;
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

/** struct nlmsghdr: u32 len, u16 type, u16 flags, u32 seq, u32 pid (16 bytes). */
export const nlMsgHdr: FixedCodec<NlMsgHdr> = {
  size: NLMSG_HDRLEN,
  encode(h, bytes, offset) {
    room(bytes, offset, NLMSG_HDRLEN, "nlmsghdr");
    const v = dv(bytes);
    v.setUint32(offset, h.length, true);
    v.setUint16(offset + 4, h.type, true);
    v.setUint16(offset + 6, h.flags, true);
    v.setUint32(offset + 8, h.seq >>> 0, true);
    v.setUint32(offset + 12, h.pid >>> 0, true);
    return offset + NLMSG_HDRLEN;
  },
  decode(bytes, offset) {
    need(bytes, offset, NLMSG_HDRLEN, "nlmsghdr");
    const v = dv(bytes);
    return {
      value: {
        length: v.getUint32(offset, true),
        type: v.getUint16(offset + 4, true),
        flags: v.getUint16(offset + 6, true),
        seq: v.getUint32(offset + 8, true),
        pid: v.getUint32(offset + 12, true),
      },
      offset: offset + NLMSG_HDRLEN,
    };
  },
};

// ---- family headers ----

/** struct ifinfomsg. */
export interface IfInfoMsg {
  family: number;
  /** ARPHRD_* device type. */
  type: number;
  index: number;
  flags: number;
  change: number;
}

/** struct ifinfomsg: u8 family, u8 pad, u16 type, i32 index, u32 flags, u32 change (16). */
export const ifInfoMsg: FixedCodec<IfInfoMsg> = {
  size: 16,
  encode(m, bytes, offset) {
    room(bytes, offset, 16, "ifinfomsg");
    const v = dv(bytes);
    v.setUint8(offset, m.family);
    v.setUint8(offset + 1, 0);
    v.setUint16(offset + 2, m.type, true);
    v.setInt32(offset + 4, m.index, true);
    v.setUint32(offset + 8, m.flags >>> 0, true);
    v.setUint32(offset + 12, m.change >>> 0, true);
    return offset + 16;
  },
  decode(bytes, offset) {
    need(bytes, offset, 16, "ifinfomsg");
    const v = dv(bytes);
    return {
      value: {
        family: v.getUint8(offset),
        type: v.getUint16(offset + 2, true),
        index: v.getInt32(offset + 4, true),
        flags: v.getUint32(offset + 8, true),
        change: v.getUint32(offset + 12, true),
      },
      offset: offset + 16,
    };
  },
};

/** struct ifaddrmsg. */
export interface IfAddrMsg {
  family: number;
  prefixLen: number;
  flags: number;
  scope: number;
  index: number;
}

/** struct ifaddrmsg: u8 family, u8 prefixlen, u8 flags, u8 scope, u32 index (8). */
export const ifAddrMsg: FixedCodec<IfAddrMsg> = {
  size: 8,
  encode(m, bytes, offset) {
    room(bytes, offset, 8, "ifaddrmsg");
    const v = dv(bytes);
    v.setUint8(offset, m.family);
    v.setUint8(offset + 1, m.prefixLen);
    v.setUint8(offset + 2, m.flags);
    v.setUint8(offset + 3, m.scope);
    v.setUint32(offset + 4, m.index >>> 0, true);
    return offset + 8;
  },
  decode(bytes, offset) {
    need(bytes, offset, 8, "ifaddrmsg");
    const v = dv(bytes);
    return {
      value: {
        family: v.getUint8(offset),
        prefixLen: v.getUint8(offset + 1),
        flags: v.getUint8(offset + 2),
        scope: v.getUint8(offset + 3),
        index: v.getUint32(offset + 4, true),
      },
      offset: offset + 8,
    };
  },
};

/** struct rtmsg. */
export interface RtMsg {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

const RTMSG_BYTES = [
  "family",
  "dstLen",
  "srcLen",
  "tos",
  "table",
  "protocol",
  "scope",
  "type",
] as const;

/** struct rtmsg: eight u8 (family, dst_len, src_len, tos, table, protocol, scope, type), u32 flags (12). */
export const rtMsg: FixedCodec<RtMsg> = {
  size: 12,
  encode(m, bytes, offset) {
    room(bytes, offset, 12, "rtmsg");
    RTMSG_BYTES.forEach((k, i) => bytes[offset + i] = m[k]);
    dv(bytes).setUint32(offset + 8, m.flags >>> 0, true);
    return offset + 12;
  },
  decode(bytes, offset) {
    need(bytes, offset, 12, "rtmsg");
    const value = { flags: dv(bytes).getUint32(offset + 8, true) } as RtMsg;
    RTMSG_BYTES.forEach((k, i) => value[k] = bytes[offset + i]);
    return { value, offset: offset + 12 };
  },
};

/** struct ndmsg. */
export interface NdMsg {
  family: number;
  index: number;
  /** NUD_* state bits. */
  state: number;
  /** NTF_* flags. */
  flags: number;
  type: number;
}

/** struct ndmsg: u8 family, u8 pad, u16 pad, i32 ifindex, u16 state, u8 flags, u8 type (12). */
export const ndMsg: FixedCodec<NdMsg> = {
  size: 12,
  encode(m, bytes, offset) {
    room(bytes, offset, 12, "ndmsg");
    const v = dv(bytes);
    v.setUint32(offset, m.family, true);
    v.setInt32(offset + 4, m.index, true);
    v.setUint16(offset + 8, m.state, true);
    v.setUint8(offset + 10, m.flags);
    v.setUint8(offset + 11, m.type);
    return offset + 12;
  },
  decode(bytes, offset) {
    need(bytes, offset, 12, "ndmsg");
    const v = dv(bytes);
    return {
      value: {
        family: v.getUint8(offset),
        index: v.getInt32(offset + 4, true),
        state: v.getUint16(offset + 8, true),
        flags: v.getUint8(offset + 10),
        type: v.getUint8(offset + 11),
      },
      offset: offset + 12,
    };
  },
};

/** struct nlmsgerr: the (negative) error and the header of the request it answers. */
export interface NlMsgErr {
  /** 0 for an acknowledgement, else a negative errno. */
  error: number;
  request: NlMsgHdr;
}

/** struct nlmsgerr: i32 error, struct nlmsghdr msg (20). */
export const nlMsgErr: FixedCodec<NlMsgErr> = {
  size: 20,
  encode(m, bytes, offset) {
    room(bytes, offset, 20, "nlmsgerr");
    dv(bytes).setInt32(offset, m.error, true);
    return nlMsgHdr.encode(m.request, bytes, offset + 4);
  },
  decode(bytes, offset) {
    need(bytes, offset, 20, "nlmsgerr");
    const error = dv(bytes).getInt32(offset, true);
    const { value: request, offset: next } = nlMsgHdr.decode(bytes, offset + 4);
    return { value: { error, request }, offset: next };
  },
};

// ---- rtattr ----

/** A route attribute to encode: leaf bytes, or a list of children (a nest). */
export interface Attr {
  type: number;
  value: Uint8Array | readonly Attr[];
  /** Set NLA_F_NESTED in the type (required by some kernel parsers, e.g. IFLA_PROTINFO). */
  nested?: boolean;
}

/** A decoded route attribute: type without flag bits, payload bytes (a view into the input). */
export interface RawAttr {
  type: number;
  nested: boolean;
  value: Uint8Array;
}

/** Encoded size of a list of attributes, each padded to 4 bytes. */
export function attrsLength(attrs: readonly Attr[]): number {
  let n = 0;
  for (const a of attrs) n += rtAttr.encodingLength(a);
  return n;
}

function payloadLength(a: Attr): number {
  return a.value instanceof Uint8Array ? a.value.length : attrsLength(a.value);
}

/** One rtattr: u16 len (head + payload, unpadded), u16 type, payload, zero padding. */
export const rtAttr = {
  /** Bytes `attr` occupies including padding. */
  encodingLength(attr: Attr): number {
    return align4(RTA_HDRLEN + payloadLength(attr));
  },
  /** Writes `attr` (recursively for nests) at `offset`; returns the offset after its padding. */
  encode(attr: Attr, bytes: Uint8Array, offset: number): number {
    const len = RTA_HDRLEN + payloadLength(attr);
    if (len > 0xffff) {
      throw new RangeError(`Cannot encode rtattr ${attr.type}: length ${len} > 65535`);
    }
    room(bytes, offset, align4(len), `rtattr ${attr.type}`);
    const v = dv(bytes);
    v.setUint16(offset, len, true);
    v.setUint16(offset + 2, (attr.type & NLA_TYPE_MASK) | (attr.nested ? NLA_F_NESTED : 0), true);
    let at = offset + RTA_HDRLEN;
    if (attr.value instanceof Uint8Array) {
      bytes.set(attr.value, at);
      at += attr.value.length;
    } else {
      for (const child of attr.value) at = rtAttr.encode(child, bytes, at);
    }
    bytes.fill(0, at, offset + align4(len));
    return offset + align4(len);
  },
  /** Reads one rtattr at `offset`, bounded by `end`; returns the offset after its padding. */
  decode(bytes: Uint8Array, offset: number, end: number = bytes.length): Decoded<RawAttr> {
    const limit = Math.min(end, bytes.length);
    need(bytes.subarray(0, limit), offset, RTA_HDRLEN, "rtattr header");
    const v = dv(bytes);
    const len = v.getUint16(offset, true);
    const rawType = v.getUint16(offset + 2, true);
    if (len < RTA_HDRLEN || offset + len > limit) {
      throw new RangeError(
        `Cannot decode rtattr ${
          rawType & NLA_TYPE_MASK
        }: length ${len} at offset ${offset} exceeds bound ${limit}`,
      );
    }
    return {
      value: {
        type: rawType & NLA_TYPE_MASK,
        nested: (rawType & NLA_F_NESTED) !== 0,
        value: bytes.subarray(offset + RTA_HDRLEN, offset + len),
      },
      offset: Math.min(offset + align4(len), limit),
    };
  },
};

/** Decodes the attribute list in `bytes[offset, end)`; throws RangeError on any malformed one. */
export function decodeAttrs(
  bytes: Uint8Array,
  offset: number,
  end: number = bytes.length,
): RawAttr[] {
  if (end > bytes.length || offset > end) {
    throw new RangeError(
      `Cannot decode attributes: range ${offset}..${end} outside ${bytes.length} bytes`,
    );
  }
  const out: RawAttr[] = [];
  let at = offset;
  while (at < end) {
    const { value, offset: next } = rtAttr.decode(bytes, at, end);
    out.push(value);
    at = next;
  }
  return out;
}

/** Decodes a list of attributes into a type → payload map (the last one of a type wins). */
export function attrTable(
  bytes: Uint8Array,
  offset = 0,
  end: number = bytes.length,
): Map<number, Uint8Array> {
  const table = new Map<number, Uint8Array>();
  for (const a of decodeAttrs(bytes, offset, end)) table.set(a.type, a.value);
  return table;
}

// ---- attribute value helpers ----

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A u8 attribute. */
export function u8Attr(type: number, value: number): Attr {
  return { type, value: Uint8Array.of(value & 0xff) };
}

/** A host-order u32 attribute. */
export function u32Attr(type: number, value: number): Attr {
  const bytes = new Uint8Array(4);
  dv(bytes).setUint32(0, value >>> 0, true);
  return { type, value: bytes };
}

/** A network-order u16 attribute (UDP ports). */
export function be16Attr(type: number, value: number): Attr {
  return { type, value: Uint8Array.of((value >>> 8) & 0xff, value & 0xff) };
}

/** A NUL-terminated string attribute. */
export function stringAttr(type: number, value: string): Attr {
  const text = encoder.encode(value);
  const bytes = new Uint8Array(text.length + 1);
  bytes.set(text);
  return { type, value: bytes };
}

/** A nest of attributes; `flagged` sets NLA_F_NESTED. */
export function nestAttr(type: number, children: readonly Attr[], flagged = false): Attr {
  return { type, value: children, nested: flagged };
}

/** An IPv4 address attribute (4 bytes, network order). */
export function ipv4Attr(type: number, address: string): Attr {
  return { type, value: ipv4Bytes(address) };
}

/** The 4 network-order bytes of a dotted-quad address. */
export function ipv4Bytes(address: string): Uint8Array {
  const n = parseIPv4(address);
  return Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

/** Parses `aa:bb:cc:dd:ee:ff` into 6 bytes; throws SyntaxError otherwise. */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new SyntaxError(`Cannot parse MAC address "${text}"`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/** Formats hardware-address bytes as lowercase colon-separated hex. */
export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(":");
}

/** Formats a 4-byte (dotted quad) or 16-byte (RFC 5952 text) IP address. */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  if (bytes.length !== 16) throw new RangeError(`Cannot format IP address: ${bytes.length} bytes`);
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i] << 8) | bytes[2 * i + 1]);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

function readUint(value: Uint8Array, size: 1 | 2 | 4, what: string): number {
  need(value, 0, size, what);
  const v = dv(value);
  return size === 1 ? v.getUint8(0) : size === 2 ? v.getUint16(0, true) : v.getUint32(0, true);
}

/** Reads a host-order u32 payload. */
export function readU32(value: Uint8Array, what = "u32 attribute"): number {
  return readUint(value, 4, what);
}

/** Reads a u8 payload. */
export function readU8(value: Uint8Array, what = "u8 attribute"): number {
  return readUint(value, 1, what);
}

/** Reads a network-order u16 payload. */
export function readBe16(value: Uint8Array, what = "be16 attribute"): number {
  need(value, 0, 2, what);
  return (value[0] << 8) | value[1];
}

/** Reads a string payload up to its first NUL. */
export function readString(value: Uint8Array): string {
  const nul = value.indexOf(0);
  return decoder.decode(nul < 0 ? value : value.subarray(0, nul));
}

// ---- whole messages ----

/** A netlink message: header fields, a fixed family header and attributes. */
export interface Message<T> {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  header: T;
  attrs: readonly Attr[];
}

/** Encoded length of a message (nlmsghdr + family header + attributes). */
export function messageLength<T>(codec: FixedCodec<T>, msg: Message<T>): number {
  return NLMSG_HDRLEN + align4(codec.size) + attrsLength(msg.attrs);
}

/** Writes `msg` at `offset` in `bytes`; returns the offset after it. */
export function encodeMessageInto<T>(
  codec: FixedCodec<T>,
  msg: Message<T>,
  target: { bytes: Uint8Array; offset: number },
): number {
  const { bytes, offset } = target;
  const length = messageLength(codec, msg);
  room(bytes, offset, length, `message type ${msg.type}`);
  let at = nlMsgHdr.encode({ ...msg, length }, bytes, offset);
  at = codec.encode(msg.header, bytes, at);
  bytes.fill(0, at, offset + NLMSG_HDRLEN + align4(codec.size));
  at = offset + NLMSG_HDRLEN + align4(codec.size);
  for (const a of msg.attrs) at = rtAttr.encode(a, bytes, at);
  return at;
}

/** Encodes `msg` into a fresh buffer of exactly its length. */
export function encodeMessage<T>(codec: FixedCodec<T>, msg: Message<T>): Uint8Array {
  const bytes = new Uint8Array(messageLength(codec, msg));
  encodeMessageInto(codec, msg, { bytes, offset: 0 });
  return bytes;
}

/** A message's header and its payload (a view into the input). */
export interface Envelope {
  header: NlMsgHdr;
  payload: Uint8Array;
}

/** Reads one message envelope at `offset`; returns the offset of the next (aligned) message. */
export function decodeEnvelope(bytes: Uint8Array, offset: number): Decoded<Envelope> {
  const { value: header } = nlMsgHdr.decode(bytes, offset);
  if (header.length < NLMSG_HDRLEN || offset + header.length > bytes.length) {
    throw new RangeError(
      `Cannot decode netlink message: length ${header.length} at offset ${offset} exceeds ${bytes.length} bytes`,
    );
  }
  return {
    value: { header, payload: bytes.subarray(offset + NLMSG_HDRLEN, offset + header.length) },
    offset: Math.min(offset + align4(header.length), bytes.length),
  };
}

/** Decodes a whole message with family header `codec` at `offset`. */
export function decodeMessage<T>(
  codec: FixedCodec<T>,
  bytes: Uint8Array,
  offset: number,
): Decoded<Message<T> & { attrs: RawAttr[] }> {
  const { value: env, offset: next } = decodeEnvelope(bytes, offset);
  const { value: header } = codec.decode(env.payload, 0);
  const attrs = decodeAttrs(env.payload, Math.min(align4(codec.size), env.payload.length));
  const { type, flags, seq, pid } = env.header;
  return { value: { type, flags, seq, pid, header, attrs }, offset: next };
}

// ---- request builders ----

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
  return out;
}

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

// ---- reply parsers ----

/** Bridge port state as reported by the kernel. */
export interface BridgePortInfo {
  state?: number;
  learning?: boolean;
  flood?: boolean;
  mcastFlood?: boolean;
  bcastFlood?: boolean;
  isolated?: boolean;
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
  if (t.has(IFLA_OPERSTATE)) link.operState = readU8(t.get(IFLA_OPERSTATE)!);
  const info = t.get(IFLA_LINKINFO);
  if (info) parseLinkInfo(link, info);
  const protinfo = t.get(IFLA_PROTINFO);
  if (protinfo && h.family === AF_BRIDGE) link.bridgePort = parseBridgePort(protinfo);
  return link;
}

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
