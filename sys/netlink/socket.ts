/**
 * An AF_NETLINK / NETLINK_ROUTE socket driven synchronously through libc.
 *
 * A request is sent with a fresh sequence number, then replies are read until the matching
 * NLMSG_ERROR (ACK or error) or NLMSG_DONE arrives; messages with other sequence numbers (late
 * replies to a request that timed out) are dropped. Every read waits with `poll` first, so a
 * silent kernel costs at most `timeoutMs`. Calls are short (microseconds) and block the JS
 * thread, which is what lets them run inside {@link withNetns}. The socket belongs to the
 * network namespace that was current when it was created, for its whole life.
 *
 * @module
 */

import { FdOwner } from "../fd_owner.ts";
import {
  check,
  Errno,
  libc,
  MSG_DONTWAIT,
  MSG_TRUNC,
  pollReadable,
  SOCK_CLOEXEC,
  SOCK_RAW,
  sysError,
} from "../libc.ts";
import {
  decodeEnvelope,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  parseDone,
  parseError,
} from "./codec.ts";

/** One reply message: its type, nlmsghdr flags and payload (a copy, safe to keep). */
export interface NetlinkReply {
  type: number;
  flags: number;
  payload: Uint8Array;
}

/**
 * The seam every link/addr/route/neigh operation talks through; a fake can record requests and
 * return canned replies.
 */
export interface Netlink {
  /**
   * Sends one encoded request (its seq field is overwritten) and returns the data replies; throws
   * a SysError (ExistsError / NotFoundError for EEXIST / ENODEV…) naming `op` on a kernel error.
   */
  request(message: Uint8Array, op: string): NetlinkReply[];
  /** Releases the socket; later requests throw. */
  close(): void;
}

const AF_NETLINK = 16;
const NETLINK_ROUTE = 0;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const DUMP_ATTEMPTS = 3;

/** Options for {@link NetlinkSocket}. */
export interface NetlinkSocketOptions {
  /** Longest wait for any one reply datagram, in milliseconds (default 5000). */
  timeoutMs?: number;
  /** Receive buffer size in bytes (default 64 KiB, above the kernel's 32 KiB dump chunks). */
  bufferSize?: number;
}

class DumpInterrupted extends Error {}

/**
 * A NETLINK_ROUTE socket in the calling thread's current network namespace.
 *
 * @example
 * ```ts ignore
 * import { NetlinkSocket } from "./socket.ts";
 * import { dumpMessage, parseLink, RTM_GETLINK, AF_UNSPEC } from "./codec.ts";
 * using nl = new NetlinkSocket();
 * const links = nl.request(dumpMessage(RTM_GETLINK, AF_UNSPEC), "list links").map((r) => parseLink(r.payload));
 * ```
 */
export class NetlinkSocket extends FdOwner implements Netlink {
  #seq: number;
  readonly #timeoutMs: number;
  readonly #buffer: Uint8Array<ArrayBuffer>;
  readonly #kernel = new Uint8Array(12);

  /** Opens and binds the socket; throws SysError when netlink is unavailable. */
  constructor(options: NetlinkSocketOptions = {}) {
    const c = libc();
    super(
      check("open netlink socket", c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)),
    );
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#buffer = new Uint8Array(options.bufferSize ?? 65536);
    this.#seq = Math.floor(Date.now() / 1000) >>> 0;
    try {
      const one = Uint8Array.of(1, 0, 0, 0);
      // Best effort: extended acks give error texts; capped acks keep error replies small.
      c.setsockopt(this.fd, SOL_NETLINK, NETLINK_EXT_ACK, one, 4);
      c.setsockopt(this.fd, SOL_NETLINK, NETLINK_CAP_ACK, one, 4);
      this.#kernel[0] = AF_NETLINK; // sockaddr_nl {family, pad, pid 0, groups 0}
      check("bind netlink socket", c.bind(this.fd, this.#kernel, this.#kernel.length));
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** See {@link Netlink.request}; dumps interrupted by concurrent changes are retried. */
  request(message: Uint8Array, op: string): NetlinkReply[] {
    const flags = message[6] | (message[7] << 8);
    const dump = (flags & NLM_F_DUMP) === NLM_F_DUMP;
    for (let attempt = 1;; attempt++) {
      try {
        return this.#exchange(message, op, dump || (flags & NLM_F_ACK) !== 0);
      } catch (e) {
        if (!(e instanceof DumpInterrupted) || attempt >= DUMP_ATTEMPTS) {
          throw e instanceof DumpInterrupted ? sysError(op, Errno.EINTR, "dump interrupted") : e;
        }
      }
    }
  }

  #exchange(message: Uint8Array, op: string, untilEnd: boolean): NetlinkReply[] {
    if (this.fd < 0) throw new Error(`Cannot ${op}: netlink socket is closed`);
    const seq = this.#seq = (this.#seq + 1) >>> 0;
    new DataView(message.buffer, message.byteOffset, message.byteLength).setUint32(8, seq, true);
    const c = libc();
    const sent = check(
      op,
      c.sendto(this.fd, message, BigInt(message.length), 0, this.#kernel, 12),
    );
    if (sent !== message.length) {
      throw new Error(`Cannot ${op}: sent ${sent} of ${message.length} bytes`);
    }
    const out: NetlinkReply[] = [];
    let interrupted = false;
    for (;;) {
      const n = this.#receive(op);
      for (let at = 0; at < n;) {
        const { value: env, offset } = decodeEnvelope(this.#buffer.subarray(0, n), at);
        at = offset;
        const { type, flags, seq: got } = env.header;
        if (got !== seq || type === NLMSG_NOOP) continue;
        if (flags & NLM_F_DUMP_INTR) interrupted = true;
        if (type === NLMSG_ERROR) {
          const e = parseError(env.payload, flags);
          if (e.errno !== 0) throw sysError(op, e.errno, e.message);
          return out;
        }
        if (type === NLMSG_DONE) {
          const errnoValue = parseDone(env.payload);
          if (errnoValue !== 0) throw sysError(op, errnoValue);
          if (interrupted) throw new DumpInterrupted();
          return out;
        }
        if (type === NLMSG_OVERRUN) throw sysError(op, Errno.ENOBUFS, "netlink overrun");
        out.push({ type, flags, payload: env.payload.slice() });
        if (!untilEnd && !(flags & NLM_F_MULTI)) return out;
      }
    }
  }

  #receive(op: string): number {
    if (!pollReadable(this.fd, this.#timeoutMs)) {
      throw sysError(op, Errno.ETIMEDOUT, `no netlink reply within ${this.#timeoutMs} ms`);
    }
    const b = this.#buffer;
    const n = check(op, libc().recv(this.fd, b, BigInt(b.length), MSG_DONTWAIT | MSG_TRUNC));
    if (n > b.length) {
      throw new RangeError(`Cannot ${op}: reply of ${n} bytes exceeds ${b.length}-byte buffer`);
    }
    return n;
  }
}
