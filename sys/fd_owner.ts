/**
 * One file descriptor owned by one object: the base of the sockets and devices in sys/ that
 * hold a descriptor (netlink, AF_PACKET, TAP). Closing is idempotent and the descriptor reads
 * -1 afterwards, so a closed object fails its next call with a clear error instead of using a
 * number the kernel may have given to someone else.
 *
 * @module
 */
import { closeFd } from "./libc.ts";

/**
 * Owns `fd` until {@link FdOwner.close}.
 *
 * @example
 * ```ts ignore
 * class Device extends FdOwner {}
 * using d = new Device(fd);
 * d.fd; // fd, and -1 once disposed
 * ```
 */
export class FdOwner implements Disposable {
  #fd: number;

  /** Takes ownership of an open descriptor. */
  constructor(fd: number) {
    this.#fd = fd;
  }

  /** The file descriptor (-1 once closed). */
  get fd(): number {
    return this.#fd;
  }

  /** Closes the descriptor; idempotent. Do not close while a poll on it is pending. */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    closeFd(fd);
  }

  /** Same as {@link FdOwner.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
