/**
 * AF_PACKET raw sockets bound to one interface: send and receive whole Ethernet frames on a
 * device, the way fastdp sends and receives heartbeats on a VXLAN device (frames with all-zero
 * MAC addresses, which a Linux bridge drops as invalid, are seen by packet taps first).
 *
 * A socket receives every frame that arrives on its interface unless it is given a classic BPF
 * filter; the filter is attached before the socket is bound, so no unfiltered frame is ever
 * queued. Frames the host itself sends on the interface are ignored (PACKET_IGNORE_OUTGOING,
 * Linux 4.20+). The socket is non-blocking: {@link PacketSocket.receive} returns `undefined`
 * when nothing is queued, and {@link pollReadableManyAsync} waits for several sockets at once
 * on one worker thread.
 *
 * The socket belongs to the network namespace that was current when it was created.
 *
 * @module
 */

import { FdOwner } from "./fd_owner.ts";
import {
  check,
  Errno,
  errno,
  libc,
  MSG_DONTWAIT,
  MSG_TRUNC,
  POLLIN,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOL_SOCKET,
  sysError,
} from "./libc.ts";

const AF_PACKET = 17;
/** Every protocol, in network byte order as `socket`/`bind` want it. */
const ETH_P_ALL_BE = 0x0300;
const SO_ATTACH_FILTER = 26;
const SOL_PACKET = 263;
const PACKET_IGNORE_OUTGOING = 23;
const SOCKADDR_LL_SIZE = 20;
const ETH_ALEN = 6;

/** One classic BPF instruction (`struct sock_filter`). */
export interface BpfInstruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** Options of {@link PacketSocket}. */
export interface PacketSocketOptions {
  /** Interface index to bind to (frames of other interfaces are never seen). */
  ifindex: number;
  /** Classic BPF program run on each received frame; returning 0 drops it. */
  filter?: readonly BpfInstruction[];
}

/**
 * Encodes a classic BPF program as the kernel's `struct sock_filter` array (8 bytes each).
 *
 * @example
 * ```ts
 * import { encodeBpf } from "./packet_socket.ts";
 * encodeBpf([{ code: 0x06, jt: 0, jf: 0, k: 0xffff }]); // 06 00 00 00 ff ff 00 00
 * ```
 */
export function encodeBpf(program: readonly BpfInstruction[]): Uint8Array<ArrayBuffer> {
  if (program.length === 0 || program.length > 4096) {
    throw new RangeError(
      `Cannot encode BPF program: ${program.length} instructions, expected 1..4096`,
    );
  }
  const bytes = new Uint8Array(program.length * 8);
  const view = new DataView(bytes.buffer);
  program.forEach((ins, i) => {
    const fits = (v: number, max: number) => Number.isInteger(v) && v >= 0 && v <= max;
    if (!fits(ins.code, 0xffff) || !fits(ins.jt, 0xff) || !fits(ins.jf, 0xff)) {
      throw new RangeError(`Cannot encode BPF instruction ${i}: field out of range`);
    }
    view.setUint16(i * 8, ins.code, true);
    view.setUint8(i * 8 + 2, ins.jt);
    view.setUint8(i * 8 + 3, ins.jf);
    view.setUint32(i * 8 + 4, ins.k >>> 0, true);
  });
  return bytes;
}

/**
 * Encodes `struct sockaddr_ll` for `ifindex` (protocol ETH_P_ALL), with an optional destination
 * MAC for sending.
 */
export function sockaddrLL(ifindex: number, mac?: Uint8Array): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(ifindex) || ifindex <= 0 || ifindex > 0x7fffffff) {
    throw new RangeError(`Cannot encode sockaddr_ll: ifindex ${ifindex} is not positive`);
  }
  const bytes = new Uint8Array(SOCKADDR_LL_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, AF_PACKET, true);
  view.setUint16(2, ETH_P_ALL_BE, true);
  view.setInt32(4, ifindex, true);
  if (mac) {
    bytes[11] = ETH_ALEN;
    bytes.set(mac.subarray(0, ETH_ALEN), 12);
  }
  return bytes;
}

/**
 * A raw packet socket on one interface.
 *
 * @example
 * ```ts ignore
 * import { PacketSocket } from "./packet_socket.ts";
 * using sock = new PacketSocket({ ifindex: 7 });
 * sock.send(frame);
 * const n = sock.receive(buffer); // undefined when nothing is queued
 * ```
 */
