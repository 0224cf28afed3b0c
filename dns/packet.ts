/**
 * The DNS wire format, through `npm:dns-packet` (which ships no types): the
 * few shapes weaveDNS reads and writes, typed here, and decode/encode
 * wrappers that take and give Uint8Array and turn the library's errors into
 * SyntaxError with context.
 *
 * dns-packet never compresses names when encoding, so an encoded length is
 * the uncompressed length Weave's truncation rule is based on; when decoding
 * it only follows compression pointers backwards, so pointer loops cannot
 * happen.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import * as dnsPacket from "dns-packet";

/** One question. Names carry no trailing dot (dns-packet strips it). */
export interface DnsQuestion {
  name: string;
  /** Record type mnemonic ("A", "AAAA", "PTR", …, or "UNKNOWN_<n>"). */
  type: string;
  class?: string;
}

/** A resource record (answer, authority or additional). */
export interface DnsRecord {
  name: string;
  type: string;
  class?: string;
  ttl?: number;
  /** A: dotted quad; PTR: a name; other types: whatever dns-packet gives. */
  data?: unknown;
  /** OPT records: the sender's UDP payload size. */
  udpPayloadSize?: number;
}

/** A whole message. `flags` holds the header bits below QR, including opcode and rcode. */
export interface DnsPacket {
  id?: number;
  type?: "query" | "response";
  flags?: number;
  /** Decoded only: the response code's name ("NOERROR", "NXDOMAIN", …). */
  rcode?: string;
  questions?: DnsQuestion[];
  answers?: DnsRecord[];
  authorities?: DnsRecord[];
  additionals?: DnsRecord[];
}

/** Header flag bits (in {@link DnsPacket.flags}). */
export const DnsFlag = Object.freeze({
  OPCODE_MASK: 0x7800,
  AUTHORITATIVE: 0x0400,
  TRUNCATED: 0x0200,
  RECURSION_DESIRED: 0x0100,
  RECURSION_AVAILABLE: 0x0080,
  CHECKING_DISABLED: 0x0010,
  RCODE_MASK: 0x000f,
});

/** Response codes. */
export const Rcode = Object.freeze({
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  REFUSED: 5,
});

/** Size of the fixed DNS header. */
export const HEADER_BYTES = 12;

/**
 * Decodes a DNS message; throws SyntaxError when it is malformed.
 *
 * @example
 * ```ts
 * import { decodePacket, encodePacket } from "./packet.ts";
 * const bytes = encodePacket({ id: 7, questions: [{ name: "web.weave.local", type: "A" }] });
 * decodePacket(bytes).questions; // [{ name: "web.weave.local", type: "A", class: "IN" }]
 * ```
 */
export function decodePacket(bytes: Uint8Array): DnsPacket {
  try {
    return dnsPacket.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new SyntaxError(
      `Cannot decode DNS message of ${bytes.length} bytes: ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/** Encodes a DNS message; throws TypeError when a field cannot be encoded. */
export function encodePacket(packet: DnsPacket): Uint8Array {
  try {
    const buf: Buffer = dnsPacket.encode(withDefaults(packet));
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw new TypeError(`Cannot encode DNS message: ${(e as Error).message}`, { cause: e });
  }
}

/** The encoded (uncompressed) size of a message in bytes. */
export function packetLength(packet: DnsPacket): number {
  try {
    return dnsPacket.encodingLength(withDefaults(packet));
  } catch (e) {
    throw new TypeError(`Cannot size DNS message: ${(e as Error).message}`, { cause: e });
  }
}

function withDefaults(p: DnsPacket): DnsPacket {
  return {
    ...p,
    questions: p.questions ?? [],
    answers: p.answers ?? [],
    authorities: p.authorities ?? [],
    additionals: p.additionals ?? [],
  };
}

/** The response code of a decoded or built message. */
export function rcodeOf(packet: DnsPacket): number {
  return (packet.flags ?? 0) & DnsFlag.RCODE_MASK;
}

/** The request ID of raw message bytes (0 when too short). */
export function messageId(bytes: Uint8Array): number {
  return bytes.length >= 2 ? (bytes[0] << 8) | bytes[1] : 0;
}

/** A copy of raw message bytes with another request ID. */
export function withMessageId(bytes: Uint8Array, id: number): Uint8Array {
  const copy = bytes.slice();
  if (copy.length >= 2) {
    copy[0] = (id >>> 8) & 0xff;
    copy[1] = id & 0xff;
  }
  return copy;
}

/**
 * A header-only reply to raw query bytes (for messages too broken to decode):
 * same ID and opcode, QR and RA set, the given response code, no records.
 * Null when the bytes are shorter than a header or are themselves a response.
 *
 * @example
 * ```ts
 * import { headerReply, Rcode } from "./packet.ts";
 * headerReply(new Uint8Array([0x12, 0x34, 0x01, 0x00, 1, 2, 3, 4, 5, 6, 7, 8]), Rcode.FORMERR);
 * // 12 34 81 81 00 00 00 00 00 00 00 00
 * ```
 */
export function headerReply(bytes: Uint8Array, rcode: number): Uint8Array | null {
  if (bytes.length < HEADER_BYTES || (bytes[2] & 0x80) !== 0) return null;
  const out = new Uint8Array(HEADER_BYTES);
  out[0] = bytes[0];
  out[1] = bytes[1];
  out[2] = 0x80 | (bytes[2] & 0x79); // QR, opcode, RD kept; AA and TC cleared
  out[3] = 0x80 | (rcode & 0x0f);
  return out;
}
