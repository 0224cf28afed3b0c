/**
 * The fixed family headers that follow nlmsghdr: ifinfomsg (links), ifaddrmsg (addresses),
 * rtmsg (routes), ndmsg (neighbours) and nlmsgerr (errors and acknowledgements).
 *
 * @module
 */

import { dv, need, room } from "./_bytes.ts";
import { type FixedCodec, type NlMsgHdr, nlMsgHdr } from "./header.ts";

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
