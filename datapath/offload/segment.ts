/**
 * Reads from a TAP with offloads on (`IFF_VNET_HDR` + `TUNSETOFFLOAD`): each read is a
 * `virtio_net_hdr` followed by a frame that may be a whole TCP send of up to 64 KiB (the
 * kernel skipped segmentation, "TSO"), or a whole UDP send of a socket using `UDP_SEGMENT`
 * (QUIC stacks do; "USO", kernels ≥ 6.2), and may lack its TCP/UDP checksum (the kernel left
 * it to the device, "checksum offload"). {@link segmentRead} turns such a read back into the
 * ordinary, complete Ethernet frames the bridge would have sent one by one — the frames Weave's
 * sleeve protocol carries — so one read and a little arithmetic replace ~45 reads.
 *
 * Each segment is built in place in the read buffer: segment i's headers are written just
 * before its payload, over bytes of segments already handed on, so nothing is copied but the
 * headers. TCP rules as the kernel's own segmentation: sequence numbers advance by the payload,
 * FIN and PSH only on the last segment, CWR only on the first, IPv4 IDs count up; UDP segments
 * each get their own length and checksum.
 *
 * @module
 */
import {
  finish,
  get16,
  get32,
  pseudoHeaderSum,
  put16,
  put32,
  setIPv4HeaderChecksum,
  sumWords,
} from "./checksum.ts";

/** Bytes of `struct virtio_net_hdr` before every frame. */
export const VNET_HDR_SIZE = 10;
/** `flags`: the checksum at csum_start + csum_offset is still to be computed. */
export const VNET_F_NEEDS_CSUM = 1;
/** `gso_type` values. */
export const GSO_NONE = 0;
export const GSO_TCPV4 = 1;
export const GSO_TCPV6 = 4;
export const GSO_UDP_L4 = 5;
/** `gso_type` bit: the segments carry ECN (CWR only on the first). */
export const GSO_ECN = 0x80;

const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;
const PROTO_TCP = 6;
const PROTO_UDP = 17;

/** Why a read could not be turned into frames: negative results of {@link segmentRead}. */
export const SegmentRefused = {
  /** Shorter than a vnet header and an Ethernet header. */
  short: -1,
  /** The checksum to complete lies outside the frame. */
  checksumOffset: -2,
  /** A segmentation type we did not enable (UFO, tunnels). */
  gsoType: -3,
  /** Segmentation asked for a frame that is not plain IPv4/IPv6 TCP (UDP for USO). */
  wrongProtocol: -4,
  /** No segment size, or no payload to cut. */
  noPayload: -5,
} as const;

/**
 * Turns `buf[0, length)` (a vnet header and a frame) into complete frames, calling `emit` with
 * each (a view of `buf`, valid during the call). `buf` is modified. Returns the number of frames
 * handed on, or one of {@link SegmentRefused} (negative).
 *
 * @example
 * ```ts ignore
 * const n = tap.read(buf);
 * segmentRead(buf, n, (frame) => router.handleCaptured(frame));
 * ```
 */
export function segmentRead(
  buf: Uint8Array,
  length: number,
  emit: (frame: Uint8Array) => void,
): number {
  if (length < VNET_HDR_SIZE + 14) return SegmentRefused.short;
  const flags = buf[0];
  const gsoType = buf[1] & ~GSO_ECN;
  const gsoSize = buf[4] | (buf[5] << 8);
  const csumStart = buf[6] | (buf[7] << 8);
  const csumOffset = buf[8] | (buf[9] << 8);
  const frame = buf.subarray(VNET_HDR_SIZE, length);
  if (gsoType === GSO_NONE) {
    if (flags & VNET_F_NEEDS_CSUM) {
      const at = csumStart + csumOffset;
      if (at + 2 > frame.length || csumStart >= frame.length) return SegmentRefused.checksumOffset;
      // The field holds the pseudo-header sum already: sum everything from csum_start. A zero
      // result is sent as 0xffff, as the kernel does (for UDP, zero would mean "no checksum").
      put16(frame, at, finish(sumWords(frame, csumStart, frame.length)) || 0xffff);
    }
    emit(frame);
    return 1;
  }
  if (gsoType === GSO_UDP_L4) return segmentUdp(frame, gsoSize, emit);
  if (gsoType !== GSO_TCPV4 && gsoType !== GSO_TCPV6) return SegmentRefused.gsoType;
  return segmentTcp(frame, gsoSize, emit);
}

/** Offset of the IP header after an Ethernet header (one VLAN tag allowed); -1 if not IP. */
export function ipOffset(frame: Uint8Array): number {
  let type = get16(frame, 12);
  let ip = 14;
  if (type === 0x8100 && frame.length >= 18) {
    type = get16(frame, 16);
    ip = 18;
  }
  return type === 0x0800 || type === 0x86dd ? ip : -1;
}

/**
 * Offset of the TCP header of an IPv4 (no fragment) or IPv6 (no extension header) TCP packet
 * at `ip`, checked to lie within the frame with its own header; -1 otherwise.
 */
