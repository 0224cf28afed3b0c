/**
 * Attaching containers to the weave bridge (`weave attach`, `weave detach`, `weave ps`): the
 * steps in order — resolve the container (`container.ts`), make its veth pair (`veth.ts`),
 * route weaveDNS (`dns_route.ts`), announce its addresses (`announce.ts`). Everything is
 * idempotent: attaching again only adds what is missing and repairs what drifted, and a failed
 * first attach removes the veth it made. cli/ps.ts prints what {@link listAttached} finds.
 *
 * @module
 */
import { formatIPv4, parseIPv4 } from "../lib/cidr.ts";
import type { Logger } from "../lib/log.ts";
import {
  delAddr,
  findLink,
  type LinkInfo,
  listAddrs,
  listLinks,
  type Netlink,
  NotFoundError,
  parseIpNet,
} from "../sys/mod.ts";
import { announce } from "./announce.ts";
import { DEFAULT_BRIDGE, DEFAULT_MTU } from "./bridge.ts";
import {
  type Container,
  ContainerNotFoundError,
  type Namespaces,
  resolveContainer,
  systemNamespaces,
} from "./container.ts";
import { ensureDnsRoute } from "./dns_route.ts";
import { deleteQuietly } from "./_netlink_quiet.ts";
import {
  configureContainer,
  CONTAINER_IFNAME,
  ensureVeth,
  HOST_VETH_PREFIX,
  hostVethName,
} from "./veth.ts";

/** The `weave ps` name of the bridge's own (exposed) addresses. */
export const EXPOSE_ID = "weave:expose";

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
 * listAttached(nl, {}); // [{ id: "weave:expose", mac: "7a:…", cidrs: [] }, { id: "c1", … }]
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
