/**
 * The plaintext of each framed mesh TCP message (spec §1.5): one tag byte
 * and a body. Tags 4–6 carry gossip (decoded elsewhere); tag 7 carries
 * overlay control messages prefixed by the overlay's index in the negotiated
 * list and the overlay's own sub-tag; tags 1–3 are sleeve control messages
 * (PMTUVerified carries a u16 BE MTU).
 *
 * @module
 */

/** Message tags of protocol v2. */
export const ProtocolTag = {
  Heartbeat: 0,
  ConnectionEstablished: 1,
  FragmentationReceived: 2,
  PMTUVerified: 3,
  Gossip: 4,
  GossipUnicast: 5,
  GossipBroadcast: 6,
  OverlayControlMsg: 7,
} as const;

/** One of the {@link ProtocolTag} values (or any byte, for unknown tags). */
export type ProtocolTagValue = number;

/** A decoded framed message. */
export interface ProtocolMessage {
  tag: ProtocolTagValue;
  /** A view into the decoded bytes; copy it to keep it past the next read. */
  body: Uint8Array;
}

/** A decoded tag-7 body. */
export interface OverlayControlMessage {
  /** Position of the overlay in the negotiated common list. */
  index: number;
  /** The overlay's own message tag (sleeve: 1–3). */
  subTag: number;
  payload: Uint8Array;
}

/**
 * Prefixes `body` with its tag.
 *
 * @example
 * ```ts
 * import { encodeMessage, ProtocolTag } from "./messages.ts";
 * encodeMessage(ProtocolTag.Heartbeat, new Uint8Array()); // [0]
 * ```
 */
export function encodeMessage(tag: ProtocolTagValue, body: Uint8Array): Uint8Array {
  checkByte(tag, "encode message", "tag");
  const out = new Uint8Array(1 + body.length);
  out[0] = tag;
  out.set(body, 1);
  return out;
}

/**
 * Splits a message into tag and body; returns `null` for an empty message,
 * which the receiver ignores.
 *
 * @example
 * ```ts
 * import { decodeMessage } from "./messages.ts";
 * decodeMessage(new Uint8Array([4, 1, 2])); // { tag: 4, body: [1, 2] }
 * decodeMessage(new Uint8Array()); // null
 * ```
 */
export function decodeMessage(bytes: Uint8Array): ProtocolMessage | null {
  if (bytes.length === 0) return null;
  return { tag: bytes[0], body: bytes.subarray(1) };
}

/**
 * Builds the tag-7 body `[index][subTag][payload]`.
 *
 * @example
 * ```ts
 * import { encodeOverlayControl } from "./messages.ts";
 * encodeOverlayControl(0, 3, new Uint8Array([0x05, 0x9e])); // [0, 3, 5, 0x9e]
 * ```
 */
export function encodeOverlayControl(
  index: number,
  subTag: number,
  body: Uint8Array,
): Uint8Array {
  checkByte(index, "encode overlay control message", "index");
  checkByte(subTag, "encode overlay control message", "sub-tag");
  const out = new Uint8Array(2 + body.length);
  out[0] = index;
  out[1] = subTag;
  out.set(body, 2);
  return out;
}

/**
 * Splits a tag-7 body; throws when it is shorter than its 2-byte prefix.
 *
 * @example
 * ```ts
 * import { decodeOverlayControl } from "./messages.ts";
 * decodeOverlayControl(new Uint8Array([0, 1])); // { index: 0, subTag: 1, payload: [] }
 * ```
 */
export function decodeOverlayControl(body: Uint8Array): OverlayControlMessage {
  if (body.length < 2) {
    throw new RangeError(
      `Cannot decode overlay control message: need 2 bytes of prefix, have ${body.length}`,
    );
  }
  return { index: body[0], subTag: body[1], payload: body.subarray(2) };
}

/**
 * Encodes the PMTUVerified body: the MTU as u16 BE.
 *
 * @example
 * ```ts
 * import { encodePMTUVerified } from "./messages.ts";
 * encodePMTUVerified(1438); // [0x05, 0x9e]
 * ```
 */
export function encodePMTUVerified(mtu: number): Uint8Array {
  if (!Number.isInteger(mtu) || mtu < 0 || mtu > 0xffff) {
    throw new RangeError(`Cannot encode PMTUVerified: MTU ${mtu} is not a uint16`);
  }
  return new Uint8Array([mtu >> 8, mtu & 0xff]);
}

/**
 * Decodes the PMTUVerified body at `offset`; like Go, reads the first two
 * bytes and ignores any more.
 *
 * @example
 * ```ts
 * import { decodePMTUVerified } from "./messages.ts";
 * decodePMTUVerified(new Uint8Array([0x05, 0x9e])); // 1438
 * ```
 */
export function decodePMTUVerified(body: Uint8Array, offset = 0): number {
  if (offset < 0 || body.length - offset < 2) {
    throw new RangeError(
      `Cannot decode PMTUVerified: need 2 bytes, have ${Math.max(0, body.length - offset)}`,
    );
  }
  return (body[offset] << 8) | body[offset + 1];
}

function checkByte(v: number, action: string, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 255) {
    throw new RangeError(`Cannot ${action}: ${what} ${v} is not a byte`);
  }
}
