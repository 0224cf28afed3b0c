/**
 * The kernel side of the plugin, through `sys/` netlink: the veth pair of a
 * pod, as Weave's plugin sets it up (plugin/net/cni.go, net/veth.go):
 *
 * - the host end `vethwepl<id[:7]>` on the bridge, with hairpin mode as
 *   configured and `accept_ra=0` (no IPv6 router advertisements from pods,
 *   CVE-2020-11091), up;
 * - the pod end created straight inside the pod's namespace as CNI_IFNAME
 *   (no temporary name in the host), with the MTU of both ends the
 *   configured one or the datapath's, Weave's ARP settings
 *   (`base_reachable_time=5`, `delay_first_probe_time=2`, `ucast_solicit=1`,
 *   `arp_accept=1`: pods follow a moved address quickly), the address, the
 *   routes, and a gratuitous ARP for the address.
 *
 * A retried ADD finds the pair in place and only adds what is missing (and
 * drops an address or MTU that is no longer the pod's). A
 * host veth of that name without the pod's interface belongs to another
 * container whose id starts with the same 7 characters: refused, never
 * deleted. A veth dies with its namespace, so DEL of a vanished namespace
 * has nothing left to remove.
 *
 * @module
 */
import { gratuitousArp } from "../lib/arp.ts";
import {
  addAddr,
  addRoute,
  addVeth,
  delAddr,
  deleteLink,
  ExistsError,
  findLink,
  getLink,
  type LinkInfo,
  listAddrs,
  listLinks,
  listRoutes,
  type Netlink,
  NetlinkSocket,
  NotFoundError,
  openNetns,
  setBridgePort,
  setLinkUp,
  setMaster,
  setMtu,
  withNetns,
  writeSysctl,
} from "../sys/mod.ts";
import { PacketSocket } from "../sys/packet_socket.ts";
import { CniCode, CniError } from "./errors.ts";
import {
  hostVethName,
  type LinkSummary,
  type Plumbing,
  type PodRef,
  type PodSpec,
  type PodState,
} from "./plumbing.ts";

/** Weave's ARP settings of a container interface (net/arp.go). */
const ARP_SYSCTLS: [string, string][] = [
  ["net/ipv4/neigh/IF/base_reachable_time", "5"],
  ["net/ipv4/neigh/IF/delay_first_probe_time", "2"],
  ["net/ipv4/neigh/IF/ucast_solicit", "1"],
  ["net/ipv4/conf/IF/arp_accept", "1"],
];

/**
 * The real {@link Plumbing}: `nl` is a netlink socket of the plugin's own
 * (host) namespace, which the runtime runs plugins in.
 *
 * @example
 * ```ts ignore
 * using nl = new NetlinkSocket();
 * kernelPlumbing(nl).teardownPod({ containerId, netns, ifname: "eth0" });
 * ```
 */
export function kernelPlumbing(nl: Netlink): Plumbing {
  return {
    bridge(name) {
      const br = findLink(nl, name);
      if (!br || br.kind !== "bridge") return undefined;
      return { mtu: br.mtu ?? 0, cidrs: listAddrs(nl, br.index).map((a) => a.cidr) };
    },
    addBridgeAddr(name, cidr) {
      ignoreExists(() => addAddr(nl, name, cidr));
    },
    setupPod: (spec) => setupPod(nl, spec),
    teardownPod: (ref) => teardownPod(ref),
    inspectPod: (ref) => inspectPod(nl, ref),
  };
}

function setupPod(nl: Netlink, spec: PodSpec): { host: LinkSummary; pod: LinkSummary } {
  const bridge = findLink(nl, spec.bridge);
  if (!bridge || bridge.kind !== "bridge") {
    throw new CniError(
      CniCode.TryAgainLater,
      `Cannot attach the pod: bridge "${spec.bridge}" does not exist (is weave running?)`,
    );
  }
  const mtu = spec.mtu;
  const hostName = hostVethName(spec.containerId);
  const pnl = podNetlink(spec.netns);
  try {
    let host = findLink(nl, hostName);
    let podIf = findLink(pnl, spec.ifname);
    if (host && !podIf) {
      throw new CniError(
        CniCode.PlumbingFailed,
        `Cannot create veth "${hostName}": it exists and is not this pod's ` +
          `(another container id starts with "${spec.containerId.slice(0, 7)}")`,
      );
    }
    if (!host && podIf) {
      throw new CniError(
        CniCode.PlumbingFailed,
        `Cannot create interface "${spec.ifname}" in ${spec.netns}: the pod has one already`,
      );
    }
    const created = !host;
    if (!host) {
      using ns = openNetns(spec.netns);
      addVeth(nl, hostName, { peerName: spec.ifname, mtu, peerNetnsFd: ns.fd });
    }
    try {
      host = configureHost(nl, hostName, bridge, { hairpin: spec.hairpin, mtu });
      podIf = configurePod(pnl, spec);
    } catch (e) {
      if (created) ignoreNotFound(() => deleteLink(nl, hostName));
      throw plumbingError(e, `Cannot set up the pod's veth "${hostName}"`);
    }
    announce(spec, podIf);
    return { host: summary(host), pod: summary(podIf) };
  } finally {
    pnl.close();
  }
}

