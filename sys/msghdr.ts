/**
 * `struct msghdr` for `sendmsg`/`recvmsg` with one iovec, a `sockaddr_in` and one control
 * message: what UDP segmentation offload needs (Linux x86_64 layout).
 *
 * - Sending, {@link MessageHeader.prepareSend} names the destination and, for a train of
 *   equal-sized datagrams in one buffer, adds the `UDP_SEGMENT` control message with the
 *   datagram size: the kernel cuts the buffer into datagrams after routing, so a train of 40
 *   datagrams costs one system call and one trip through the stack instead of 40.
 * - Receiving with `UDP_GRO` on, the kernel may hand over several datagrams of one sender
 *   glued together; {@link MessageHeader.receivedSegmentSize} reads their size from the
 *   `UDP_GRO` control message (0 when absent: one datagram).
 *
 * The header, iovec, address and control buffer live in one `ArrayBuffer` whose address never
 * moves, since the header holds pointers to its own parts; the data buffer's address is given
 * per call. Everything here is byte layout: the system calls are in sys/udp.ts, and the base
 * address is injectable, so the layout is tested without FFI.
 *
 * @module
 */

/** `SOL_UDP`. */
export const SOL_UDP = 17;
/** Control message (and socket option) carrying the segment size of a GSO send. */
export const UDP_SEGMENT = 103;
/** Socket option enabling receive coalescing; also its control message type. */
export const UDP_GRO = 104;
/** Most datagrams one `UDP_SEGMENT` send may carry (the kernel's `UDP_MAX_SEGMENTS` before 6.x). */
export const UDP_MAX_SEGMENTS = 64;
/** `MSG_TRUNC` in `msg_flags`: the datagram was longer than the buffer. */
const MSG_TRUNC = 0x20;

const MSGHDR_SIZE = 56;
const IOVEC_OFFSET = 64;
const NAME_OFFSET = 80;
const NAME_SIZE = 16;
const CONTROL_OFFSET = 96;
const CONTROL_SIZE = 64;
const CMSG_HEADER = 16;
/** `CMSG_SPACE(sizeof(u16))`: one UDP_SEGMENT message. */
const SEGMENT_CONTROL_SPACE = 24;

/** The address of a buffer's first byte, as FFI sees it. */
export type PointerOf = (buffer: Uint8Array<ArrayBuffer>) => bigint;

/** The real {@link PointerOf}, through `Deno.UnsafePointer`. */
export const ffiPointerOf: PointerOf = (buffer) => {
  const p = Deno.UnsafePointer.of(buffer.buffer);
  return BigInt(Deno.UnsafePointer.value(p)) + BigInt(buffer.byteOffset);
};

/**
 * One reusable `msghdr` and the memory it points to.
 *
 * @example
 * ```ts ignore
 * const msg = new MessageHeader();
 * msg.prepareSend(ffiPointerOf(train), length, to.sockaddr, 1402);
 * libc().sendmsg(fd, msg.header, 0);
 * ```
 */
export class MessageHeader {
  /** The `msghdr` to pass to the system call. */
  readonly header: Uint8Array<ArrayBuffer>;
  readonly #view: DataView;
  readonly #base: bigint;

  constructor(pointerOf: PointerOf = ffiPointerOf) {
    const memory = new ArrayBuffer(CONTROL_OFFSET + CONTROL_SIZE);
    this.header = new Uint8Array(memory, 0, MSGHDR_SIZE);
    this.#view = new DataView(memory);
    this.#base = pointerOf(new Uint8Array(memory));
  }

