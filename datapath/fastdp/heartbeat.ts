/**
 * Fastdp heartbeat frames (spec §5.3): an Ethernet frame with all-zero MAC addresses and
 * EtherType, then the connection UID (u64 BE) and the frame's total length (u16 BE), zero-padded
 * to 14 + the datapath MTU. It travels through the VXLAN tunnel like any data frame, so a
 * heartbeat that arrives whole also proves that full-size frames get through.
 *
 * A receiver accepts a heartbeat only when the UID is its connection's and the embedded length
 * equals the received length.
 *
 * @module
 */
import type { BpfInstruction } from "../../sys/packet_socket.ts";

/** Destination MAC, source MAC and EtherType, all zero in a heartbeat. */
export const ETHERNET_HEADER_SIZE = 14;
/** Ethernet header, connection UID and length field. */
export const HEARTBEAT_HEADER_SIZE = ETHERNET_HEADER_SIZE + 8 + 2;
/** The largest total length the u16 field can carry. */
export const MAX_HEARTBEAT_LENGTH = 0xffff;

/** A decoded heartbeat. */
export interface Heartbeat {
  connUID: bigint;
  /** The frame's total length, as embedded in it. */
  length: number;
}

/**
 * The total length of a heartbeat for a datapath MTU: 14 + `mtu`.
 *
 * @example
 * ```ts
 * import { heartbeatLength } from "./heartbeat.ts";
 * heartbeatLength(1376); // 1390
 * ```
 */
export function heartbeatLength(mtu: number): number {
  const length = ETHERNET_HEADER_SIZE + mtu;
  if (!Number.isInteger(mtu) || length < HEARTBEAT_HEADER_SIZE || length > MAX_HEARTBEAT_LENGTH) {
    throw new RangeError(
      `Cannot size heartbeat: MTU ${mtu} is not an integer in ${
        HEARTBEAT_HEADER_SIZE - ETHERNET_HEADER_SIZE
      }..${MAX_HEARTBEAT_LENGTH - ETHERNET_HEADER_SIZE}`,
    );
  }
  return length;
}

function checkUID(connUID: bigint): void {
  if (connUID < 0n || connUID > 0xffff_ffff_ffff_ffffn) {
    throw new RangeError(`Cannot encode heartbeat: connection UID ${connUID} is not a u64`);
  }
}

/**
 * Writes a heartbeat of `hb.length` bytes (padding included) at `offset`; returns the offset
 * after it.
 *
 * @example
 * ```ts
 * import { encodeHeartbeat } from "./heartbeat.ts";
 * const frame = new Uint8Array(1390);
 * encodeHeartbeat({ connUID: 7n, length: 1390 }, frame, 0); // 1390
 * frame[21]; // 7
 * ```
 */
