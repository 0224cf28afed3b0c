/**
 * `weave-net`: the main plugin (Weave's plugin/net/cni.go, on the current
 * spec). ADD gets an address (the router's IPAM, or the delegated
 * `ipam.type`), gives the bridge an address first when it has none (as
 * `weave:expose`), attaches the pod and answers the result; DEL removes the
 * interface and releases the address, forgiving of everything already gone
 * and of a config that no longer parses; CHECK compares what is in place
 * with the previous result and the router's allocations; STATUS and GC are
 * shared with `weave-ipam` (`common.ts`).
 *
 * @module
 */
import { formatIPv4, parseCidr, parseIPv4 } from "../lib/cidr.ts";
import { type NetConf, parseNetConf, type RouteConf } from "./config.ts";
import type { CommandOutput, Invocation, PluginDeps } from "./deps.ts";
import { CniCode, CniError } from "./errors.ts";
import { gcCommand, statusCommand } from "./common.ts";
import type { PodRoute } from "./plumbing.ts";
import type { PodRecord } from "./records.ts";
import { netnsId } from "../sys/netns.ts";
import { type CniResult, decodeResult, encodeResult } from "./result.ts";
import { requireCommandIn } from "./version.ts";

/** The IPAM owner of the bridge's own address, as `weave expose` names it. */
export const EXPOSE_OWNER = "weave:expose";
const DEFAULT_ROUTE = "0.0.0.0/0";

/**
 * Runs one `weave-net` command (not VERSION, which `main.ts` answers).
 *
 * @example
 * ```ts ignore
 * const out = await runNetPlugin({ args, stdin }, deps); // ADD: the result object
 * ```
 */
export function runNetPlugin(inv: Invocation, deps: PluginDeps): Promise<CommandOutput> {
  switch (inv.args.command) {
    case "ADD":
      return add(inv, deps);
    case "DEL":
      return del(inv, deps);
    case "CHECK":
      return check(inv, deps);
    case "STATUS":
      return statusCommand(inv, deps);
    case "GC":
      return gcCommand(inv, deps);
    default:
      throw new CniError(CniCode.InvalidEnv, `Cannot run ${inv.args.command} here`);
  }
}

/** The address part of an ADD: from our IPAM or the delegate. */
interface Addressing {
  address: string;
  gateway?: string;
  /** Undefined: none given (then the default route via the gateway). */
  routes?: RouteConf[];
  dns?: CniResult["dns"];
  /** Undoes the allocation when plumbing fails. */
  undo: () => Promise<unknown>;
}

async function add(inv: Invocation, deps: PluginDeps): Promise<CommandOutput> {
  const conf = parseNetConf(inv.stdin);
  const { containerId: id, netns, ifname } = inv.args;
  const addressing = await allocate(conf, inv, deps);
  try {
    const plumbing = deps.plumbing();
    let gateway = addressing.gateway;
    if (gateway === undefined && addressing.routes === undefined) {
      gateway = await bridgeGateway(conf, addressing.address, deps);
    }
    const routes = podRoutes(addressing.address, gateway, addressing.routes);
    const links = plumbing.setupPod({
      containerId: id,
      netns,
      ifname,
      bridge: conf.bridge,
      mtu: conf.mtu || inv.args.datapathMtu,
      hairpin: conf.hairpinMode,
      cidr: addressing.address,
      routes,
    });
    recordQuietly(deps, () => ({
      containerId: id,
      netns,
      ifname,
      hostVeth: links.host.name,
      hostNetns: netnsId(),
    }));
    const result: CniResult = {
      interfaces: [
        { name: links.host.name, mac: links.host.mac },
        { name: links.pod.name, mac: links.pod.mac, mtu: links.pod.mtu, sandbox: netns },
      ],
      ips: [{ address: addressing.address, gateway, interface: 1 }],
      routes: routes.filter((r) => r.gw !== undefined || r.dst !== `${gateway}/32`),
      dns: Object.keys(conf.dns).length > 0 ? conf.dns : addressing.dns ?? {},
    };
    return encodeResult(result, conf.cniVersion);
  } catch (e) {
    await addressing.undo().catch(() => {});
    throw e;
  }
}

/** Records the pod for `weave ps`; a failure here must not fail the ADD. */
function recordQuietly(deps: PluginDeps, record: () => PodRecord): void {
  try {
    deps.records?.write(record());
  } catch {
    // e.g. /run/weave not writable: `weave ps` will not list the pod, nothing else changes.
  }
}

async function allocate(conf: NetConf, inv: Invocation, deps: PluginDeps): Promise<Addressing> {
  const { ipam } = conf;
  if (ipam.type) {
    const got = decodeResult(await deps.delegate(ipam.type, "ADD", inv.stdin, inv.args));
    const ip = got.ips[0];
    if (!ip) {
      throw new CniError(CniCode.DelegateFailed, `IPAM plugin "${ipam.type}" gave no address`);
    }
    return {
      address: ip.address,
      gateway: ip.gateway,
      routes: got.routes.length > 0 ? got.routes : undefined,
      dns: got.dns,
      undo: () => deps.delegate(ipam.type!, "DEL", inv.stdin, inv.args),
    };
  }
  const id = inv.args.containerId;
  const address = await deps.ipam.allocate(id, ipam.subnet);
  return {
    address,
    gateway: ipam.gateway,
    routes: ipam.routes,
    undo: () => deps.ipam.release(id),
  };
}

/**
 * The bridge's address to route through: one in the pod's subnet, else its first (link-local
 * ones aside); when it has none, one from IPAM for `weave:expose`, put on the bridge first (as
 * Weave's plugin does).
 */
