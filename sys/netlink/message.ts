/**
 * Whole netlink messages: nlmsghdr, a fixed family header and attributes, encoded into one
 * buffer or decoded from a reply (the envelope alone, or with header and attributes).
 *
 * @module
 */

import { room } from "./_bytes.ts";
import { type Attr, attrsLength, decodeAttrs, type RawAttr, rtAttr } from "./attrs.ts";
import { NLMSG_HDRLEN } from "./constants.ts";
import { align4, type Decoded, type FixedCodec, type NlMsgHdr, nlMsgHdr } from "./header.ts";

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
