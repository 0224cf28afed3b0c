/**
 * An IPv4 UDP socket over libc FFI, for the sleeve datapath.
 *
 * Why not `Deno.listenDatagram` or `node:dgram`: neither exposes the don't-fragment choice,
 * EMSGSIZE or `IP_MTU`, which sleeve's path-MTU discovery needs (spec §4.1), and both allocate
 * per datagram. Measured on this machine kind: FFI `recv` ~67k datagrams/s against ~27k for
 * Deno's UDP API.
 *
 * Design:
 * - One socket, bound to the mesh port, `IP_MTU_DISCOVER = IP_PMTUDISC_DONT` by default, so the
 *   kernel fragments and never sets DF. Weave sends its DF traffic over a separate raw socket
 *   per forwarder; here the choice is made **per send** on the one socket: {@link UdpSocket.sendTo}
 *   switches the socket to `IP_PMTUDISC_DO` (and back) only when the path differs from the
 *   previous send, so a stream on one path costs no extra system call. The source port stays the
 *   mesh port on both paths, which the remote needs to learn our address from heartbeats.
 * - A DF send larger than the known path MTU fails with EMSGSIZE; {@link UdpSocket.pathMtu}
 *   then reads the kernel's `IP_MTU` towards that address. `IP_MTU` needs a connected socket,
 *   so a second socket, opened with the first (hence in the same network namespace), is
 *   connected to the address on demand; it has an ephemeral port that nobody sends to and is
 *   never read. It sees the same route and the same learned PMTU exceptions.
 * - Sends and receives are non-blocking and use caller-owned buffers; the receive loop
 *   ({@link UdpSocket.startReceiving}) drains with `recvfrom` until EAGAIN and then waits with
 *   `poll` on a worker thread (never spinning). The sender of the last datagram is kept as two
 *   numbers, so receiving allocates nothing per datagram but the view handed to the callback.
 * - Segmentation offload, where the kernel has it (Linux ≥ 4.18 to send, ≥ 5.0 to receive):
 *   {@link UdpSocket.sendSegments} hands the kernel a train of equal-sized datagrams for one
 *   destination in one `sendmsg` (`UDP_SEGMENT`), and a socket opened with `coalesce` reads
 *   datagrams of one sender that the kernel glued together (`UDP_GRO`) with one `recvmsg`,
 *   handing them to the callback one by one. Each system call is expensive on a virtual
 *   machine; measured in bench/README.md. Peers see ordinary datagrams either way.
 *
 * @module
 */

import { ffiPointerOf, MessageHeader, SOL_UDP, UDP_GRO, UDP_MAX_SEGMENTS } from "./msghdr.ts";
import {
  Errno,
  errno,
  libc,
  pollReadableAsync,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOL_SOCKET,
  sysError,
} from "./libc.ts";

const AF_INET = 2;
const SO_REUSEADDR = 2;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
const IPPROTO_IP = 0;
const IP_MTU_DISCOVER = 10;
const IP_MTU = 14;
const IP_PMTUDISC_DONT = 0;
const IP_PMTUDISC_DO = 2;
const SHUT_RDWR = 2;
const SOCKADDR_IN_SIZE = 16;
/** Datagrams drained per wake-up before the event loop gets a turn. */
const DRAIN_BATCH = 256;
/** Longest single wait of the receive loop; bounds the stop latency if shutdown cannot wake it. */
const POLL_MS = 1000;
/** Largest UDP payload over IPv4. */
export const MAX_UDP_PAYLOAD = 65507;

/** An IPv4 UDP address with its `sockaddr_in` encoding, built once and reused for every send. */
export class UdpAddr {
  /** Dotted-quad address. */
  readonly hostname: string;
  readonly port: number;
  /** The address as a big-endian u32. */
  readonly ip: number;
  /** `struct sockaddr_in` (16 bytes). */
  readonly sockaddr: Uint8Array<ArrayBuffer>;

