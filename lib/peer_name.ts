/**
 * Peer names: 48-bit numbers shown as MAC addresses (`0a:0b:0c:0d:0e:0f`), as
 * weaveworks/mesh's "mac" flavour. Held as `bigint` so that the same type
 * serves names, UIDs and connection IDs; a name always fits in 48 bits.
 *
 * @module
 */

/** A peer name: a 48-bit unsigned integer. */
export type PeerName = bigint;

/** The zero name, which Weave prints as `00:00:00:00:00:00` ("no peer"). */
export const UNKNOWN_PEER_NAME: PeerName = 0n;

const MAX_NAME = (1n << 48n) - 1n;

/**
 * Parses a peer name in MAC form, also accepting `::`-abbreviated forms as
 * mesh does (`::1`, `a::b`, `1:2::`).
 *
 * @example
 * ```ts
 * import { parsePeerName } from "./peer_name.ts";
 * parsePeerName("00:00:00:00:00:01"); // 1n
 * parsePeerName("::1"); // 1n
 * ```
 */
export function parsePeerName(text: string): PeerName {
  const groups = expandGroups(text);
  if (groups.length !== 6 || groups.some((g) => !/^[0-9a-fA-F]{1,2}$/.test(g))) {
    throw new SyntaxError(`Cannot parse peer name "${text}": expected six hex bytes`);
  }
  return groups.reduce((acc, g) => (acc << 8n) | BigInt(parseInt(g, 16)), 0n);
}

function expandGroups(text: string): string[] {
  const halves = text.split("::");
  if (halves.length === 1) return text.split(":");
  if (halves.length !== 2) return [];
  const left = halves[0] === "" ? [] : halves[0].split(":");
  const right = halves[1] === "" ? [] : halves[1].split(":");
  const missing = 6 - left.length - right.length;
  if (missing < 1) return [];
  return [...left, ...Array(missing).fill("0"), ...right];
}

/**
 * Formats a peer name as six lowercase, colon-separated hex bytes.
 *
 * @example
 * ```ts
 * import { formatPeerName } from "./peer_name.ts";
 * formatPeerName(0x0a0b0c0d0e0fn); // "0a:0b:0c:0d:0e:0f"
 * ```
 */
export function formatPeerName(name: PeerName): string {
  if (name < 0n || name > MAX_NAME) {
    throw new RangeError(`Cannot format peer name ${name}: outside 48 bits`);
  }
  return name.toString(16).padStart(12, "0").replace(/(..)(?!$)/g, "$1:");
}

/** Encodes a peer name as 6 big-endian bytes (topology `NameByte`, sleeve headers). */
export function peerNameToBytes(name: PeerName, out = new Uint8Array(6), offset = 0): Uint8Array {
  for (let i = 5; i >= 0; i--) {
    out[offset + i] = Number(name & 0xffn);
    name >>= 8n;
  }
  return out;
}

/** Decodes 6 big-endian bytes at `offset` into a peer name. */
export function peerNameFromBytes(bytes: Uint8Array, offset = 0): PeerName {
  if (bytes.length < offset + 6) {
    throw new RangeError(
      `Cannot read peer name at offset ${offset}: ${bytes.length} bytes, need ${offset + 6}`,
    );
  }
  let name = 0n;
  for (let i = 0; i < 6; i++) name = (name << 8n) | BigInt(bytes[offset + i]);
  return name;
}