async function bridgeGateway(conf: NetConf, podCidr: string, deps: PluginDeps): Promise<string> {
  const plumbing = deps.plumbing();
  const bridge = plumbing.bridge(conf.bridge);
  if (!bridge) {
    throw new CniError(
      CniCode.TryAgainLater,
      `Cannot attach the pod: bridge "${conf.bridge}" does not exist (is weave running?)`,
    );
  }
  const subnet = parseCidr(podCidr);
  // Not weaveDNS's link-local address, which every host's bridge carries (dns/reach.ts).
  const usable = bridge.cidrs.filter((c) => !c.startsWith("169.254."));
  const inSubnet = usable.find((c) => sameNetwork(c, subnet));
  const chosen = inSubnet ?? usable[0];
  if (chosen) return chosen.split("/")[0];
  if (conf.ipam.type) {
    throw new CniError(
      CniCode.InvalidConfig,
      `Cannot route the pod: bridge "${conf.bridge}" has no address and IPAM plugin ` +
        `"${conf.ipam.type}" gave no gateway: set "ipam.gateway" or "ipam.routes"`,
    );
  }
  const cidr = await deps.ipam.allocate(EXPOSE_OWNER, conf.ipam.subnet);
  plumbing.addBridgeAddr(conf.bridge, cidr);
  return cidr.split("/")[0];
}

function sameNetwork(cidr: string, subnet: { network: number; prefix: number }): boolean {
  const c = parseCidr(cidr);
  return c.prefix === subnet.prefix && c.network === subnet.network;
}

/**
 * The pod's routes: those given (each via its own `gw`, else the gateway), or, when none are
 * given, a default route via the gateway, after a link route to the gateway when it lies
 * outside the pod's subnet.
 *
 * @example
 * ```ts
 * import { podRoutes } from "./net_plugin.ts";
 * podRoutes("10.32.0.2/12", "10.32.0.1", undefined); // [{ dst: "0.0.0.0/0", gw: "10.32.0.1" }]
 * ```
 */
export function podRoutes(
  podCidr: string,
  gateway: string | undefined,
  given: readonly RouteConf[] | undefined,
): PodRoute[] {
  if (given !== undefined) {
    return given.map((r) => {
      const gw = r.gw ?? gateway;
      return gw === undefined ? { dst: r.dst } : { dst: r.dst, gw };
    });
  }
  if (gateway === undefined) return [];
  const subnet = parseCidr(podCidr);
  const gw = parseIPv4(gateway);
  const size = 2 ** (32 - subnet.prefix);
  const inside = gw >= subnet.network && gw < subnet.network + size;
  const out: PodRoute[] = inside ? [] : [{ dst: `${formatIPv4(gw)}/32` }];
  out.push({ dst: DEFAULT_ROUTE, gw: gateway });
  return out;
}

async function del(inv: Invocation, deps: PluginDeps): Promise<CommandOutput> {
  let conf: NetConf | undefined;
  try {
    conf = parseNetConf(inv.stdin);
  } catch {
    // DEL must succeed even when the config no longer parses: remove and release all we can.
  }
  const { containerId, netns, ifname } = inv.args;
  deps.plumbing().teardownPod({ containerId, netns, ifname });
  deps.records?.remove(containerId);
  if (conf?.ipam.type) await deps.delegate(conf.ipam.type, "DEL", inv.stdin, inv.args);
  else await deps.ipam.release(containerId);
  return undefined;
}

async function check(inv: Invocation, deps: PluginDeps): Promise<CommandOutput> {
  const conf = parseNetConf(inv.stdin);
  requireCommandIn("CHECK", conf.cniVersion);
  const { containerId, netns, ifname } = inv.args;
  const prev = conf.prevResult ? decodeResult(conf.prevResult) : undefined;
  const state = deps.plumbing().inspectPod({ containerId, netns, ifname, bridge: conf.bridge });
  const fail = (what: string) =>
    new CniError(CniCode.CheckFailed, `CHECK of ${containerId} failed: ${what}`);
  if (!state.pod) throw fail(`interface "${ifname}" is missing from ${netns}`);
  if (!state.pod.up) throw fail(`interface "${ifname}" is down`);
  if (!state.host) throw fail(`the host veth of the pod is missing`);
  if (state.host.bridge !== conf.bridge) {
    throw fail(`veth "${state.host.name}" is not a port of bridge "${conf.bridge}"`);
  }
  if (!state.host.up) throw fail(`veth "${state.host.name}" is down`);
  if (state.host.peer !== state.pod.index || state.pod.peer !== state.host.index) {
    throw fail(`veth "${state.host.name}" is not the other end of "${ifname}"`);
  }
  const wanted = prev?.ips.map((ip) => ip.address) ?? [];
  for (const cidr of wanted) {
    if (!state.pod.cidrs.includes(cidr)) throw fail(`address ${cidr} is missing from "${ifname}"`);
  }
  for (const r of prev?.routes ?? []) {
    const found = state.pod.routes.some((p) => p.dst === r.dst && (!r.gw || p.gw === r.gw));
    if (!found) throw fail(`route ${r.dst}${r.gw ? ` via ${r.gw}` : ""} is missing`);
  }
  if (conf.ipam.type) {
    await deps.delegate(conf.ipam.type, "CHECK", inv.stdin, inv.args);
    return undefined;
  }
  const held = (await deps.ipam.owned()).find((o) => o.containerid === containerId)?.addrs ?? [];
  for (const cidr of wanted.length > 0 ? wanted : state.pod.cidrs) {
    if (!held.includes(cidr)) throw fail(`the router no longer holds ${cidr} for it`);
  }
  if (held.length === 0) throw fail("the router holds no address for it");
  return undefined;
}