  constructor(hostname: string, port: number) {
    const ip = parseIPv4(hostname);
    if (ip === undefined) {
      throw new TypeError(`Cannot make UDP address: "${hostname}" is not an IPv4 address`);
    }
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`Cannot make UDP address: port ${port} not in 0..65535`);
    }
    this.hostname = hostname;
    this.port = port;
    this.ip = ip;
    this.sockaddr = new Uint8Array(SOCKADDR_IN_SIZE);
    const view = new DataView(this.sockaddr.buffer);
    view.setUint16(0, AF_INET, true);
    view.setUint16(2, port);
    view.setUint32(4, ip);
  }

  /** Builds the address from a big-endian u32 and a port (a received sender). */
  static fromNumbers(ip: number, port: number): UdpAddr {
    return new UdpAddr(formatIPv4(ip), port);
  }

  /** True when this is `ip:port`. */
  is(ip: number, port: number): boolean {
    return this.ip === ip && this.port === port;
  }

  /** `ip:port`. */
  toString(): string {
    return `${this.hostname}:${this.port}`;
  }
}

/**
 * `"192.0.2.1"` → `0xc0000201`; also accepts `::ffff:`-mapped forms; undefined when not IPv4.
 *
 * @example
 * ```ts
 * import { parseIPv4 } from "./udp.ts";
 * parseIPv4("10.0.0.1"); // 167772161
 * ```
 */
export function parseIPv4(text: string): number | undefined {
  const plain = text.startsWith("::ffff:") ? text.slice(7) : text;
  const parts = plain.split(".");
  if (parts.length !== 4) return undefined;
  let ip = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    ip = ip * 256 + Number(part);
  }
  return ip;
}

/**
 * `0xc0000201` → `"192.0.2.1"`.
 *
 * @example
 * ```ts
 * import { formatIPv4 } from "./udp.ts";
 * formatIPv4(0x7f000001); // "127.0.0.1"
 * ```
 */