function configureHost(
  nl: Netlink,
  name: string,
  bridge: LinkInfo,
  x: { hairpin: boolean; mtu: number },
): LinkInfo {
  const { hairpin, mtu } = x;
  const link = getLink(nl, name);
  if (link.mtu !== mtu) setMtu(nl, link.index, mtu);
  if (link.master !== bridge.index) setMaster(nl, link.index, bridge.index);
  setBridgePort(nl, link.index, { hairpin });
  ignoreNotFound(() => writeSysctl(`net/ipv6/conf/${name}/accept_ra`, "0"));
  if (!link.up) setLinkUp(nl, link.index);
  return getLink(nl, name);
}

function configurePod(pnl: Netlink, spec: PodSpec): LinkInfo {
  const lo = findLink(pnl, "lo");
  if (lo && !lo.up) setLinkUp(pnl, lo.index);
  const link = getLink(pnl, spec.ifname);
  withNetns(spec.netns, () => {
    for (const [key, value] of ARP_SYSCTLS) writeSysctl(key.replace("IF", spec.ifname), value);
  });
  if (!link.up) setLinkUp(pnl, link.index);
  const present = new Set(listAddrs(pnl, link.index).map((a) => a.cidr));
  if (!present.has(spec.cidr)) ignoreExists(() => addAddr(pnl, link.index, spec.cidr));
  // A retried ADD that was given another address: the old one is no longer the pod's.
  for (const old of present) {
    if (old !== spec.cidr) ignoreNotFound(() => delAddr(pnl, link.index, old));
  }
  if (link.mtu !== spec.mtu) setMtu(pnl, link.index, spec.mtu);
  for (const r of spec.routes) {
    ignoreExists(() =>
      addRoute(
        pnl,
        r.gw ? { dst: r.dst, gateway: r.gw, dev: link.index } : {
          dst: r.dst,
          dev: link.index,
        },
      )
    );
  }
  return getLink(pnl, spec.ifname);
}

/** One gratuitous ARP for the pod's address; best effort (the pod works without it). */
function announce(spec: PodSpec, link: LinkInfo): void {
  try {
    using socket = withNetns(spec.netns, () => new PacketSocket({ ifindex: link.index }));
    socket.send(gratuitousArp(link.address ?? "", spec.cidr.split("/")[0]));
  } catch {
    // No CAP_NET_RAW, or the interface went down meanwhile: peers learn the address by ARP.
  }
}

function teardownPod(ref: PodRef): void {
  if (ref.netns === "") return;
  let pnl: Netlink;
  try {
    pnl = podNetlink(ref.netns);
  } catch (e) {
    if (e instanceof CniError && e.code === CniCode.UnknownContainer) return;
    throw e;
  }
  try {
    ignoreNotFound(() => deleteLink(pnl, ref.ifname));
  } catch (e) {
    throw plumbingError(e, `Cannot remove interface "${ref.ifname}" from ${ref.netns}`);
  } finally {
    pnl.close();
  }
}

function inspectPod(nl: Netlink, ref: PodRef & { bridge: string }): PodState {
  const state: PodState = {};
  const host = findLink(nl, hostVethName(ref.containerId));
  if (host) {
    const master = host.master === undefined
      ? undefined
      : listLinks(nl).find((l) => l.index === host.master)?.name;
    state.host = {
      ...summary(host),
      bridge: master,
      up: host.up,
      index: host.index,
      peer: host.link,
    };
  }
  const pnl = podNetlink(ref.netns);
  try {
    const link = findLink(pnl, ref.ifname);
    if (link) {
      const routes = listRoutes(pnl, { dev: link.index })
        .map((r) => (r.gateway ? { dst: r.dst, gw: r.gateway } : { dst: r.dst }));
      const cidrs = listAddrs(pnl, link.index).map((a) => a.cidr);
      state.pod = {
        ...summary(link),
        up: link.up,
        cidrs,
        routes,
        index: link.index,
        peer: link.link,
      };
    }
  } finally {
    pnl.close();
  }
  return state;
}

function podNetlink(netns: string): Netlink {
  try {
    return withNetns(netns, () => new NetlinkSocket());
  } catch (e) {
    if (e instanceof NotFoundError) {
      throw new CniError(
        CniCode.UnknownContainer,
        `Cannot enter the pod's network namespace "${netns}": it does not exist`,
        { cause: e },
      );
    }
    throw plumbingError(e, `Cannot enter the pod's network namespace "${netns}"`);
  }
}

function summary(link: LinkInfo): LinkSummary {
  return { name: link.name, mac: link.address ?? "", mtu: link.mtu ?? 0 };
}

function plumbingError(e: unknown, what: string): CniError {
  if (e instanceof CniError) return e;
  return new CniError(CniCode.PlumbingFailed, `${what}: ${(e as Error).message}`, { cause: e });
}

function ignoreExists(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ExistsError)) throw e;
  }
}

function ignoreNotFound(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
}
