/**
 * Datagram trains: consecutive sleeve datagrams to one peer, sent with one system call.
 *
 * A TAP drain hands the forwarders up to 256 frames at once, and a full-size frame fills a
 * datagram by itself, so a TCP stream in a container becomes runs of equal-sized datagrams to
 * one address. Sending each with its own `sendto` costs a system call and a trip through the
 * kernel's stack per frame, which on a virtual machine is most of the router's time. A train
 * collects such a run — same destination, same DF choice, equal sizes, the last one possibly
 * shorter, at most {@link UDP_MAX_SEGMENTS} and 64 KiB — and hands it to the kernel at once
 * with UDP segmentation offload ({@link TrainSocket.sendSegments}); the kernel cuts it into the
 * very datagrams `sendto` would have sent, so the wire and the peers see no difference.
 *
 * Whatever cannot ride a train goes out by itself at once (after the train, so order holds):
 * a datagram for another destination or DF choice flushes the train first. When the kernel
 * refuses a train, its datagrams are sent one by one and each failure is reported to whoever
 * queued it, exactly as a lone `sendto` would; a route that cannot segment (no checksum
 * offload, IPsec, an old kernel) turns trains off, and datagrams too big to pass unfragmented
 * never ride one again.
 *
 * @module
 */
import { Errno } from "../../sys/libc.ts";
import { UDP_MAX_SEGMENTS } from "../../sys/msghdr.ts";
import { MAX_UDP_PAYLOAD, type UdpAddr, type UdpSocket } from "../../sys/udp.ts";

/** The sends a train needs; both return bytes sent or -errno. */
export type TrainSocket = Pick<UdpSocket, "sendTo" | "sendSegments">;

/** Told of a datagram the kernel refused: the negated errno, as from `sendto`. */
export type SendFailed = (result: number, length: number, to: UdpAddr, df: boolean) => void;

/** Counters of a {@link DatagramTrain}. */
export interface TrainStats {
  /** Datagrams that went out in trains of two or more. */
  carried: number;
  /** System calls that sent those. */
  trains: number;
  /** Trains the kernel refused (their datagrams then went one by one). */
  refused: number;
}

/** Errors after which the kernel will refuse every train on this socket. */
const NO_SEGMENTATION: ReadonlySet<number> = new Set([
  Errno.EIO,
  Errno.EINVAL,
  Errno.ENOPROTOOPT,
  Errno.EOPNOTSUPP,
]);

/**
 * One train being filled, and the rules for joining it.
 *
 * @example
 * ```ts ignore
 * const train = new DatagramTrain(socket);
 * for (const d of datagrams) train.add(d.bytes, d.length, to, true, onFailed);
 * train.flush(); // at the end of the burst
 * ```
 */
export class DatagramTrain {
  readonly #socket: TrainSocket;
  readonly #bytes = new Uint8Array(MAX_UDP_PAYLOAD);
  /** End offset of each datagram in {@link #bytes}. */
  readonly #ends = new Uint32Array(UDP_MAX_SEGMENTS);
  #count = 0;
  #length = 0;
  #segment = 0;
  /** A shorter datagram ended the train. */
  #closed = false;
  #to: UdpAddr | null = null;
  #df = false;
  #onFailed: SendFailed | null = null;
  /** Datagrams this long or longer never ride (the path refused them unfragmented). */
  #segmentLimit = Infinity;
  #enabled = true;
  readonly #stats: TrainStats = { carried: 0, trains: 0, refused: 0 };

  constructor(socket: TrainSocket) {
    this.#socket = socket;
  }

  /** Whether trains are still used (false once the kernel showed it cannot segment). */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Datagrams waiting for {@link flush}. */
  get pending(): number {
    return this.#count;
  }

  /** Counters. */
  stats(): TrainStats {
    return { ...this.#stats };
  }

  /**
   * Queues `buf[0, length)` for `to` (copied: `buf` may be reused at once), or sends it at once
   * when it cannot ride. Returns true when queued, so the caller schedules a {@link flush}.
   */
  add(buf: Uint8Array, length: number, to: UdpAddr, df: boolean, onFailed: SendFailed): boolean {
    const rides = this.#enabled && length < this.#segmentLimit;
    if (this.#count > 0 && (!rides || !this.#joins(length, to, df, onFailed))) this.flush();
    if (!rides) {
      const r = this.#socket.sendTo(buf as Uint8Array<ArrayBuffer>, length, to, df);
      if (r < 0) onFailed(r, length, to, df);
      return false;
    }
    if (this.#count === 0) {
      [this.#to, this.#df, this.#onFailed, this.#segment] = [to, df, onFailed, length];
    } else if (length < this.#segment) {
      this.#closed = true;
    }
    this.#bytes.set(buf.subarray(0, length), this.#length);
    this.#length += length;
    this.#ends[this.#count++] = this.#length;
    if (
      this.#closed || this.#count === UDP_MAX_SEGMENTS ||
      this.#length + this.#segment > MAX_UDP_PAYLOAD
    ) {
      this.flush();
      return false;
    }
    return true;
  }

  /** Sends what is queued: one datagram with `sendto`, more as one segmented send. */
  flush(): void {
    const count = this.#count;
    if (count === 0) return;
    const [to, df, onFailed, length] = [this.#to!, this.#df, this.#onFailed!, this.#length];
    this.#reset();
    if (count === 1) {
      const r = this.#socket.sendTo(this.#bytes, length, to, df);
      if (r < 0) onFailed(r, length, to, df);
      return;
    }
    const r = this.#socket.sendSegments(this.#bytes, length, this.#ends[0], to, df);
    if (r >= 0) {
      this.#stats.trains++;
      this.#stats.carried += count;
      return;
    }
    this.#stats.refused++;
    if (r === -Errno.EMSGSIZE) this.#segmentLimit = Math.min(this.#segmentLimit, this.#ends[0]);
    else if (NO_SEGMENTATION.has(-r)) this.#enabled = false;
    this.#sendEach(count, to, df, onFailed);
  }

  #sendEach(count: number, to: UdpAddr, df: boolean, onFailed: SendFailed): void {
    let start = 0;
    for (let i = 0; i < count; i++) {
      const end = this.#ends[i];
      const r = this.#socket.sendTo(this.#bytes.subarray(start), end - start, to, df);
      if (r < 0) onFailed(r, end - start, to, df);
      start = end;
    }
  }

  #joins(length: number, to: UdpAddr, df: boolean, onFailed: SendFailed): boolean {
    const current = this.#to!;
    return !this.#closed && df === this.#df && onFailed === this.#onFailed &&
      length <= this.#segment && this.#length + length <= MAX_UDP_PAYLOAD &&
      (to === current || to.is(current.ip, current.port));
  }

  #reset(): void {
    this.#count = 0;
    this.#length = 0;
    this.#segment = 0;
    this.#closed = false;
    this.#to = null;
    this.#onFailed = null;
  }
}
