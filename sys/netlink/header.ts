/**
 * The netlink framing primitives: the decoded-value and fixed-struct codec shapes, 4-byte
 * alignment, and struct nlmsghdr, the 16-byte header that starts every message.
 *
 * @module
 */

import { dv, need, room } from "./_bytes.ts";
import { NLMSG_HDRLEN } from "./constants.ts";

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
