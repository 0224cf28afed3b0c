/**
 * Containers as attach, detach and `weave ps` name them, and how the router reaches them.
 *
 * A container is a network namespace, named as `ip netns` names it (`c1`, or its path
 * `/run/netns/c1`), by a process id (`1234`, `pid:1234` or `/proc/1234/ns/net`), or by any other
 * path of a namespace file. Its id — what `weave ps` prints and what detach must be given again —
 * is the netns name for named namespaces, `pid:<n>` for processes, and the path otherwise.
 * {@link Namespaces} is the seam to the machine's namespaces ({@link systemNamespaces}; tests
 * use `fake_kernel.ts`).
 *
 * @module
 */
import {
  closeFd,
  type Netlink,
  NetlinkSocket,
  NotFoundError,
  O_CLOEXEC,
  O_RDONLY,
  openNetns,
  openPath,
  withNetns,
} from "../sys/mod.ts";
import { PacketSocket } from "../sys/packet_socket.ts";

/** When {@link systemNamespaces} sends announcements again after the first. */
const RESEND_MS = [500, 2000];

/** The container (network namespace) does not exist. */
export class ContainerNotFoundError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ContainerNotFoundError";
  }
}

/** A container resolved from what the user typed. */
export interface Container {
  /** Stable id: netns name, `pid:<n>`, or the namespace file's path. */
  id: string;
  /** The namespace file. */
  path: string;
}

/**
 * Resolves a container reference: netns name, `/run/netns/<name>`, pid, `pid:<n>`,
 * `/proc/<n>/ns/net`, or another absolute path. Throws TypeError on anything else.
 *
 * @example
 * ```ts
 * import { resolveContainer } from "./container.ts";
 * resolveContainer("1234"); // { id: "pid:1234", path: "/proc/1234/ns/net" }
 * resolveContainer("/run/netns/c1"); // { id: "c1", path: "/run/netns/c1" }
 * ```
 */
export function resolveContainer(ref: string): Container {
  const pid = /^(?:pid:)?(\d+)$/.exec(ref) ?? /^\/proc\/(\d+)\/ns\/net$/.exec(ref);
  if (pid) {
    const n = Number(pid[1]);
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new TypeError(`Cannot resolve container "${ref}": ${pid[1]} is not a process id`);
    }
    return { id: `pid:${n}`, path: `/proc/${n}/ns/net` };
  }
  const named = /^(?:\/var)?\/run\/netns\/([^/]+)$/.exec(ref);
  const name = named ? named[1] : ref.startsWith("/") ? undefined : ref;
  if (name === undefined) {
    if (ref.includes("\0") || /(^|\/)\.\.?(\/|$)/.test(ref)) {
      throw new TypeError(`Cannot resolve container "${ref}": not a clean absolute path`);
    }
    return { id: ref, path: ref };
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === "." || name === "..") {
    throw new TypeError(
      `Cannot resolve container "${ref}": want a netns name, a pid or a namespace path`,
    );
  }
  return { id: name, path: `/run/netns/${name}` };
}

/**
 * Whether container `id` (as {@link resolveContainer} names it) still has its namespace: the
 * netns file, `/proc/<pid>` or the path exists. Ids that name no container (`weave:expose`,
 * `weave:extern`) count as existing, so nothing is ever cleaned up for them.
 *
 * @example
 * ```ts ignore
 * containerExists("c1"); // true while /run/netns/c1 exists
 * ```
 */
export function containerExists(id: string): boolean {
  let path: string;
  try {
    path = resolveContainer(id).path;
  } catch {
    return true;
  }
  // Deno refuses /proc/<pid>/… without --allow-all, so a pid's namespace is opened through libc.
  if (path.startsWith("/proc/")) {
    try {
      closeFd(openPath(path, O_RDONLY | O_CLOEXEC));
      return true;
    } catch (e) {
      if (e instanceof NotFoundError) return false;
      throw e;
    }
  }
  try {
    Deno.statSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** How attach/detach/ps reach container namespaces; {@link systemNamespaces} is the real one. */
export interface Namespaces {
  /** A netlink socket inside the namespace at `path`; ContainerNotFoundError when it is absent. */
  netlink(path: string): Netlink;
  /** Opens the namespace file, whose fd receives the veth's container end. */
  open(path: string): { fd: number; close(): void };
  /** Whether `path` is the router's own namespace (attaching there makes no sense). */
  isHost(path: string): boolean;
  /** Container ids worth checking in `weave ps`: named namespaces and `pid:<n>` of processes. */
  candidates(): string[];
  /**
   * Sends whole Ethernet frames out of interface `ifindex` of the namespace at `path` now
   * (throwing on failure), and again later, best effort, in case the first ones are lost.
   */
  send?(path: string, ifindex: number, frames: readonly Uint8Array[]): void;
}

/**
 * The machine's namespaces: netlink sockets opened inside with `withNetns`, candidates from
 * `/run/netns` and `/proc`. `hostPath` names the router's own namespace (default
 * `/proc/self/ns/net`; tests that play a host in a namespace pass its path).
 */
export function systemNamespaces(options: { hostPath?: string } = {}): Namespaces {
  const hostPath = options.hostPath ?? "/proc/self/ns/net";
  return {
    netlink: (path) => notFoundAsContainer(path, () => withNetns(path, () => new NetlinkSocket())),
    open: (path) => notFoundAsContainer(path, () => openNetns(path)),
    isHost: (path) => sameFile(path, hostPath),
    candidates: () => [...dirNames("/run/netns"), ...pidIds()],
    send: (path, ifindex, frames) => {
      const sendNow = () => {
        using socket = withNetns(path, () => new PacketSocket({ ifindex }));
        for (const frame of frames) socket.send(frame);
      };
      sendNow();
      // RFC 5227 announces more than once: one lost frame would leave a peer on the old MAC.
      for (const ms of RESEND_MS) {
        Deno.unrefTimer(setTimeout(() => {
          try {
            sendNow();
          } catch { /* the container went away meanwhile */ }
        }, ms));
      }
    },
  };
}

function notFoundAsContainer<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof NotFoundError) {
      throw new ContainerNotFoundError(
        `Cannot find container: no network namespace at "${path}"`,
        { cause: e },
      );
    }
    throw e;
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    const x = Deno.statSync(a);
    const y = Deno.statSync(b);
    return x.ino !== null && x.ino === y.ino && x.dev === y.dev;
  } catch {
    return false;
  }
}

function dirNames(dir: string): string[] {
  try {
    return Array.from(Deno.readDirSync(dir), (e) => e.name);
  } catch {
    return [];
  }
}

function pidIds(): string[] {
  return dirNames("/proc").filter((n) => /^\d+$/.test(n)).map((n) => `pid:${n}`);
}