  /**
   * A send of `length` bytes at address `data` to `sockaddr` (16 bytes), cut into datagrams of
   * `segmentSize` bytes when it is > 0 (the last may be shorter).
   */
  prepareSend(data: bigint, length: number, sockaddr: Uint8Array, segmentSize: number): void {
    const v = this.#view;
    new Uint8Array(v.buffer, NAME_OFFSET, NAME_SIZE).set(sockaddr.subarray(0, NAME_SIZE));
    this.#setCommon(data, length);
    if (segmentSize > 0) {
      v.setBigUint64(CONTROL_OFFSET, BigInt(CMSG_HEADER + 2), true);
      v.setInt32(CONTROL_OFFSET + 8, SOL_UDP, true);
      v.setInt32(CONTROL_OFFSET + 12, UDP_SEGMENT, true);
      v.setUint16(CONTROL_OFFSET + 16, segmentSize, true);
      v.setBigUint64(32, this.#base + BigInt(CONTROL_OFFSET), true);
      v.setBigUint64(40, BigInt(SEGMENT_CONTROL_SPACE), true);
    } else {
      v.setBigUint64(32, 0n, true);
      v.setBigUint64(40, 0n, true);
    }
  }

  /** A receive into `capacity` bytes at address `data`, with room for the sender and a cmsg. */
  prepareReceive(data: bigint, capacity: number): void {
    const v = this.#view;
    this.#setCommon(data, capacity);
    v.setBigUint64(32, this.#base + BigInt(CONTROL_OFFSET), true);
    v.setBigUint64(40, BigInt(CONTROL_SIZE), true);
  }

  #setCommon(data: bigint, length: number): void {
    const v = this.#view;
    v.setBigUint64(0, this.#base + BigInt(NAME_OFFSET), true);
    v.setUint32(8, NAME_SIZE, true);
    v.setBigUint64(16, this.#base + BigInt(IOVEC_OFFSET), true);
    v.setBigUint64(24, 1n, true);
    v.setInt32(48, 0, true);
    v.setBigUint64(IOVEC_OFFSET, data, true);
    v.setBigUint64(IOVEC_OFFSET + 8, BigInt(length), true);
  }

  /**
   * After a receive: the size of the coalesced datagrams (`UDP_GRO` control message), or 0 when
   * the buffer holds one datagram. Malformed control data reads as 0.
   */
  receivedSegmentSize(): number {
    const v = this.#view;
    const length = Number(v.getBigUint64(40, true));
    let at = 0;
    while (at + CMSG_HEADER <= length && at + CMSG_HEADER <= CONTROL_SIZE) {
      const cmsgLength = Number(v.getBigUint64(CONTROL_OFFSET + at, true));
      if (cmsgLength < CMSG_HEADER || at + cmsgLength > CONTROL_SIZE) return 0;
      const level = v.getInt32(CONTROL_OFFSET + at + 8, true);
      const type = v.getInt32(CONTROL_OFFSET + at + 12, true);
      if (level === SOL_UDP && type === UDP_GRO && cmsgLength >= CMSG_HEADER + 2) {
        // The kernel writes an int; its low half is the whole value (segments < 64 KiB).
        const size = cmsgLength >= CMSG_HEADER + 4
          ? v.getInt32(CONTROL_OFFSET + at + CMSG_HEADER, true)
          : v.getUint16(CONTROL_OFFSET + at + CMSG_HEADER, true);
        return size > 0 ? size : 0;
      }
      at += (cmsgLength + 7) & ~7;
    }
    return 0;
  }

  /** After a receive: the datagram did not fit the buffer. */
  get truncated(): boolean {
    return (this.#view.getInt32(48, true) & MSG_TRUNC) !== 0;
  }

  /** After a receive: the sender's address, big-endian u32. */
  get fromIp(): number {
    return this.#view.getUint32(NAME_OFFSET + 4);
  }

  /** After a receive: the sender's port. */
  get fromPort(): number {
    return this.#view.getUint16(NAME_OFFSET + 2);
  }

  /** Control bytes, for tests that play the kernel. */
  get control(): Uint8Array {
    return new Uint8Array(this.#view.buffer, CONTROL_OFFSET, CONTROL_SIZE);
  }

  /** The sender address area, for tests that play the kernel. */
  get name(): Uint8Array {
    return new Uint8Array(this.#view.buffer, NAME_OFFSET, NAME_SIZE);
  }
}
