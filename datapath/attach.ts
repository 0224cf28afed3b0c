/**
 * Attaching containers to the weave bridge (`weave attach`, `weave detach`, `weave ps`).
 *
 * A container is a network namespace, named as `ip netns` names it (`c1`, or its path
 * `/run/netns/c1`), by a process id (`1234`, `pid:1234` or `/proc/1234/ns/net`), or by any other
 * path of a namespace file. Its id — what `weave ps` prints and what detach must be given again —
 * is the netns name for named namespaces, `pid:<n>` for processes, and the path otherwise.
 *
 * Attaching makes a veth pair: the host end `vethwepl<hash of id>` (15 characters at most) is a
 * port of the bridge; the other end is created straight inside the container's namespace as
 * `ethwe`, with the bridge's MTU, the given addresses and, unless disabled, the multicast route
 * 224.0.0.0/4 via ethwe (as Weave does). Everything is idempotent: attaching again only adds
 * what is missing and repairs what drifted, and a failed first attach removes the veth it made.
 * The host end's name is derived from the id alone, so `weave ps` finds a container again by
 * hashing candidate ids (named namespaces, live pids, ids this router attached) — no state file.
 *
 * With `dnsRoute` (weaveDNS's address for containers, see dns/reach.ts) the container also gets
 * a route `<dnsRoute>/32 dev ethwe` and a permanent neighbour entry mapping that address to this
 * host's bridge MAC: every host's bridge carries the same link-local address on the one weave
 * L2 network, so the container must never ask ARP who has it.
 *
 * Better than Weave: each attach announces the container's addresses with gratuitous ARP, so an
 * address re-attached on another host is reachable again at once (see {@link announce}).
 *
 * @module
 */
import { formatIPv4, parseIPv4 } from "../lib/cidr.ts";
import type { Logger } from "../lib/log.ts";
import {
  addAddr,
  addRoute,
  addVeth,
  AF_INET,
  closeFd,
  delAddr,
  deleteLink,
  ExistsError,
  findLink,
  getLink,
  type LinkInfo,
  listAddrs,
  listLinks,
  listRoutes,
  neighMessage,
  type Netlink,
  NetlinkSocket,
  NLM_F_CREATE,
  NLM_F_REPLACE,
  NotFoundError,
  NUD_PERMANENT,
  O_CLOEXEC,
  O_RDONLY,
  openNetns,
  openPath,
  parseIpNet,
  RTM_NEWNEIGH,
  setLinkUp,
  setMaster,
  setMtu,
  withNetns,
} from "../sys/mod.ts";
import { PacketSocket } from "../sys/packet_socket.ts";
import { gratuitousArp } from "./arp.ts";
import { DEFAULT_BRIDGE, DEFAULT_MTU } from "./bridge.ts";

/** The container-side interface name. */
export const CONTAINER_IFNAME = "ethwe";
/** Prefix of the host-side veth of an attached container. */
export const HOST_VETH_PREFIX = "vethwepl";
/** When {@link systemNamespaces} sends announcements again after the first. */
const RESEND_MS = [500, 2000];
/** The route Weave adds in containers so multicast leaves via ethwe. */
export const MULTICAST_ROUTE = "224.0.0.0/4";
/** The `weave ps` name of the bridge's own (exposed) addresses. */
export const EXPOSE_ID = "weave:expose";

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
 * import { resolveContainer } from "./attach.ts";
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

/**
 * The host-side veth name of container `id`: `vethwepl` and 7 hex digits of a hash of the id.
 *
 * @example
 * ```ts
 * import { hostVethName } from "./attach.ts";
 * hostVethName("c1").length; // 15
 * ```
 */
