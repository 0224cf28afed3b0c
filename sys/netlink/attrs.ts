/**
 * Route attributes (rtattr): the {len, type} TLV codec with nests bounded by their parent,
 * attribute lists, and helpers that build and read attribute values (integers, strings, IPv4
 * and MAC addresses).
 *
 * @module
 */

import { parseIPv4 } from "../../lib/cidr.ts";
import { dv, need, room } from "./_bytes.ts";
import { NLA_F_NESTED, NLA_TYPE_MASK, RTA_HDRLEN } from "./constants.ts";
import { align4, type Decoded } from "./header.ts";

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
