/**
 * The one libc binding of weave: every system call goes through {@link libc}.
 *
 * The library is opened lazily on first use, so modules that merely import `sys/` (for types or
 * pure codecs) need no `--allow-ffi`. Linux x86_64 only: errno is read through
 * `__errno_location()`, and all calls are synchronous on the JS thread (so `setns` applies to
 * the thread that runs the following calls), except {@link libc}`().pollAsync`, which runs on a
 * worker thread and cannot report errno.
 *
 * @module
 */

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "isize",
  },
  sendmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  recvfrom: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "buffer"],
    result: "isize",
  },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  /** `ioctl` whose argument is a value, not a pointer (e.g. TUNSETOFFLOAD). */
  ioctlValue: { name: "ioctl", parameters: ["i32", "u64", "u64"], result: "i32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  readlink: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  pollAsync: {
    name: "poll",
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  getpid: { parameters: [], result: "i32" },
  malloc_trim: { parameters: ["usize"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

/** Socket constants shared by the socket modules (Linux x86_64). */
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;

/** The typed libc symbols weave uses. */
export type LibcSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let library: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
let errnoView: Deno.UnsafePointerView | undefined;

/**
 * Opens `libc.so.6` on first call and returns its symbols; later calls return the same object.
 *
 * @example
 * ```ts ignore
 * import { libc } from "./libc.ts";
 * const pid = libc().getpid();
 * ```
 */
export function libc(): LibcSymbols {
  library ??= Deno.dlopen("libc.so.6", SYMBOLS);
  return library.symbols;
}

/** Returns the calling (JS) thread's current `errno`; read it right after the failed call. */
export function errno(): number {
  if (!errnoView) {
    const pointer = libc().__errno_location();
    if (pointer === null) throw new Error("Cannot read errno: __errno_location returned NULL");
    errnoView = new Deno.UnsafePointerView(pointer);
  }
  return errnoView.getInt32();
}

/** Linux x86_64 errno numbers weave reacts to, by name. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  ENOTDIR: 20,
  EINVAL: 22,
  EMFILE: 24,
  ENOTTY: 25,
  ENOSPC: 28,
  ERANGE: 34,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ENODATA: 61,
  EPROTO: 71,
  EMSGSIZE: 90,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ENOBUFS: 105,
  ETIMEDOUT: 110,
  EHOSTUNREACH: 113,
} as const;

const MESSAGES: Record<number, string> = {
  1: "Operation not permitted",
  2: "No such file or directory",
  3: "No such process",
  4: "Interrupted system call",
  5: "Input/output error",
  6: "No such device or address",
  9: "Bad file descriptor",
  11: "Resource temporarily unavailable",
  12: "Cannot allocate memory",
  13: "Permission denied",
  14: "Bad address",
  16: "Device or resource busy",
  17: "File exists",
  19: "No such device",
  20: "Not a directory",
  22: "Invalid argument",
  24: "Too many open files",
  25: "Inappropriate ioctl for device",
  28: "No space left on device",
  34: "Numerical result out of range",
  38: "Function not implemented",
  39: "Directory not empty",
  61: "No data available",
  71: "Protocol error",
  90: "Message too long",
  92: "Protocol not available",
  93: "Protocol not supported",
  95: "Operation not supported",
  97: "Address family not supported by protocol",
  98: "Address already in use",
  99: "Cannot assign requested address",
  100: "Network is down",
  101: "Network is unreachable",
  105: "No buffer space available",
  110: "Connection timed out",
  113: "No route to host",
};

const NAMES = new Map<number, string>(Object.entries(Errno).map(([k, v]) => [v, k]));

/** The symbolic name of an errno (`"EEXIST"`), or `"E<n>"` when unknown. */
export function errnoName(n: number): string {
  return NAMES.get(n) ?? `E${n}`;
}

/** The `strerror` text of an errno; common ones from a table, others from libc. */
export function errnoMessage(n: number): string {
  const known = MESSAGES[n];
  if (known) return known;
  try {
    const pointer = libc().strerror(n);
    if (pointer !== null) return Deno.UnsafePointerView.getCString(pointer);
  } catch {
    // no FFI permission: fall through to a generic text
  }
  return `Unknown error ${n}`;
}

/** A failed system call or netlink request: `Cannot <op>: <strerror> (errno N)`. */
export class SysError extends Error {
  /** Positive errno value. */
  readonly errno: number;
  /** Symbolic errno name, e.g. `"EEXIST"`. */
  readonly code: string;
  /** The failed action, e.g. `add link "weave"`. */
  readonly op: string;
  /** Extended-ack text the kernel attached to a netlink error, if any. */
  readonly detail?: string;

  constructor(op: string, errnoValue: number, detail?: string, options?: ErrorOptions) {
    const suffix = detail ? `: ${detail}` : "";
    super(
      `Cannot ${op}: ${errnoMessage(errnoValue)} (errno ${errnoValue})${suffix}`,
      options,
    );
    this.name = "SysError";
    this.errno = errnoValue;
    this.code = errnoName(errnoValue);
    this.op = op;
    if (detail) this.detail = detail;
  }
}

/** The object already exists (EEXIST); `ensure*` callers treat it as success or inspect it. */
export class ExistsError extends SysError {
  constructor(op: string, errnoValue: number, detail?: string) {
    super(op, errnoValue, detail);
    this.name = "ExistsError";
  }
}

/**
 * The object is absent (ENODEV, ENOENT, ESRCH, EADDRNOTAVAIL, ENXIO); delete paths treat it as
 * "already gone".
 */
export class NotFoundError extends SysError {
  constructor(op: string, errnoValue: number, detail?: string) {
    super(op, errnoValue, detail);
    this.name = "NotFoundError";
  }
}

const NOT_FOUND: ReadonlySet<number> = new Set([
  Errno.ENODEV,
  Errno.ENOENT,
  Errno.ESRCH,
  Errno.EADDRNOTAVAIL,
  Errno.ENXIO,
]);

/**
 * Builds the right {@link SysError} subclass for an errno.
 *
 * @example
 * ```ts
 * import { ExistsError, sysError } from "./libc.ts";
 * sysError('add link "weave"', 17) instanceof ExistsError; // true
 * ```
 */
export function sysError(op: string, errnoValue: number, detail?: string): SysError {
  if (errnoValue === Errno.EEXIST) return new ExistsError(op, errnoValue, detail);
  if (NOT_FOUND.has(errnoValue)) return new NotFoundError(op, errnoValue, detail);
  return new SysError(op, errnoValue, detail);
}

/** Throws a {@link SysError} from the current errno when `result` is negative; else returns it. */
export function check(op: string, result: number | bigint): number {
  const n = Number(result);
  if (n < 0) throw sysError(op, errno());
  return n;
}

const encoder = new TextEncoder();

/** A NUL-terminated copy of `text` for passing as a C string. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(encoder.encode(text).length + 1);
  encoder.encodeInto(text, bytes);
  return bytes;
}

/** `open(2)` flags used by weave. */
export const O_RDONLY = 0;
/** Open for reading and writing. */
export const O_RDWR = 2;
/** Non-blocking I/O. */
export const O_NONBLOCK = 0o4000;
/** Close on exec. */
export const O_CLOEXEC = 0o2000000;

/** Opens `path` with `flags` via libc (not subject to Deno's path permissions). */
export function openPath(path: string, flags: number): number {
  return check(`open "${path}"`, libc().open(cString(path), flags, 0));
}

/** Closes a file descriptor; errors other than EBADF are ignored as `close(2)` advises. */
export function closeFd(fd: number): void {
  if (libc().close(fd) < 0 && errno() === Errno.EBADF) {
    throw sysError(`close fd ${fd}`, Errno.EBADF);
  }
}

/** `poll(2)` events. */
export const POLLIN = 0x1;

/**
 * Waits up to `timeoutMs` for `fd` to become readable, blocking the JS thread; `true` when
 * readable, `false` on timeout. EINTR counts as not yet readable.
 */
export function pollReadable(fd: number, timeoutMs: number): boolean {
  const pfd = new Uint8Array(8);
  const view = new DataView(pfd.buffer);
  view.setInt32(0, fd, true);
  view.setInt16(4, POLLIN, true);
  const n = libc().poll(pfd, 1n, Math.max(-1, Math.trunc(timeoutMs)));
  if (n < 0) {
    const e = errno();
    if (e === Errno.EINTR) return false;
    throw sysError(`poll fd ${fd}`, e);
  }
  return n > 0;
}

/**
 * Like {@link pollReadable} but on a worker thread, leaving the event loop free; `true` when
 * readable, `false` on timeout or interruption.
 */
export async function pollReadableAsync(fd: number, timeoutMs: number): Promise<boolean> {
  const pfd = new Uint8Array(8);
  const view = new DataView(pfd.buffer);
  view.setInt32(0, fd, true);
  view.setInt16(4, POLLIN, true);
  const n = await libc().pollAsync(pfd, 1n, Math.max(-1, Math.trunc(timeoutMs)));
  return n > 0;
}