export class PacketSocket extends FdOwner {
  /** The interface the socket is bound to. */
  readonly ifindex: number;
  readonly #address: Uint8Array<ArrayBuffer>;

  /** Opens, filters and binds the socket; throws SysError (EPERM without CAP_NET_RAW). */
  constructor(options: PacketSocketOptions) {
    const c = libc();
    const op = `open packet socket on ifindex ${options.ifindex}`;
    // Protocol 0: nothing is queued until bind, so the filter applies from the first frame.
    super(check(op, c.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)));
    this.ifindex = options.ifindex;
    this.#address = sockaddrLL(options.ifindex);
    try {
      if (options.filter) this.#attachFilter(options.filter);
      const one = Uint8Array.of(1, 0, 0, 0);
      check(
        `ignore outgoing frames on ifindex ${options.ifindex}`,
        c.setsockopt(this.fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, one, 4),
      );
      check(
        `bind packet socket to ifindex ${options.ifindex}`,
        c.bind(this.fd, this.#address, 20),
      );
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /**
   * Sends one whole Ethernet frame out of the interface; throws SysError (ENETDOWN when the
   * interface is down, EMSGSIZE when the frame exceeds its MTU + 14).
   */
  send(frame: Uint8Array): void {
    if (this.fd < 0) throw new Error(`Cannot send on ifindex ${this.ifindex}: socket is closed`);
    const op = `send ${frame.length}-byte frame on ifindex ${this.ifindex}`;
    const address = sockaddrLL(this.ifindex, frame.subarray(0, ETH_ALEN));
    const data = frame as Uint8Array<ArrayBuffer>;
    const n = check(op, libc().sendto(this.fd, data, BigInt(frame.length), 0, address, 20));
    if (n !== frame.length) throw new Error(`Cannot ${op}: sent only ${n} bytes`);
  }

  /**
   * Reads the next queued frame into `buffer`; returns its full length (larger than the buffer
   * when it was truncated), or `undefined` when none is queued.
   */
  receive(buffer: Uint8Array<ArrayBuffer>): number | undefined {
    if (this.fd < 0) {
      throw new Error(`Cannot receive on ifindex ${this.ifindex}: socket is closed`);
    }
    const flags = MSG_DONTWAIT | MSG_TRUNC;
    const n = Number(libc().recv(this.fd, buffer, BigInt(buffer.length), flags));
    if (n >= 0) return n;
    const e = errno();
    if (e === Errno.EAGAIN || e === Errno.EINTR) return undefined;
    throw sysError(`receive on ifindex ${this.ifindex}`, e);
  }

  #attachFilter(program: readonly BpfInstruction[]): void {
    const code = encodeBpf(program);
    // struct sock_fprog { unsigned short len; (pad) struct sock_filter *filter; }
    const fprog = new Uint8Array(16);
    const view = new DataView(fprog.buffer);
    view.setUint16(0, program.length, true);
    view.setBigUint64(8, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(code))), true);
    check(
      `attach BPF filter on ifindex ${this.ifindex}`,
      libc().setsockopt(this.fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog, 16),
    );
  }
}

/**
 * Waits on a worker thread until at least one of `fds` is readable or `timeoutMs` passes;
 * returns the ready ones, i.e. readable or in error (a socket whose interface was deleted
 * reports an error, which its next receive throws); empty on timeout or interruption. The fds
 * must stay open until the promise settles.
 *
 * @example
 * ```ts ignore
 * const ready = await pollReadableManyAsync([a.fd, b.fd], 200);
 * ```
 */
export async function pollReadableManyAsync(
  fds: readonly number[],
  timeoutMs: number,
): Promise<number[]> {
  if (fds.length === 0) throw new RangeError("Cannot poll: no file descriptors given");
  const pfds = new Uint8Array(8 * fds.length);
  const view = new DataView(pfds.buffer);
  fds.forEach((fd, i) => {
    view.setInt32(i * 8, fd, true);
    view.setInt16(i * 8 + 4, POLLIN, true);
  });
  const n = await libc().pollAsync(pfds, BigInt(fds.length), Math.max(-1, Math.trunc(timeoutMs)));
  if (n <= 0) return [];
  return fds.filter((_, i) => view.getInt16(i * 8 + 6, true) !== 0);
}