export function tcpOffset(frame: Uint8Array, ip: number): number {
  const tcp = transportOffset(frame, ip, PROTO_TCP);
  if (tcp < 0 || frame.length < tcp + 20) return -1;
  const thl = (frame[tcp + 12] >> 4) * 4;
  return thl >= 20 && frame.length >= tcp + thl ? tcp : -1;
}

/**
 * Offset of the transport header of an IPv4 (no fragment) or IPv6 (no extension header)
 * packet at `ip` carrying protocol `proto`; -1 otherwise.
 */
function transportOffset(frame: Uint8Array, ip: number, proto: number): number {
  if (ip < 0 || frame.length < ip + 20) return -1;
  const version = frame[ip] >> 4;
  if (version === 4) {
    const ihl = (frame[ip] & 0x0f) * 4;
    if (ihl < 20 || frame[ip + 9] !== proto || (get16(frame, ip + 6) & 0x3fff) !== 0) {
      return -1;
    }
    return ip + ihl;
  }
  if (version === 6 && frame.length >= ip + 40 && frame[ip + 6] === proto) return ip + 40;
  return -1;
}

/**
 * Cuts the payload after `hdrEnd` into segments of `gsoSize` bytes, each preceded by a copy of
 * the headers written over bytes already handed on, with its IP length (and IPv4 ID and header
 * checksum) set; `finishL4(seg, offset, length)` completes the transport header, then `emit`
 * gets the segment. Returns the number of segments.
 */
function cut(
  frame: Uint8Array,
  ip: number,
  hdrEnd: number,
  gsoSize: number,
  finishL4: (seg: Uint8Array, offset: number, length: number, last: boolean) => void,
  emit: (frame: Uint8Array) => void,
): number {
  const payload = frame.length - hdrEnd;
  const v4 = frame[ip] >> 4 === 4;
  const template = frame.slice(0, hdrEnd);
  const id = v4 ? get16(frame, ip + 4) : 0;
  let frames = 0;
  for (let off = 0; off < payload; off += gsoSize) {
    const len = Math.min(gsoSize, payload - off);
    // Headers go right before this segment's payload, over bytes already handed on.
    if (off > 0) frame.set(template, off);
    const seg = frame.subarray(off, off + hdrEnd + len);
    if (v4) {
      put16(seg, ip + 2, hdrEnd - ip + len);
      put16(seg, ip + 4, (id + frames) & 0xffff);
      setIPv4HeaderChecksum(seg, ip);
    } else {
      put16(seg, ip + 4, hdrEnd - ip - 40 + len);
    }
    finishL4(seg, off, len, off + len >= payload);
    emit(seg);
    frames++;
  }
  return frames;
}

function segmentUdp(
  frame: Uint8Array,
  gsoSize: number,
  emit: (frame: Uint8Array) => void,
): number {
  const ip = ipOffset(frame);
  const udp = transportOffset(frame, ip, PROTO_UDP);
  if (udp < 0 || frame.length < udp + 8) return SegmentRefused.wrongProtocol;
  const hdrEnd = udp + 8;
  if (gsoSize === 0 || frame.length <= hdrEnd) return SegmentRefused.noPayload;
  return cut(frame, ip, hdrEnd, gsoSize, (seg, _off, len) => {
    put16(seg, udp + 4, 8 + len);
    seg[udp + 6] = 0;
    seg[udp + 7] = 0;
    const sum = pseudoHeaderSum(seg, ip, PROTO_UDP, 8 + len) + sumWords(seg, udp, seg.length);
    put16(seg, udp + 6, finish(sum) || 0xffff);
  }, emit);
}

function segmentTcp(
  frame: Uint8Array,
  gsoSize: number,
  emit: (frame: Uint8Array) => void,
): number {
  const ip = ipOffset(frame);
  const tcp = tcpOffset(frame, ip);
  if (tcp < 0) return SegmentRefused.wrongProtocol;
  const hdrEnd = tcp + (frame[tcp + 12] >> 4) * 4;
  if (gsoSize === 0 || frame.length <= hdrEnd) return SegmentRefused.noPayload;
  const seq = get32(frame, tcp + 4);
  const tcpFlags = frame[tcp + 13];
  return cut(frame, ip, hdrEnd, gsoSize, (seg, off, len, last) => {
    put32(seg, tcp + 4, (seq + off) >>> 0);
    let f = tcpFlags;
    if (!last) f &= ~(TCP_FIN | TCP_PSH);
    if (off > 0) f &= ~TCP_CWR;
    seg[tcp + 13] = f;
    seg[tcp + 16] = 0;
    seg[tcp + 17] = 0;
    const l4 = hdrEnd - tcp + len;
    put16(
      seg,
      tcp + 16,
      finish(pseudoHeaderSum(seg, ip, PROTO_TCP, l4) + sumWords(seg, tcp, seg.length)),
    );
  }, emit);
}