export function hostVethName(id: string): string {
  let h = 0x811c9dc5; // FNV-1a, 32 bits
  for (const b of new TextEncoder().encode(id)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return HOST_VETH_PREFIX + (h >>> 4).toString(16).padStart(7, "0");
}

/**
 * Validates and normalises addresses to attach or expose (`a.b.c.d/n`, host part kept): the
 * prefix must be 1..32 and, below /31, the address neither the network nor the broadcast
 * address. Duplicates are dropped. Throws SyntaxError or RangeError naming the bad address.
 *
 * @example
 * ```ts
 * import { parseHostCidrs } from "./attach.ts";
 * parseHostCidrs(["10.32.0.1/12", "10.32.0.1/12"]); // ["10.32.0.1/12"]
 * ```
 */
export function parseHostCidrs(cidrs: readonly string[]): string[] {
  const out: string[] = [];
  for (const text of cidrs) {
    const net = parseIpNet(text);
    const n = parseIPv4(net.address);
    const what = `Cannot use address "${text}"`;
    if (net.prefixLen === 0) throw new RangeError(`${what}: the prefix length must be 1..32`);
    if (net.prefixLen < 31) {
      const host = (2 ** (32 - net.prefixLen)) - 1;
      if ((n & host) === 0) throw new RangeError(`${what}: it is the network address`);
      if (((n & host) >>> 0) === host) throw new RangeError(`${what}: it is the broadcast address`);
    }
    const cidr = `${formatIPv4(n)}/${net.prefixLen}`;
    if (!out.includes(cidr)) out.push(cidr);
  }
  return out;
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

/** Options of {@link attach}. */
export interface AttachOptions {
  /** Container reference (see {@link resolveContainer}). */
  container: string;
  /** Addresses for ethwe, `a.b.c.d/n`. */
  cidrs: readonly string[];
  /** Bridge name, default `weave`; it must exist. */
  bridge?: string;
  /** MTU of both veth ends, default 1376. */
  mtu?: number;
  /** Add 224.0.0.0/4 via ethwe (default true; `--no-multicast-route` turns it off). */
  multicastRoute?: boolean;
  /** weaveDNS's address for containers: routed via ethwe, its neighbour the bridge's MAC. */
  dnsRoute?: string;
  namespaces?: Namespaces;
  log?: Logger;
}

/** An attached container as `weave ps` shows it. */
export interface AttachedContainer {
  id: string;
  /** MAC of ethwe (of the bridge for `weave:expose`). */
  mac: string;
  /** All addresses on ethwe, kernel order. */
  cidrs: string[];
}

/**
 * Attaches a container to the bridge with `cidrs` (idempotent: only missing pieces are added,
 * drifted MTU/master/up state repaired). A first attach that fails half-way removes its veth.
 *
 * @example
 * ```ts ignore
 * attach(nl, { container: "c1", cidrs: ["10.32.0.1/12"] }); // { id: "c1", mac: "…", cidrs: ["10.32.0.1/12"] }
 * ```
 */
export function attach(nl: Netlink, options: AttachOptions): AttachedContainer {
  const cidrs = parseHostCidrs(options.cidrs);
  const c = resolveContainer(options.container);
  const ns = options.namespaces ?? systemNamespaces();
  const bridge = requireBridge(nl, options.bridge ?? DEFAULT_BRIDGE, `attach "${c.id}"`);
  if (ns.isHost(c.path)) {
    throw new TypeError(
      `Cannot attach container "${c.id}": it runs in the host's network namespace`,
    );
  }
  const cnl = ns.netlink(c.path);
  try {
    const mtu = options.mtu ?? DEFAULT_MTU;
    const veth = ensureVeth({ nl, cnl, ns, c, bridge, mtu, log: options.log });
    try {
      configureContainer(cnl, cidrs, options.multicastRoute ?? true);
      if (options.dnsRoute) ensureDnsRoute(cnl, options.dnsRoute, bridge.address ?? "");
    } catch (e) {
      if (veth.created) deleteQuietly(nl, veth.name);
      throw e;
    }
    announce(ns, c, cnl, cidrs, options.log);
    return describeContainer(c.id, cnl) ?? { id: c.id, mac: "", cidrs: [] };
  } finally {
    cnl.close();
  }
}

function requireBridge(nl: Netlink, name: string, action: string): LinkInfo {
  const bridge = findLink(nl, name);
  if (!bridge || bridge.kind !== "bridge") {
    throw new Error(`Cannot ${action}: bridge "${name}" does not exist (is the router running?)`);
  }
  return bridge;
}

interface VethContext {
  nl: Netlink;
  cnl: Netlink;
  ns: Namespaces;
  c: Container;
  bridge: LinkInfo;
  mtu: number;
  log?: Logger;
}

/** Makes sure the veth pair exists, sits on the bridge, is up and has the MTU. */
function ensureVeth(x: VethContext): { name: string; created: boolean } {
  const name = hostVethName(x.c.id);
  let host = findLink(x.nl, name);
  const ethwe = findLink(x.cnl, CONTAINER_IFNAME);
  if (ethwe && !host) {
    throw new Error(
      `Cannot attach container "${x.c.id}": it has an interface "${CONTAINER_IFNAME}" that ` +
        `is not weave's veth "${name}" (attached under another name? detach that first)`,
    );
  }
  if (host && (!ethwe || host.kind !== "veth")) {
    x.log?.warn(`Replacing stale link "${name}" of container "${x.c.id}"`);
    deleteQuietly(x.nl, host.index);
    host = undefined;
  }
  if (!host) {
    createVeth(x, name);
    return { name, created: true };
  }
  if (host.mtu !== x.mtu) setMtu(x.nl, host.index, x.mtu);
  if (ethwe && ethwe.mtu !== x.mtu) setMtu(x.cnl, ethwe.index, x.mtu);
  if (host.master !== x.bridge.index) setMaster(x.nl, host.index, x.bridge.index);
  if (!host.up) setLinkUp(x.nl, host.index);
  return { name, created: false };
}

function createVeth(x: VethContext, name: string): void {
  const target = x.ns.open(x.c.path);
  try {
    addVeth(x.nl, name, { peerName: CONTAINER_IFNAME, mtu: x.mtu, peerNetnsFd: target.fd });
  } finally {
    target.close();
  }
  try {
    setMaster(x.nl, name, x.bridge.index);
    setLinkUp(x.nl, name);
  } catch (e) {
    deleteQuietly(x.nl, name);
    throw e;
  }
}

/** lo and ethwe up, missing addresses added, the multicast route when asked for. */
function configureContainer(cnl: Netlink, cidrs: readonly string[], multicast: boolean): void {
  const lo = findLink(cnl, "lo");
  if (lo && !lo.up) setLinkUp(cnl, lo.index);
  const ethwe = getLink(cnl, CONTAINER_IFNAME);
  if (!ethwe.up) setLinkUp(cnl, ethwe.index);
  const present = new Set(listAddrs(cnl, ethwe.index).map((a) => a.cidr));
  for (const cidr of cidrs) {
    if (!present.has(cidr)) ignoreExists(() => addAddr(cnl, ethwe.index, cidr));
  }
  if (!multicast) return;
  const routes = listRoutes(cnl, { dev: ethwe.index });
  if (!routes.some((r) => r.dst === MULTICAST_ROUTE)) {
    ignoreExists(() => addRoute(cnl, { dst: MULTICAST_ROUTE, dev: ethwe.index }));
  }
}

/**
 * Announces the container's addresses with gratuitous ARP, so that peers holding a neighbour
 * entry for an address that was elsewhere before (a container moved to another host) use the
 * new MAC at once. Weave 2.8.1 does not, and such peers wait for the old entry to go stale.
 * Best effort: a failure is logged, never fails the attach.
 */
function announce(
  ns: Namespaces,
  c: Container,
  cnl: Netlink,
  cidrs: readonly string[],
  log?: Logger,
): void {
  if (!ns.send || cidrs.length === 0) return;
  try {
    const ethwe = getLink(cnl, CONTAINER_IFNAME);
    const frames = cidrs.map((cidr) => gratuitousArp(ethwe.address ?? "", cidr.split("/")[0]));
    ns.send(c.path, ethwe.index, frames);
  } catch (e) {
    log?.warn(`Cannot announce addresses of "${c.id}": ${e instanceof Error ? e.message : e}`);
  }
}

/** The route to weaveDNS via ethwe and its permanent neighbour entry (the bridge's MAC). */
function ensureDnsRoute(cnl: Netlink, ip: string, bridgeMac: string): void {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(bridgeMac)) {
    throw new Error(`Cannot route to weaveDNS at ${ip}: the bridge has no MAC address`);
  }
  const ethwe = getLink(cnl, CONTAINER_IFNAME);
  const dst = `${formatIPv4(parseIPv4(ip))}/32`;
  if (!listRoutes(cnl, { dev: ethwe.index }).some((r) => r.dst === dst)) {
    ignoreExists(() => addRoute(cnl, { dst, dev: ethwe.index }));
  }
  const spec = {
    family: AF_INET,
    index: ethwe.index,
    state: NUD_PERMANENT,
    flags: 0,
    lladdr: bridgeMac,
    dst: ip,
  };
  cnl.request(
    neighMessage(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, spec),
    `add neighbour ${ip} lladdr ${bridgeMac} dev ${CONTAINER_IFNAME}`,
  );
}

function ignoreExists(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ExistsError)) throw e;
  }
}

