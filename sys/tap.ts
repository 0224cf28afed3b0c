/**
 * TAP devices through `/dev/net/tun`: the sleeve datapath's door into the weave bridge.
 *
 * `openTap` creates (or attaches to) a TAP device without packet-info header (IFF_NO_PI), so
 * each `read` returns exactly one Ethernet frame and each `write` injects one. The fd is
 * non-blocking: a reader drains frames with synchronous `read` until it returns 0, then awaits
 * {@link waitReadable} (a poll on a worker thread) instead of spinning. The device is
 * non-persistent: it disappears when its fd is closed. Measured: synchronous FFI `read` of a TAP
 * runs at ~300k frames/s.
 *
 * With `offload`, the device carries a `virtio_net_hdr` before every frame (`IFF_VNET_HDR`) and
 * tells the kernel it takes frames without checksums and TCP segments of up to 64 KiB
 * (`TUNSETOFFLOAD`), so that a container's TCP send reaches us in one read instead of ~45, and
 * lets us write such segments back; datapath/offload/ turns them into ordinary frames and back.
 *
 * @module
 */

import { FdOwner } from "./fd_owner.ts";
import {
  check,
  closeFd,
  Errno,
  errno,
  libc,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDWR,
  openPath,
  pollReadable,
  pollReadableAsync,
  sysError,
} from "./libc.ts";

const TUNSETIFF = 0x400454can;
const TUNSETOFFLOAD = 0x400454d0n;
const SIOCSIFMTU = 0x8922n;
const SIOCSIFTXQLEN = 0x8943n;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
/** TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN. */
const TAP_OFFLOADS = 0x1 | 0x2 | 0x4 | 0x8;
/** TUN_F_USO4 | TUN_F_USO6: UDP segmentation too (Linux ≥ 6.2; older kernels refuse the set). */
const TAP_UDP_OFFLOADS = 0x20 | 0x40;
const IFNAMSIZ = 16;
const IFREQ_SIZE = 40;
const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;

function ifreq(name: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(IFREQ_SIZE);
  const encoded = new TextEncoder().encode(name);
  if (encoded.length === 0 || encoded.length >= IFNAMSIZ) {
    throw new RangeError(`Cannot use interface name "${name}": want 1..15 bytes`);
  }
  bytes.set(encoded);
  return bytes;
}

/**
 * Frames the kernel queues for the reader of a TAP before it drops (the device's txqueuelen,
 * which sizes the tun ring). The kernel's 1000 is 25 ms of full-size frames at 0.5 Gbit/s:
 * a reader that is off the CPU that long (a GC pause, the other direction's burst) loses
 * frames, and every loss is a TCP retransmit in a container. 10000 frames hold more than a
 * TCP sender's default 4 MiB window, so a single stream is paced by its window, not by loss.
 */
export const TAP_TX_QUEUE_LENGTH = 10000;