export function encodeHeartbeat(hb: Heartbeat, bytes: Uint8Array, offset = 0): number {
  checkUID(hb.connUID);
  const { length } = hb;
  if (!Number.isInteger(length) || length < HEARTBEAT_HEADER_SIZE || length > 0xffff) {
    throw new RangeError(
      `Cannot encode heartbeat: length ${length} is not in ${HEARTBEAT_HEADER_SIZE}..65535`,
    );
  }
  if (!Number.isInteger(offset) || offset < 0 || offset + length > bytes.length) {
    throw new RangeError(
      `Cannot encode heartbeat: need ${length} bytes at offset ${offset}, buffer is ${bytes.length}`,
    );
  }
  bytes.fill(0, offset, offset + length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setBigUint64(offset + ETHERNET_HEADER_SIZE, hb.connUID);
  view.setUint16(offset + ETHERNET_HEADER_SIZE + 8, length);
  return offset + length;
}

/**
 * A fresh heartbeat frame for `connUID`, padded to 14 + `mtu` bytes.
 *
 * @example
 * ```ts
 * import { heartbeatFrame } from "./heartbeat.ts";
 * heartbeatFrame(1n, 1376).length; // 1390
 * ```
 */
export function heartbeatFrame(connUID: bigint, mtu: number): Uint8Array<ArrayBuffer> {
  const length = heartbeatLength(mtu);
  const frame = new Uint8Array(length);
  encodeHeartbeat({ connUID, length }, frame, 0);
  return frame;
}

/** True when the first 14 bytes (both MACs and the EtherType) are zero: a special frame. */
export function isSpecialFrame(bytes: Uint8Array, offset = 0): boolean {
  if (offset < 0 || offset + ETHERNET_HEADER_SIZE > bytes.length) return false;
  for (let i = offset; i < offset + ETHERNET_HEADER_SIZE; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * Reads a heartbeat at `offset`; the next offset is `offset` + its embedded length. Throws
 * SyntaxError when the Ethernet header is not all zero, RangeError when it is truncated or its
 * length field is below the header size or beyond the input.
 *
 * @example
 * ```ts
 * import { decodeHeartbeat, heartbeatFrame } from "./heartbeat.ts";
 * decodeHeartbeat(heartbeatFrame(9n, 100), 0).value; // { connUID: 9n, length: 114 }
 * ```
 */
export function decodeHeartbeat(
  bytes: Uint8Array,
  offset = 0,
): { value: Heartbeat; offset: number } {
  if (!Number.isInteger(offset) || offset < 0 || offset + HEARTBEAT_HEADER_SIZE > bytes.length) {
    throw new RangeError(
      `Cannot decode heartbeat: need ${HEARTBEAT_HEADER_SIZE} bytes at offset ${offset}, have ${
        Math.max(0, bytes.length - Math.max(0, Math.trunc(offset) || 0))
      }`,
    );
  }
  if (!isSpecialFrame(bytes, offset)) {
    throw new SyntaxError("Cannot decode heartbeat: Ethernet addresses and type are not all zero");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const connUID = view.getBigUint64(offset + ETHERNET_HEADER_SIZE);
  const length = view.getUint16(offset + ETHERNET_HEADER_SIZE + 8);
  if (length < HEARTBEAT_HEADER_SIZE || offset + length > bytes.length) {
    throw new RangeError(
      `Cannot decode heartbeat: length field ${length} is outside ${HEARTBEAT_HEADER_SIZE}..${
        bytes.length - offset
      }`,
    );
  }
  return { value: { connUID, length }, offset: offset + length };
}

/**
 * Why a received frame is not a valid heartbeat of connection `connUID`, or `undefined` when it
 * is: the UID must match and the embedded length must equal the frame's length.
 *
 * @example
 * ```ts
 * import { heartbeatFrame, heartbeatMismatch } from "./heartbeat.ts";
 * heartbeatMismatch(heartbeatFrame(5n, 1376), 5n); // undefined
 * heartbeatMismatch(heartbeatFrame(5n, 1376).subarray(0, 1000), 5n); // "length field 1390 ..."
 * ```
 */
export function heartbeatMismatch(frame: Uint8Array, connUID: bigint): string | undefined {
  if (frame.length < HEARTBEAT_HEADER_SIZE) {
    return `frame of ${frame.length} bytes is shorter than a heartbeat header`;
  }
  if (!isSpecialFrame(frame)) return "Ethernet header is not all zero";
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const uid = view.getBigUint64(ETHERNET_HEADER_SIZE);
  const length = view.getUint16(ETHERNET_HEADER_SIZE + 8);
  if (uid !== connUID) return `connection UID ${uid} is not ours (${connUID})`;
  if (length !== frame.length) {
    return `length field ${length} but ${frame.length} bytes arrived (MTU mismatch or truncation)`;
  }
  return undefined;
}

/** The connection UID of a special frame long enough to hold one, else `undefined`. */
export function heartbeatUID(frame: Uint8Array): bigint | undefined {
  if (frame.length < HEARTBEAT_HEADER_SIZE || !isSpecialFrame(frame)) return undefined;
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
    .getBigUint64(ETHERNET_HEADER_SIZE);
}

const BPF_LD_W_ABS = 0x20;
const BPF_LD_H_ABS = 0x28;
const BPF_JEQ_K = 0x15;
const BPF_RET_K = 0x06;
/** Bytes of a frame a packet socket keeps (more than any MTU). */
const BPF_ACCEPT_BYTES = 0x40000;

/**
 * A classic BPF program that accepts only frames whose first 14 bytes are zero (heartbeats and
 * other special frames), so a packet socket on a VXLAN device never copies data traffic.
 */
export const SPECIAL_FRAME_FILTER: readonly BpfInstruction[] = [
  { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: 0 },
  { code: BPF_JEQ_K, jt: 0, jf: 7, k: 0 },
  { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: 4 },
  { code: BPF_JEQ_K, jt: 0, jf: 5, k: 0 },
  { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: 8 },
  { code: BPF_JEQ_K, jt: 0, jf: 3, k: 0 },
  { code: BPF_LD_H_ABS, jt: 0, jf: 0, k: 12 },
  { code: BPF_JEQ_K, jt: 0, jf: 1, k: 0 },
  { code: BPF_RET_K, jt: 0, jf: 0, k: BPF_ACCEPT_BYTES },
  { code: BPF_RET_K, jt: 0, jf: 0, k: 0 },
];
