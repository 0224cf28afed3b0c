/**
 * Sleeve forwarding decisions and aggregation (spec §4.2 "Aggregation", §4.4 step 6), as pure
 * code: which path a frame takes, and a reusable buffer that packs frames into one datagram.
 *
 * @module
 */
import { ipv4DontFragment, ipv4HeaderLength } from "./ipv4.ts";
import { FRAME_HEADER_SIZE, NAME_SIZE } from "./packet.ts";

/** Most frames packed into one datagram. */
export const MAX_BATCH_FRAMES = 100;
/** Ethernet header: frames are `mtu + 14` bytes at most. */
const ETHERNET_OVERHEAD = 14;

/** How a frame leaves a sleeve forwarder. */
export const Path = {
  /** On the DF path, as it is. */
  DF: 0,
  /** On the non-DF path (the IP stack may fragment the datagram). */
  NonDF: 1,
  /** On the DF path, after fragmenting the inner IPv4 packet in software. */
  Fragment: 2,
  /** Answered with ICMP "fragmentation needed" to its sender. */
  FragNeeded: 3,
  /** Dropped: a too-big DF frame of a broadcast. */
  Drop: 4,
} as const;
/** One of {@link Path}. */
export type Path = typeof Path[keyof typeof Path];

/**
 * The path for `frame` over a forwarder with overlay MTU `mtu` (§4.4 step 6): DF IPv4 frames
 * that fit go DF; too big, they are dropped when broadcast, else answered with frag-needed.
 * Other frames go non-DF when the stack fragments (`stackFrag`) or they are not IPv4; else DF,
 * fragmented in software when too big.
 *
 * @example
 * ```ts
 * import { choosePath, Path } from "./batch.ts";
 * choosePath(new Uint8Array(60), { mtu: 1438, stackFrag: false, fromBroadcast: true }) === Path.NonDF; // true (not IPv4)
 * ```
 */
export function choosePath(
  frame: Uint8Array,
  opts: { mtu: number; stackFrag: boolean; fromBroadcast: boolean },
): Path {
  const tooBig = frame.length > opts.mtu + ETHERNET_OVERHEAD;
  if (ipv4DontFragment(frame)) {
    if (!tooBig) return Path.DF;
    return opts.fromBroadcast ? Path.Drop : Path.FragNeeded;
  }
  if (opts.stackFrag || ipv4HeaderLength(frame) === 0) return Path.NonDF;
  return tooBig ? Path.Fragment : Path.DF;
}

/**
 * Frames waiting to leave as one datagram: `sender(6)` then `src(6) dst(6) len(2) frame` each,
 * in a buffer allocated once. `packetOverhead` is what the datagram adds around the frames (6
 * clear; 30 encrypted: name, seqNoAndDF and tag), so {@link FrameBatch.size} is the UDP
 * payload the batch will become.
 *
 * @example
 * ```ts
 * import { FrameBatch } from "./batch.ts";
 * const b = new FrameBatch(1500, 6);
 * const name = new Uint8Array(6);
 * b.append(name, name, new Uint8Array(60));
 * b.size; // 80
 * ```
 */
export class FrameBatch {
  /** Encoded frames from offset 6 (bytes 0..5 are left for the sender name). */
  readonly bytes: Uint8Array;
  /** Frames in the batch. */
  count = 0;
  /** End of the encoded frames in {@link bytes}. */
  end = NAME_SIZE;
  readonly #packetOverhead: number;

  constructor(capacity: number, packetOverhead: number) {
    if (!Number.isInteger(capacity) || capacity < NAME_SIZE + FRAME_HEADER_SIZE) {
      throw new RangeError(`Cannot create frame batch: capacity ${capacity} too small`);
    }
    this.bytes = new Uint8Array(capacity);
    this.#packetOverhead = packetOverhead;
  }

  /** The datagram size the batch would make now. */
  get size(): number {
    return this.#packetOverhead + this.end - NAME_SIZE;
  }

  /** True when a frame of `frameLength` bytes can join without the datagram exceeding `limit`. */
  fits(frameLength: number, limit: number): boolean {
    return this.count < MAX_BATCH_FRAMES &&
      this.size + FRAME_HEADER_SIZE + frameLength <= limit &&
      this.end + FRAME_HEADER_SIZE + frameLength <= this.bytes.length;
  }

  /** Appends a frame (copying it); the caller checked {@link fits}. */
  append(src: Uint8Array, dst: Uint8Array, frame: Uint8Array): void {
    const b = this.bytes;
    let p = this.end;
    for (let i = 0; i < NAME_SIZE; i++) b[p + i] = src[i];
    for (let i = 0; i < NAME_SIZE; i++) b[p + NAME_SIZE + i] = dst[i];
    b[p + 12] = frame.length >> 8;
    b[p + 13] = frame.length & 0xff;
    p += FRAME_HEADER_SIZE;
    b.set(frame, p);
    this.end = p + frame.length;
    this.count++;
  }

  /** Empties the batch. */
  clear(): void {
    this.count = 0;
    this.end = NAME_SIZE;
  }
}