/** An `ioctl` that takes an ifreq with one int after the name (MTU, queue length). */
function setIntIoctl(name: string, request: bigint, value: number, what: string): void {
  const req = ifreq(name);
  new DataView(req.buffer).setInt32(IFNAMSIZ, value, true);
  const c = libc();
  const fd = check(`set ${what} of "${name}"`, c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  try {
    check(`set ${what} ${value} on "${name}"`, c.ioctl(fd, request, req));
  } finally {
    closeFd(fd);
  }
}

/** An open TAP device. */
export class Tap extends FdOwner {
  /** The device name the kernel assigned. */
  readonly name: string;
  /** Every read and write starts with a 10-byte `virtio_net_hdr`. */
  readonly vnetHeader: boolean;
  /** The kernel agreed to send frames without checksums and large TCP segments. */
  readonly offloads: boolean;
  #lengthCache = 0;
  #lengthBig = 0n;

  /** Wraps an fd already attached with TUNSETIFF; use {@link openTap}. */
  constructor(fd: number, name: string, vnet = { header: false, offloads: false }) {
    super(fd);
    this.name = name;
    this.vnetHeader = vnet.header;
    this.offloads = vnet.offloads;
  }

  #len(n: number): bigint {
    if (n !== this.#lengthCache) [this.#lengthCache, this.#lengthBig] = [n, BigInt(n)];
    return this.#lengthBig;
  }

  /**
   * Reads one frame into `buf`; returns its length, or 0 when no frame is waiting (EAGAIN).
   * A frame longer than `buf` is truncated.
   */
  read(buf: Uint8Array<ArrayBuffer>): number {
    const n = Number(libc().read(this.fd, buf, this.#len(buf.length)));
    if (n >= 0) return n;
    const e = errno();
    if (e === Errno.EAGAIN || e === Errno.EINTR) return 0;
    throw sysError(`read from tap "${this.name}"`, e);
  }

  /** Writes one frame; returns bytes written, or 0 when the device would block (EAGAIN). */
  write(frame: Uint8Array<ArrayBuffer>): number {
    const n = Number(libc().write(this.fd, frame, BigInt(frame.length)));
    if (n >= 0) return n;
    const e = errno();
    if (e === Errno.EAGAIN || e === Errno.EINTR) return 0;
    throw sysError(`write to tap "${this.name}"`, e);
  }
}

/** Options of {@link openTap}. */
export interface OpenTapOptions {
  /** MTU to set; default the kernel's (1500). */
  mtu?: number;
  /** txqueuelen to set (frames queued for our reads); default {@link TAP_TX_QUEUE_LENGTH}. */
  txQueueLength?: number;
  /** vnet headers, and checksum and TCP segmentation offload when the kernel agrees. */
  offload?: boolean;
}

/**
 * Creates TAP device `name` (or attaches to an existing TAP of that name) in the calling
 * thread's namespace, setting its queue length and optionally its MTU. The device starts down;
 * bring it up and attach it to the bridge with sys/link.ts.
 *
 * @example
 * ```ts ignore
 * using tap = openTap("vethwe-pcap", { mtu: 65535 });
 * const frame = new Uint8Array(65535);
 * while (await waitReadable(tap.fd, 1000)) for (let n; (n = tap.read(frame)) > 0;) handle(frame.subarray(0, n));
 * ```
 */
export function openTap(name: string, options: OpenTapOptions = {}): Tap {
  const queue = options.txQueueLength ?? TAP_TX_QUEUE_LENGTH;
  if (!Number.isInteger(queue) || queue < 1 || queue > 0x7fffffff) {
    throw new RangeError(`Cannot create tap "${name}": txQueueLength ${queue} not a positive int`);
  }
  const req = ifreq(name);
  const vnet = options.offload === true;
  new DataView(req.buffer).setUint16(
    IFNAMSIZ,
    IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0),
    true,
  );
  const fd = openPath("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  try {
    check(`create tap "${name}"`, libc().ioctl(fd, TUNSETIFF, req));
    const nul = req.indexOf(0);
    const actual = new TextDecoder().decode(req.subarray(0, nul < 0 ? IFNAMSIZ : nul));
    if (options.mtu !== undefined) setIntIoctl(actual, SIOCSIFMTU, options.mtu, "MTU");
    setIntIoctl(actual, SIOCSIFTXQLEN, queue, "txqueuelen");
    const offload = (flags: number) => libc().ioctlValue(fd, TUNSETOFFLOAD, BigInt(flags)) === 0;
    const offloads = vnet && (offload(TAP_OFFLOADS | TAP_UDP_OFFLOADS) || offload(TAP_OFFLOADS));
    return new Tap(fd, actual, { header: vnet, offloads });
  } catch (e) {
    closeFd(fd);
    throw e;
  }
}

/** Blocks the JS thread up to `timeoutMs` until `fd` is readable; false on timeout. */
export function pollTap(fd: number, timeoutMs: number): boolean {
  return pollReadable(fd, timeoutMs);
}

/**
 * Resolves true when `fd` becomes readable (or reports an error to be seen by `read`), false
 * after `timeoutMs`; the wait runs on a worker thread, so the event loop keeps going.
 */
export function waitReadable(fd: number, timeoutMs: number): Promise<boolean> {
  return pollReadableAsync(fd, timeoutMs);
}
