/**
 * Test frames for the offload code: Ethernet + IPv4/IPv6 + TCP with real checksums, and the
 * checks tests make on what comes out.
 *
 * @module
 */
import {
  finish,
  get16,
  pseudoHeaderSum,
  put16,
  put32,
  setIPv4HeaderChecksum,
  sumWords,
} from "./checksum.ts";
import { ipOffset, tcpOffset } from "./segment.ts";

/** What a test TCP frame looks like. */
export interface TcpFrameSpec {
  v6?: boolean;
  seq?: number;
  /** TCP flags byte; ACK by default. */
  flags?: number;
  window?: number;
  id?: number;
  /** TCP option bytes (a multiple of 4). */
  options?: number[];
  payload: Uint8Array;
  /** Leave the TCP checksum field holding only the pseudo-header sum (checksum offload). */
  partial?: boolean;
  /** IPv4 addresses (default 10.32.0.1 → 10.32.0.2), ports (40000 → 5201), ACK number (777). */
  src?: number[];
  dst?: number[];
  srcPort?: number;
  dstPort?: number;
  ack?: number;
  /** MAC addresses (default 02:00:00:00:00:0a → 02:00:00:00:00:0b). */
  srcMac?: number[];
  dstMac?: number[];
}

const MAC_A = [2, 0, 0, 0, 0, 0xa];
const MAC_B = [2, 0, 0, 0, 0, 0xb];

/** A complete Ethernet/IP/TCP frame, by default 10.32.0.1:40000 → 10.32.0.2:5201 (or fd00::1/2). */
export function tcpFrame(spec: TcpFrameSpec): Uint8Array {
  const v6 = spec.v6 ?? false;
  const options = spec.options ?? [];
  const ipLen = v6 ? 40 : 20;
  const tcpLen = 20 + options.length;
  const f = new Uint8Array(14 + ipLen + tcpLen + spec.payload.length);
  f.set(spec.dstMac ?? MAC_B, 0);
  f.set(spec.srcMac ?? MAC_A, 6);
  put16(f, 12, v6 ? 0x86dd : 0x0800);
  const ip = 14;
  if (v6) {
    f[ip] = 0x60;
    put16(f, ip + 4, tcpLen + spec.payload.length);
    f[ip + 6] = 6;
    f[ip + 7] = 64;
    f.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], ip + 8);
    f.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], ip + 24);
  } else {
    f[ip] = 0x45;
    put16(f, ip + 2, f.length - ip);
    put16(f, ip + 4, spec.id ?? 0x1234);
    put16(f, ip + 6, 0x4000); // DF
    f[ip + 8] = 64;
    f[ip + 9] = 6;
    f.set(spec.src ?? [10, 32, 0, 1], ip + 12);
    f.set(spec.dst ?? [10, 32, 0, 2], ip + 16);
    setIPv4HeaderChecksum(f, ip);
  }
  const tcp = ip + ipLen;
  put16(f, tcp, spec.srcPort ?? 40000);
  put16(f, tcp + 2, spec.dstPort ?? 5201);
  put32(f, tcp + 4, spec.seq ?? 1000);
  put32(f, tcp + 8, spec.ack ?? 777);
  f[tcp + 12] = (tcpLen / 4) << 4;
  f[tcp + 13] = spec.flags ?? 0x10;
  put16(f, tcp + 14, spec.window ?? 512);
  f.set(options, tcp + 20);
  f.set(spec.payload, tcp + tcpLen);
  const pseudo = pseudoHeaderSum(f, ip, 6, f.length - tcp);
  if (spec.partial) {
    let s = pseudo;
    while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
    put16(f, tcp + 16, s);
  } else {
    put16(f, tcp + 16, finish(pseudo + sumWords(f, tcp, f.length)));
  }
  return f;
}

/** Bytes 0, 1, 2, … (mod 251, so no chunk repeats another). */
export function pattern(length: number, start = 0): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (start + i) % 251);
}

/** The TCP checksum of a complete frame verifies. */
export function tcpChecksumValid(frame: Uint8Array): boolean {
  const ip = ipOffset(frame);
  const tcp = tcpOffset(frame, ip);
  if (tcp < 0) return false;
  return finish(
    pseudoHeaderSum(frame, ip, 6, frame.length - tcp) + sumWords(frame, tcp, frame.length),
  ) === 0;
}

/** The IPv4 header checksum verifies (true for IPv6, which has none). */
export function ipChecksumValid(frame: Uint8Array): boolean {
  const ip = ipOffset(frame);
  if (frame[ip] >> 4 === 6) return true;
  return finish(sumWords(frame, ip, ip + (frame[ip] & 0x0f) * 4)) === 0;
}

/** Fields tests compare: sequence number, TCP flags, IPv4 ID, payload. */
export function tcpFields(frame: Uint8Array) {
  const ip = ipOffset(frame);
  const tcp = tcpOffset(frame, ip);
  const hdrEnd = tcp + (frame[tcp + 12] >> 4) * 4;
  return {
    seq: new DataView(frame.buffer, frame.byteOffset).getUint32(tcp + 4),
    flags: frame[tcp + 13],
    id: frame[ip] >> 4 === 4 ? get16(frame, ip + 4) : undefined,
    payload: frame.slice(hdrEnd),
  };
}

/** A vnet header (little-endian fields) in front of `frame`. */
export function withVnetHeader(
  frame: Uint8Array,
  h: {
    flags?: number;
    gsoType?: number;
    hdrLen?: number;
    gsoSize?: number;
    csumStart?: number;
    csumOffset?: number;
  },
): Uint8Array {
  const out = new Uint8Array(10 + frame.length);
  const v = new DataView(out.buffer);
  out[0] = h.flags ?? 0;
  out[1] = h.gsoType ?? 0;
  v.setUint16(2, h.hdrLen ?? 0, true);
  v.setUint16(4, h.gsoSize ?? 0, true);
  v.setUint16(6, h.csumStart ?? 0, true);
  v.setUint16(8, h.csumOffset ?? 0, true);
  out.set(frame, 10);
  return out;
}