export function formatIPv4(ip: number): string {
  return `${(ip >>> 24) & 255}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** Options of {@link UdpSocket.open}. */
export interface UdpSocketOptions {
  /** Local IPv4 address; default `0.0.0.0`. */
  host?: string;
  /** Local port; 0 picks a free one. */
  port: number;
  /** Sets SO_REUSEADDR before binding (default false). */
  reuseAddr?: boolean;
  /**
   * Receive buffer to ask for (bytes; the kernel doubles it for bookkeeping). Tried with
   * `SO_RCVBUFFORCE` (root: past `net.core.rmem_max`), else `SO_RCVBUF` (capped by that
   * sysctl). Default: the kernel's `rmem_default`.
   */
  receiveBufferBytes?: number;
  /** Send buffer to ask for, as {@link receiveBufferBytes} (`SO_SNDBUFFORCE`, `SO_SNDBUF`). */
  sendBufferBytes?: number;
  /**
   * Asks the kernel to coalesce received datagrams (`UDP_GRO`); the receive loop splits them
   * again. Ignored where the kernel lacks it ({@link UdpSocket.coalescing} tells).
   */
  coalesce?: boolean;
}

/** Called for each received datagram; `bytes` is a view of a reused buffer, valid during the call. */
export type DatagramHandler = (bytes: Uint8Array, fromIp: number, fromPort: number) => void;

/**
 * A bound, non-blocking IPv4 UDP socket.
 *
 * @example
 * ```ts ignore
 * import { UdpAddr, UdpSocket } from "./udp.ts";
 * using s = UdpSocket.open({ host: "127.0.0.1", port: 0 });
 * s.sendTo(new Uint8Array([1, 2, 3]), 3, new UdpAddr("127.0.0.1", s.port), false);
 * ```
 */
export class UdpSocket {
  #fd: number;
  /** The unbound socket connected on demand to read IP_MTU. */
  #probeFd: number;
  /** The bound port (the kernel's choice when 0 was asked for). */
  readonly port: number;
  /** True while the socket is in IP_PMTUDISC_DO mode. */
  #df = false;
  #receiving: Promise<void> | null = null;
  #closing = false;
  readonly #from = new Uint8Array(SOCKADDR_IN_SIZE);
  readonly #fromView = new DataView(this.#from.buffer);
  readonly #fromLen = new Uint32Array(1);
  readonly #fromLenBytes = new Uint8Array(this.#fromLen.buffer);
  readonly #int = new Int32Array(1);
  readonly #intBytes = new Uint8Array(this.#int.buffer);
  readonly #intLen = new Uint32Array(1);
  readonly #intLenBytes = new Uint8Array(this.#intLen.buffer);
  /** The last send length and its bigint (FFI size_t), to skip a BigInt per send. */
  #sendLen = 0;
  #sendLenBig = 0n;
  #recvLen = 0;
  #recvLenBig = 0n;
  /** The msghdr of segmented sends and coalesced receives (made on first use). */
  #msg: MessageHeader | null = null;
  /** The last buffer given to sendSegments and its address. */
  #sendBuf: Uint8Array | null = null;
  #sendBufAddress = 0n;
  /** True when the kernel coalesces received datagrams (UDP_GRO accepted). */
  readonly coalescing: boolean;
  /** Receive-loop system calls that returned data (fewer than datagrams when coalescing). */
  receiveCalls = 0;

  private constructor(fd: number, probeFd: number, port: number, coalescing: boolean) {
    this.#fd = fd;
    this.#probeFd = probeFd;
    this.port = port;
    this.coalescing = coalescing;
  }

  /** Opens and binds a socket in the calling thread's network namespace; throws SysError. */
  static open(options: UdpSocketOptions): UdpSocket {
    const host = options.host ?? "0.0.0.0";
    const local = new UdpAddr(host, options.port);
    const s = libc();
    const fd = s.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw sysError("open UDP socket", errno());
    const probeFd = s.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (probeFd < 0) {
      const e = errno();
      s.close(fd);
      throw sysError("open UDP socket for IP_MTU", e);
    }
    try {
      if (options.reuseAddr) setIntOpt(fd, SOL_SOCKET, SO_REUSEADDR, 1, "set SO_REUSEADDR");
      if (options.receiveBufferBytes !== undefined) {
        setBufferSize(fd, SO_RCVBUFFORCE, SO_RCVBUF, options.receiveBufferBytes, "receive");
      }
      if (options.sendBufferBytes !== undefined) {
        setBufferSize(fd, SO_SNDBUFFORCE, SO_SNDBUF, options.sendBufferBytes, "send");
      }
      setIntOpt(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT, "set IP_MTU_DISCOVER");
      if (s.bind(fd, local.sockaddr, SOCKADDR_IN_SIZE) < 0) {
        throw sysError(`bind UDP socket to ${local}`, errno());
      }
      const name = new Uint8Array(SOCKADDR_IN_SIZE);
      const len = new Uint32Array([SOCKADDR_IN_SIZE]);
      if (s.getsockname(fd, name, new Uint8Array(len.buffer)) < 0) {
        throw sysError("read UDP socket name", errno());
      }
      const coalescing = options.coalesce === true && trySetIntOpt(fd, SOL_UDP, UDP_GRO, 1);
      return new UdpSocket(fd, probeFd, new DataView(name.buffer).getUint16(2), coalescing);
    } catch (e) {
      s.close(fd);
      s.close(probeFd);
      throw e;
    }
  }

  /** The file descriptor (-1 once closed). */
  get fd(): number {
    return this.#fd;
  }

  /**
   * Sends `buf[0, length)` to `to`, with DF set when `df`. Returns the bytes sent, or the
   * negated errno (e.g. `-Errno.EMSGSIZE`, `-Errno.EAGAIN`) without throwing: this is the hot
   * path, and every failure is a normal event there.
   */
  sendTo(buf: Uint8Array<ArrayBuffer>, length: number, to: UdpAddr, df: boolean): number {
    if (this.#fd < 0) return -Errno.EBADF;
    const set = this.#setDF(df);
    if (set < 0) return set;
    if (length !== this.#sendLen) [this.#sendLen, this.#sendLenBig] = [length, BigInt(length)];
    const n = Number(
      libc().sendto(this.#fd, buf, this.#sendLenBig, 0, to.sockaddr, SOCKADDR_IN_SIZE),
    );
    return n >= 0 ? n : -errno();
  }

  /**
   * Sends `buf[0, length)` to `to` as datagrams of `segmentSize` bytes each (the last may be
   * shorter; at most {@link UDP_MAX_SEGMENTS}), in one system call, with DF set when `df`.
   * Returns the bytes sent or the negated errno: `-EIO` where the route cannot segment (no
   * checksum offload, IPsec), `-EMSGSIZE` when a datagram would not fit the path MTU, `-EINVAL`
   * or `-ENOPROTOOPT` on kernels without UDP segmentation; the caller then sends them one by one.
   */
  sendSegments(
    buf: Uint8Array<ArrayBuffer>,
    length: number,
    segmentSize: number,
    to: UdpAddr,
    df: boolean,
  ): number {
    if (this.#fd < 0) return -Errno.EBADF;
    if (segmentSize < 1 || length > segmentSize * UDP_MAX_SEGMENTS) return -Errno.EINVAL;
    const set = this.#setDF(df);
    if (set < 0) return set;
    if (buf !== this.#sendBuf) [this.#sendBuf, this.#sendBufAddress] = [buf, ffiPointerOf(buf)];
    const msg = this.#msg ??= new MessageHeader();
    msg.prepareSend(this.#sendBufAddress, length, to.sockaddr, segmentSize);
    const n = Number(libc().sendmsg(this.#fd, msg.header, 0));
    return n >= 0 ? n : -errno();
  }

  /** Switches the socket between DF and non-DF sends; 0 or the negated errno. */
  #setDF(df: boolean): number {
    if (df === this.#df) return 0;
    this.#int[0] = df ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT;
    const r = libc().setsockopt(this.#fd, IPPROTO_IP, IP_MTU_DISCOVER, this.#intBytes, 4);
    if (r < 0) return -errno();
    this.#df = df;
    return 0;
  }

  /**
   * Reads one datagram into `buf` without blocking; returns its length, or -1 when none is
   * waiting. The sender is then in {@link lastFromIp} / {@link lastFromPort}.
   */
  receive(buf: Uint8Array<ArrayBuffer>): number {
    if (this.#fd < 0) return -1;
    this.#fromLen[0] = SOCKADDR_IN_SIZE;
    if (buf.length !== this.#recvLen) {
      [this.#recvLen, this.#recvLenBig] = [buf.length, BigInt(buf.length)];
    }
    const n = Number(
      libc().recvfrom(this.#fd, buf, this.#recvLenBig, 0, this.#from, this.#fromLenBytes),
    );
    // EAGAIN/EINTR: nothing waiting. Other errors cannot come from an unconnected, bound UDP
    // socket in normal operation; they also mean "nothing this time".
    return n >= 0 ? n : -1;
  }

  /** The kernel's receive and send buffer sizes (`SO_RCVBUF`, `SO_SNDBUF`: twice what was set). */
  bufferSizes(): { receive: number; send: number } {
    if (this.#fd < 0) throw sysError("read UDP socket buffer sizes", Errno.EBADF);
    const get = (name: number) => {
      this.#intLen[0] = 4;
      if (libc().getsockopt(this.#fd, SOL_SOCKET, name, this.#intBytes, this.#intLenBytes) < 0) {
        throw sysError("read UDP socket buffer size", errno());
      }
      return this.#int[0];
    };
    return { receive: get(SO_RCVBUF), send: get(SO_SNDBUF) };
  }

  /** Sender address (big-endian u32) of the last datagram {@link receive} returned. */
  get lastFromIp(): number {
    return this.#fromView.getUint32(4);
  }

  /** Sender port of the last datagram {@link receive} returned. */
  get lastFromPort(): number {
    return this.#fromView.getUint16(2);
  }

  /**
   * The kernel's path MTU towards `to` (`IP_MTU`), including any PMTU learned from ICMP.
   * Throws SysError when there is no route.
   */
  pathMtu(to: UdpAddr): number {
    const s = libc();
    if (this.#probeFd < 0) throw sysError(`read IP_MTU towards ${to}`, Errno.EBADF);
    if (s.connect(this.#probeFd, to.sockaddr, SOCKADDR_IN_SIZE) < 0) {
      throw sysError(`connect to ${to} to read IP_MTU`, errno());
    }
    this.#intLen[0] = 4;
    if (s.getsockopt(this.#probeFd, IPPROTO_IP, IP_MTU, this.#intBytes, this.#intLenBytes) < 0) {
      throw sysError(`read IP_MTU towards ${to}`, errno());
    }
    return this.#int[0];
  }

  /**
   * Starts the receive loop: every datagram goes to `handler` (exceptions it throws are passed
   * to `onError`, and the loop goes on). One loop per socket; it ends on {@link close}.
   */
  startReceiving(
    handler: DatagramHandler,
    options: { bufferSize?: number; onError?: (e: unknown) => void } = {},
  ): void {
    if (this.#receiving) throw new Error("Cannot start UDP receive loop: already running");
    if (this.#fd < 0) throw new Error("Cannot start UDP receive loop: socket closed");
    // Coalesced datagrams fill up to 64 KiB of payload; leave room so none is ever cut.
    const buf = new Uint8Array(options.bufferSize ?? (this.coalescing ? 1 << 17 : 65536));
    this.#receiving = this.#loop(buf, handler, options.onError ?? (() => {}));
  }

  async #loop(
    buf: Uint8Array<ArrayBuffer>,
    handler: DatagramHandler,
    onError: (e: unknown) => void,
  ): Promise<void> {
    const msg = this.coalescing ? new MessageHeader() : null;
    const address = msg ? ffiPointerOf(buf) : 0n;
    while (!this.#closing) {
      for (let i = 0; i < DRAIN_BATCH && !this.#closing; i++) {
        if (msg) {
          if (!this.#receiveCoalesced(msg, buf, address, handler, onError)) break;
          continue;
        }
        const n = this.receive(buf);
        if (n < 0) break;
        this.receiveCalls++;
        try {
          handler(buf.subarray(0, n), this.lastFromIp, this.lastFromPort);
        } catch (e) {
          onError(e);
        }
      }
      if (this.#closing) break;
      await pollReadableAsync(this.#fd, POLL_MS);
    }
  }

  /** One `recvmsg`, its datagrams handed over one by one; false when nothing was waiting. */
  #receiveCoalesced(
    msg: MessageHeader,
    buf: Uint8Array<ArrayBuffer>,
    address: bigint,
    handler: DatagramHandler,
    onError: (e: unknown) => void,
  ): boolean {
    msg.prepareReceive(address, buf.length);
    const n = Number(libc().recvmsg(this.#fd, msg.header, 0));
    if (n < 0) return false;
    this.receiveCalls++;
    const size = msg.receivedSegmentSize() || n;
    const [ip, port] = [msg.fromIp, msg.fromPort];
    this.#fromView.setUint32(4, ip);
    this.#fromView.setUint16(2, port);
    if (msg.truncated) onError(new Error(`UDP datagram from ${formatIPv4(ip)}:${port} truncated`));
    for (let at = 0; at < n; at += size) {
      try {
        handler(buf.subarray(at, Math.min(at + size, n)), ip, port);
      } catch (e) {
        onError(e);
      }
    }
    return true;
  }

  /** Stops the receive loop (waking its poll with shutdown) and closes the socket; idempotent. */
  async close(): Promise<void> {
    if (this.#fd < 0) return;
    this.#closing = true;
    const fd = this.#fd;
    if (this.#receiving) {
      libc().shutdown(fd, SHUT_RDWR);
      await this.#receiving;
      this.#receiving = null;
    }
    this.#fd = -1;
    libc().close(fd);
    this.#closeProbe();
  }

  #closeProbe(): void {
    if (this.#probeFd >= 0) libc().close(this.#probeFd);
    this.#probeFd = -1;
  }

  /** Closes at once; only for sockets without a receive loop (`using` in tests). */
  [Symbol.dispose](): void {
    if (this.#fd < 0) return;
    if (this.#receiving) throw new Error("Cannot dispose UDP socket synchronously: await close()");
    libc().close(this.#fd);
    this.#fd = -1;
    this.#closeProbe();
  }
}

/** Sets a socket buffer: the FORCE option first (needs CAP_NET_ADMIN), else the capped one. */
function setBufferSize(fd: number, force: number, plain: number, bytes: number, which: string) {
  if (!Number.isInteger(bytes) || bytes < 1024 || bytes > 0x3fffffff) {
    throw new RangeError(`Cannot set UDP ${which} buffer to ${bytes} bytes: want 1024..2^30-1`);
  }
  const v = new Int32Array([bytes]);
  const bytesOf = new Uint8Array(v.buffer);
  if (libc().setsockopt(fd, SOL_SOCKET, force, bytesOf, 4) === 0) return;
  if (libc().setsockopt(fd, SOL_SOCKET, plain, bytesOf, 4) < 0) {
    throw sysError(`set UDP ${which} buffer to ${bytes} bytes`, errno());
  }
}

/** Sets an int socket option; false when the kernel refuses it. */
function trySetIntOpt(fd: number, level: number, name: number, value: number): boolean {
  const v = new Int32Array([value]);
  return libc().setsockopt(fd, level, name, new Uint8Array(v.buffer), 4) === 0;
}

function setIntOpt(fd: number, level: number, name: number, value: number, op: string): void {
  const v = new Int32Array([value]);
  if (libc().setsockopt(fd, level, name, new Uint8Array(v.buffer), 4) < 0) {
    throw sysError(op, errno());
  }
}