function deleteQuietly(nl: Netlink, ref: string | number): void {
  try {
    deleteLink(nl, ref);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
}

/** ethwe's MAC and addresses, or undefined when the container has no ethwe. */
function describeContainer(id: string, cnl: Netlink): AttachedContainer | undefined {
  const ethwe = findLink(cnl, CONTAINER_IFNAME);
  if (!ethwe) return undefined;
  return { id, mac: ethwe.address ?? "", cidrs: listAddrs(cnl, ethwe.index).map((a) => a.cidr) };
}

/** Options of {@link detach}. */
export interface DetachOptions {
  container: string;
  /** Addresses to remove; none: everything (the veth goes). */
  cidrs?: readonly string[];
  namespaces?: Namespaces;
}

/**
 * Removes addresses from a container's ethwe; when none are given or none remain, removes the
 * veth pair. A container or veth that is already gone counts as success. Returns the container's
 * id and the addresses detached (the given ones, or all it had).
 *
 * @example
 * ```ts ignore
 * detach(nl, { container: "c1" }); // { id: "c1", cidrs: ["10.32.0.1/12"] }
 * ```
 */
export function detach(nl: Netlink, options: DetachOptions): { id: string; cidrs: string[] } {
  const given = options.cidrs && options.cidrs.length > 0
    ? parseHostCidrs(options.cidrs)
    : undefined;
  const c = resolveContainer(options.container);
  const ns = options.namespaces ?? systemNamespaces();
  const hostName = hostVethName(c.id);
  let cnl: Netlink;
  try {
    cnl = ns.netlink(c.path);
  } catch (e) {
    if (!(e instanceof ContainerNotFoundError)) throw e;
    deleteQuietly(nl, hostName); // its namespace is gone, so the veth normally went with it
    return { id: c.id, cidrs: given ?? [] };
  }
  try {
    const ethwe = findLink(cnl, CONTAINER_IFNAME);
    if (!ethwe) {
      deleteQuietly(nl, hostName);
      return { id: c.id, cidrs: given ?? [] };
    }
    const present = listAddrs(cnl, ethwe.index).map((a) => a.cidr);
    const doomed = given ?? present;
    if (present.every((p) => doomed.includes(p))) {
      if (findLink(nl, hostName)) deleteQuietly(nl, hostName);
      else deleteQuietly(cnl, ethwe.index);
    } else {
      for (const cidr of doomed.filter((d) => present.includes(d))) {
        try {
          delAddr(cnl, ethwe.index, cidr);
        } catch (e) {
          if (!(e instanceof NotFoundError)) throw e;
        }
      }
    }
    return { id: c.id, cidrs: doomed };
  } finally {
    cnl.close();
  }
}

/** Options of {@link listAttached}. */
export interface ListOptions {
  bridge?: string;
  /** Only these containers (`weave ps c1 c2`; `weave:expose` allowed); default: all. */
  containers?: readonly string[];
  /** Further ids to look for (e.g. those attached by path during this run). */
  known?: Iterable<string>;
  namespaces?: Namespaces;
}

/**
 * What `weave ps` lists: the bridge as `weave:expose` (its MAC and addresses) first, then every
 * attached container by id. With `containers`, just those (a missing one throws
 * ContainerNotFoundError; one without ethwe is skipped). Nothing when the bridge is absent.
 *
 * @example
 * ```ts ignore
 * formatPs(listAttached(nl, {})); // "weave:expose 7a:…\nc1 ce:… 10.32.0.1/12\n"
 * ```
 */
export function listAttached(nl: Netlink, options: ListOptions = {}): AttachedContainer[] {
  const ns = options.namespaces ?? systemNamespaces();
  const bridge = findLink(nl, options.bridge ?? DEFAULT_BRIDGE);
  if (!bridge || bridge.kind !== "bridge") return [];
  const expose = (): AttachedContainer => ({
    id: EXPOSE_ID,
    mac: bridge.address ?? "",
    cidrs: listAddrs(nl, bridge.index).map((a) => a.cidr),
  });
  if (options.containers) {
    const out: AttachedContainer[] = [];
    for (const ref of options.containers) {
      const entry = ref === EXPOSE_ID ? expose() : inspect(ns, resolveContainer(ref));
      if (entry) out.push(entry);
    }
    return out;
  }
  const ports = new Set(
    listLinks(nl)
      .filter((l) => l.master === bridge.index && l.name.startsWith(HOST_VETH_PREFIX))
      .map((l) => l.name),
  );
  const found: AttachedContainer[] = [];
  for (const id of new Set([...ns.candidates(), ...(options.known ?? [])])) {
    if (ports.size === 0) break;
    if (!ports.delete(hostVethName(id))) continue;
    try {
      const entry = inspect(ns, resolveContainer(id));
      if (entry) found.push(entry);
    } catch (e) {
      if (!(e instanceof ContainerNotFoundError)) throw e;
    }
  }
  found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return [expose(), ...found];
}

function inspect(ns: Namespaces, c: Container): AttachedContainer | undefined {
  const cnl = ns.netlink(c.path);
  try {
    return describeContainer(c.id, cnl);
  } finally {
    cnl.close();
  }
}

/**
 * Renders `weave ps` lines: `<id> <mac> <cidr>...`, one per entry.
 *
 * @example
 * ```ts
 * import { formatPs } from "./attach.ts";
 * formatPs([{ id: "c1", mac: "ce:15:34:a9:b5:6d", cidrs: ["10.2.5.1/24"] }]);
 * // "c1 ce:15:34:a9:b5:6d 10.2.5.1/24\n"
 * ```
 */
export function formatPs(entries: readonly AttachedContainer[]): string {
  return entries.map((e) => [e.id, e.mac, ...e.cidrs].join(" ") + "\n").join("");
}
