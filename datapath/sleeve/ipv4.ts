/**
 * The little of IPv4 the sleeve needs to look at inside the Ethernet frames it carries
 * (spec §4.4 step 6): whether a frame holds IPv4 and has DF set, the ICMP "fragmentation
 * needed" reply sent back to a sender whose DF packet does not fit the path, and software
 * fragmentation for when the IP stack of the path cannot be trusted to fragment.
 *
 * Pure functions on byte arrays; offsets are into the Ethernet frame (IPv4 at 14). Only plain
 * Ethernet II frames are looked into (no VLAN tags), as Weave's decoder did.
 *
 * @module
 */
import { finish, sumWords } from "../offload/checksum.ts";

/** Ethernet header length. */
export const ETH_HEADER = 14;
const ETHERTYPE_IPV4 = 0x0800;
const IP_FLAG_DF = 0x40;
const IP_FLAG_MF = 0x20;
const IPPROTO_ICMP = 1;
const ICMP_HEADER = 8;
/** TTL of the ICMP replies we build. */
const ICMP_TTL = 64;

/**
 * Length of the IPv4 header of `frame`, or 0 when the frame does not carry a well-formed IPv4
 * header (other EtherType, truncated, version ≠ 4, IHL < 5).
 *
 * @example
 * ```ts
 * import { ipv4HeaderLength } from "./ipv4.ts";
 * const f = new Uint8Array(34);
 * f[12] = 0x08; f[14] = 0x45;
 * ipv4HeaderLength(f); // 20
 * ```
 */
export function ipv4HeaderLength(frame: Uint8Array): number {
  if (frame.length < ETH_HEADER + 20) return 0;
  if (((frame[12] << 8) | frame[13]) !== ETHERTYPE_IPV4) return 0;
  const vihl = frame[ETH_HEADER];
  if (vihl >> 4 !== 4) return 0;
  const ihl = (vihl & 0x0f) * 4;
  return ihl >= 20 && frame.length >= ETH_HEADER + ihl ? ihl : 0;
}

/**
 * True when `frame` is IPv4 with the don't-fragment flag set.
 *
 * @example
 * ```ts
 * import { ipv4DontFragment } from "./ipv4.ts";
 * const f = new Uint8Array(34);
 * f[12] = 0x08; f[14] = 0x45; f[20] = 0x40;
 * ipv4DontFragment(f); // true
 * ```
 */
export function ipv4DontFragment(frame: Uint8Array): boolean {
  return ipv4HeaderLength(frame) !== 0 && (frame[ETH_HEADER + 6] & IP_FLAG_DF) !== 0;
}

/**
 * The Internet checksum (RFC 1071) of `bytes[start, end)`.
 *
 * @example
 * ```ts
 * import { internetChecksum } from "./ipv4.ts";
 * internetChecksum(Uint8Array.of(0x00, 0x01, 0xf2, 0x03), 0, 4); // 0x0dfb
 * ```
 */
export function internetChecksum(bytes: Uint8Array, start: number, end: number): number {
  return finish(sumWords(bytes, start, end));
}

/** Writes the IPv4 header checksum of the header at `ip` (length `ihl`). */
function setHeaderChecksum(bytes: Uint8Array, ip: number, ihl: number): void {
  bytes[ip + 10] = 0;
  bytes[ip + 11] = 0;
  const sum = internetChecksum(bytes, ip, ip + ihl);
  bytes[ip + 10] = sum >> 8;
  bytes[ip + 11] = sum & 0xff;
}

/**
 * Builds the Ethernet frame of an ICMP "destination unreachable, fragmentation needed"
 * (type 3 code 4) answering the IPv4 packet in `frame`: MACs and IP addresses swapped (so it
 * comes from the packet's destination), TOS kept, ID 0, no flags, TTL 64, next-hop MTU `mtu`,
 * and as payload the original IP header plus the first 8 bytes after it (RFC 792). Returns null
 * when `frame` is not IPv4 or is shorter than its header plus 8 bytes.
 *
 * @example
 * ```ts
 * import { icmpFragNeeded } from "./ipv4.ts";
 * const f = new Uint8Array(1514);
 * f[12] = 0x08; f[14] = 0x45;
 * icmpFragNeeded(f, 1438)?.length; // 70
 * ```
 */
