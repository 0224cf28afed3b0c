/**
 * The 7-byte protocol header that opens every mesh TCP connection (spec
 * §1.2): ASCII `weave`, then the lowest and highest protocol version the
 * sender speaks. Both sides write it at once and each picks the highest
 * version in the overlap of the two ranges.
 *
 * We announce 1..2 like Go Weave 2.8 does, but only implement version 2; the
 * handshake refuses a negotiation that ends at 1.
 *
 * @module
 */

/** Lowest protocol version we announce (Go 2.8 sends 1). */
export const PROTOCOL_MIN_VERSION = 1;
/** Highest protocol version we announce and the only one we speak. */
export const PROTOCOL_MAX_VERSION = 2;
/** Size of the header on the wire. */
export const PROTOCOL_HEADER_LENGTH = 7;

/** The magic `weave` that starts the header. */
const MAGIC = new TextEncoder().encode("weave");

/** A protocol version range, both ends inclusive. */
export interface VersionRange {
  min: number;
  max: number;
}

/**
 * Encodes the header `weave <min> <max>`.
 *
 * @example
 * ```ts
 * import { encodeProtocolHeader } from "./protocol_header.ts";
 * encodeProtocolHeader(1, 2); // 77 65 61 76 65 01 02
 * ```
 */
export function encodeProtocolHeader(min: number, max: number): Uint8Array {
  checkVersionByte(min, "min");
  checkVersionByte(max, "max");
  const out = new Uint8Array(PROTOCOL_HEADER_LENGTH);
  out.set(MAGIC, 0);
  out[5] = min;
  out[6] = max;
  return out;
}

/**
 * Decodes the header at `offset`; throws when fewer than 7 bytes remain or
 * the magic is not `weave`.
 *
 * @example
 * ```ts
 * import { decodeProtocolHeader } from "./protocol_header.ts";
 * decodeProtocolHeader(new Uint8Array([0x77, 0x65, 0x61, 0x76, 0x65, 1, 2])); // { min: 1, max: 2 }
 * ```
 */
export function decodeProtocolHeader(bytes: Uint8Array, offset = 0): VersionRange {
  if (offset < 0 || bytes.length - offset < PROTOCOL_HEADER_LENGTH) {
    throw new RangeError(
      `Cannot decode protocol header: need ${PROTOCOL_HEADER_LENGTH} bytes, have ${
        Math.max(0, bytes.length - offset)
      }`,
    );
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[offset + i] !== MAGIC[i]) {
      throw new SyntaxError(
        `Cannot decode protocol header: the protocol header was not the expected ("${
          hex(bytes.subarray(offset, offset + MAGIC.length))
        }" instead of "${hex(MAGIC)}")`,
      );
    }
  }
  return { min: bytes[offset + 5], max: bytes[offset + 6] };
}

/**
 * Picks the version both ranges support: the highest one in their overlap.
 * Throws when the ranges do not overlap.
 *
 * @example
 * ```ts
 * import { negotiateVersion } from "./protocol_header.ts";
 * negotiateVersion({ min: 1, max: 2 }, { min: 1, max: 2 }); // 2
 * ```
 */
export function negotiateVersion(ours: VersionRange, theirs: VersionRange): number {
  const min = Math.max(ours.min, theirs.min);
  const max = Math.min(ours.max, theirs.max);
  if (min > max) {
    throw new RangeError(
      `Cannot negotiate protocol version: remote supports ${theirs.min}..${theirs.max}, we support ${ours.min}..${ours.max}`,
    );
  }
  return max;
}

function checkVersionByte(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 255) {
    throw new RangeError(`Cannot encode protocol header: ${what} version ${v} is not a byte`);
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}
