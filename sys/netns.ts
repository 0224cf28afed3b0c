/**
 * Running code inside another network namespace.
 *
 * `setns(2)` switches the namespace of the calling thread only. Deno runs JavaScript on one
 * thread but does its async I/O (sockets, files, timers, subprocesses) on others, which never
 * follow a `setns`. So {@link withNetns} runs a *synchronous* function — FFI work such as
 * netlink requests, opening a TAP, creating a {@link NetlinkSocket} — and restores the original
 * namespace before returning, also when the function throws. Anything created inside (a netlink
 * socket, a TAP fd) stays bound to the target namespace after the switch back, which is the
 * usual way to work in a namespace: open the socket inside, use it from anywhere.
 *
 * Namespace files are opened with libc `open`, which Deno's permission checks do not cover
 * (Deno may refuse `/proc/self/ns/net` otherwise).
 *
 * @module
 */

import { check, closeFd, cString, libc, O_CLOEXEC, O_RDONLY, openPath } from "./libc.ts";

const CLONE_NEWNET = 0x40000000;

/** A network namespace: a name under /run/netns, an absolute path, or a process id. */
export type NetnsRef = string | number;

/**
 * The file that names namespace `ref`: `/run/netns/<name>`, the path itself, or
 * `/proc/<pid>/ns/net`.
 *
 * @example
 * ```ts
 * import { netnsPath } from "./netns.ts";
 * netnsPath("wt1"); // "/run/netns/wt1"
 * netnsPath(42); // "/proc/42/ns/net"
 * ```
 */
export function netnsPath(ref: NetnsRef): string {
  if (typeof ref === "number") {
    if (!Number.isInteger(ref) || ref <= 0) throw new TypeError(`Cannot name netns of pid ${ref}`);
    return `/proc/${ref}/ns/net`;
  }
  if (ref.startsWith("/")) return ref;
  if (!/^[A-Za-z0-9_.-]+$/.test(ref) || ref === "." || ref === "..") {
    throw new TypeError(`Cannot name netns "${ref}": not a valid namespace name`);
  }
  return `/run/netns/${ref}`;
}

/** An open namespace file; pass `fd` to setNetns / addVeth, close when done. */
export interface NetnsHandle {
  readonly fd: number;
  readonly path: string;
  /** Closes the fd; idempotent. */
  close(): void;
  [Symbol.dispose](): void;
}

/** Opens namespace `ref` read-only; NotFoundError (ENOENT) when it does not exist. */
export function openNetns(ref: NetnsRef): NetnsHandle {
  const path = netnsPath(ref);
  let fd = openPath(path, O_RDONLY | O_CLOEXEC);
  const close = () => {
    if (fd >= 0) closeFd(fd);
    fd = -1;
  };
  return {
    get fd() {
      return fd;
    },
    path,
    close,
    [Symbol.dispose]: close,
  };
}

/** Opens the calling thread's current network namespace. */
export function openCurrentNetns(): NetnsHandle {
  return openNetns("/proc/thread-self/ns/net");
}

/**
 * Runs synchronous `fn` with the JS thread in namespace `ref`, then switches back (also on
 * error). `fn` must not be async: a returned promise is rejected with TypeError after the
 * switch back, since its continuation would run in the original namespace anyway.
 *
 * @example
 * ```ts ignore
 * const nl = withNetns("wt1", () => new NetlinkSocket()); // a socket living in wt1
 * ```
 */
export function withNetns<T>(ref: NetnsRef, fn: () => T): T {
  using original = openCurrentNetns();
  using target = openNetns(ref);
  check(`enter netns "${target.path}"`, libc().setns(target.fd, CLONE_NEWNET));
  let result: T;
  try {
    result = fn();
  } finally {
    const back = libc().setns(original.fd, CLONE_NEWNET);
    if (back < 0) {
      // The thread is stranded in the wrong namespace; nothing later can be trusted.
      check(`return from netns "${target.path}" to the original namespace`, back);
    }
  }
  if (result instanceof Promise) {
    result.catch(() => {});
    throw new TypeError(
      `Cannot run async function in netns "${target.path}": use synchronous work`,
    );
  }
  return result;
}

/**
 * The identity of namespace `ref` (default: the calling thread's), as the kernel names it
 * (`net:[4026531833]`): the same for every process in it, different for every other namespace.
 * Read with libc `readlink`, which Deno's permission checks do not cover.
 *
 * @example
 * ```ts ignore
 * netnsId(); // "net:[4026531833]"
 * ```
 */
export function netnsId(ref: NetnsRef = "/proc/thread-self/ns/net"): string {
  const path = netnsPath(ref);
  const buf = new Uint8Array(64);
  const n = Number(
    check(`read link "${path}"`, libc().readlink(cString(path), buf, BigInt(buf.length))),
  );
  return new TextDecoder().decode(buf.subarray(0, n));
}