export function icmpFragNeeded(frame: Uint8Array, mtu: number): Uint8Array | null {
  const ihl = ipv4HeaderLength(frame);
  if (ihl === 0 || frame.length < ETH_HEADER + ihl + 8) return null;
  if (!Number.isInteger(mtu) || mtu < 0 || mtu > 0xffff) {
    throw new RangeError(`Cannot build ICMP frag-needed: MTU ${mtu} not in 0..65535`);
  }
  const quoted = ihl + 8;
  const ipLength = 20 + ICMP_HEADER + quoted;
  const out = new Uint8Array(ETH_HEADER + ipLength);
  out.set(frame.subarray(6, 12), 0);
  out.set(frame.subarray(0, 6), 6);
  out[12] = ETHERTYPE_IPV4 >> 8;
  out[13] = ETHERTYPE_IPV4 & 0xff;
  const ip = ETH_HEADER;
  const src = frame.subarray(ip + 12, ip + 16);
  const dst = frame.subarray(ip + 16, ip + 20);
  out[ip] = 0x45;
  out[ip + 1] = frame[ip + 1];
  out[ip + 2] = ipLength >> 8;
  out[ip + 3] = ipLength & 0xff;
  out[ip + 8] = ICMP_TTL;
  out[ip + 9] = IPPROTO_ICMP;
  out.set(dst, ip + 12);
  out.set(src, ip + 16);
  setHeaderChecksum(out, ip, 20);
  const icmp = ip + 20;
  out[icmp] = 3;
  out[icmp + 1] = 4;
  out[icmp + 6] = mtu >> 8;
  out[icmp + 7] = mtu & 0xff;
  out.set(frame.subarray(ip, ip + quoted), icmp + ICMP_HEADER);
  const sum = internetChecksum(out, icmp, out.length);
  out[icmp + 2] = sum >> 8;
  out[icmp + 3] = sum & 0xff;
  return out;
}

/** The addresses of an IPv4 frame as text, for logs: `[src, dst]`. */
export function ipv4Addresses(frame: Uint8Array): [string, string] {
  const at = (o: number) => frame.subarray(ETH_HEADER + o, ETH_HEADER + o + 4).join(".");
  return [at(12), at(16)];
}

/**
 * Splits the IPv4 packet in `frame` into fragments whose IP packets are at most `mtu` bytes,
 * calling `emit` with each fragment's Ethernet frame (a view of `scratch`, valid during the
 * call). Payloads are multiples of 8 bytes except the last; every fragment but the last has MF
 * set, the last keeps the original flags; offsets continue from the packet's own offset (it may
 * itself be a fragment); header checksums are recomputed. Bytes after the IP total length
 * (Ethernet padding) are dropped. Returns the number of fragments, or 0 when `frame` is not
 * IPv4 or `mtu` leaves no room for 8 payload bytes.
 *
 * @example
 * ```ts
 * import { fragmentIPv4 } from "./ipv4.ts";
 * const f = new Uint8Array(14 + 20 + 3000);
 * f[12] = 0x08; f[14] = 0x45; f[16] = (3020 >> 8); f[17] = 3020 & 0xff;
 * fragmentIPv4(f, 1500, new Uint8Array(1514), () => {}); // 3
 * ```
 */
export function fragmentIPv4(
  frame: Uint8Array,
  mtu: number,
  scratch: Uint8Array,
  emit: (fragment: Uint8Array) => void,
): number {
  const ihl = ipv4HeaderLength(frame);
  if (ihl === 0) return 0;
  const ip = ETH_HEADER;
  const maxSegment = (mtu - ihl) & ~7;
  if (maxSegment <= 0) return 0;
  const totalLength = Math.min((frame[ip + 2] << 8) | frame[ip + 3], frame.length - ip);
  const payloadLength = totalLength - ihl;
  if (payloadLength <= 0) return 0;
  if (scratch.length < ETH_HEADER + ihl + Math.min(maxSegment, payloadLength)) {
    throw new RangeError(
      `Cannot fragment IPv4 packet: scratch has ${scratch.length} bytes, need ${
        ETH_HEADER + ihl + Math.min(maxSegment, payloadLength)
      }`,
    );
  }
  const flagsWord = (frame[ip + 6] << 8) | frame[ip + 7];
  const origFlags = flagsWord & 0xe000;
  const baseOffset = (flagsWord & 0x1fff) * 8;
  scratch.set(frame.subarray(0, ip + ihl), 0);
  let count = 0;
  for (let offset = 0; offset < payloadLength; offset += maxSegment) {
    const last = payloadLength - offset <= maxSegment;
    const segment = last ? payloadLength - offset : maxSegment;
    const length = ihl + segment;
    scratch[ip + 2] = length >> 8;
    scratch[ip + 3] = length & 0xff;
    const fragWord = (last ? origFlags : origFlags | (IP_FLAG_MF << 8)) |
      ((baseOffset + offset) >> 3);
    scratch[ip + 6] = fragWord >> 8;
    scratch[ip + 7] = fragWord & 0xff;
    setHeaderChecksum(scratch, ip, ihl);
    const start = ip + ihl + offset;
    scratch.set(frame.subarray(start, start + segment), ip + ihl);
    emit(scratch.subarray(0, ip + length));
    count++;
  }
  return count;
}
