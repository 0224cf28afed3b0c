/**
 * The router daemon ("weaver"): builds every component from one parsed
 * config, starts them in order, serves the control API, and tears everything
 * down on `weave stop`, SIGTERM/SIGINT or the caller's abort signal.
 *
 * @module
 */
import { ApiError, type RouterOps } from "../api/ops.ts";
import { startApiServers } from "../api/server.ts";
import { OverlaySwitch } from "../datapath/overlay_switch.ts";
import { SleeveOverlay } from "../datapath/sleeve/sleeve.ts";
import type { Logger } from "../lib/log.ts";
import { formatPeerName, parsePeerName, type PeerName } from "../lib/peer_name.ts";
import { VERSION } from "../lib/version.ts";
import { MeshRouter } from "../mesh/router.ts";
import type { WeaverConfig } from "./config.ts";
import { loadState, saveState, statePath } from "./state_store.ts";
import { buildReport } from "./status.ts";
import type { Nameserver } from "../dns/nameserver.ts";
import { startWeaveDns, type WeaveDns } from "../dns/weave_dns.ts";
import { containerExists, EXPOSE_ID, listAttached } from "../datapath/attach.ts";
import { ensureBridge } from "../datapath/bridge.ts";
import { plumbingRoutes } from "../datapath/http.ts";
import {
  deleteLink,
  findLink,
  NetlinkSocket,
  openTap,
  setBridgePortIsolated,
  setLinkUp,
  setMaster,
} from "../sys/mod.ts";
import { MEMORY_TRIM_INTERVAL_MS, releaseFreedMemory } from "../sys/memory.ts";
import { espSupported } from "../sys/esp.ts";
import { FastDatapath, fastdpDecision, kernelFastdpHost } from "../datapath/fastdp/mod.ts";
import { NetworkRouter } from "../datapath/network_router.ts";
import { TapCapture } from "../datapath/tap_capture.ts";
import type { NamedOverlay } from "../datapath/overlay_switch.ts";
import { Allocator, FileStore, ipamStatePath } from "../ipam/mod.ts";
import { plumbingIpam } from "./plumbing_ipam.ts";
import type { ApiRoute } from "../api/ops.ts";

/** Options of {@link runWeaver}. */
export interface RunWeaverOptions {
  log: Logger;
  /** Aborting stops the router. */
  signal?: AbortSignal;
  /** Called once everything listens (tests). */
  onReady?: (mesh: MeshRouter) => void;
}

/** Runs the router until it is stopped. */
export async function runWeaver(config: WeaverConfig, opts: RunWeaverOptions): Promise<void> {
  const { log } = opts;
  log.info(`Command line options: ${describeOptions(config)}`);
  log.info(`weave  ${VERSION}`);
  const name = await resolvePeerName(config, log);
  const hostNl = new NetlinkSocket();
  const bridge = ensureBridge(hostNl, { name: config.bridge, mtu: config.mtu, log });
  log.info(
    bridge.created
      ? `Created bridge "${config.bridge}" (MTU ${config.mtu})`
      : `Using existing bridge "${config.bridge}"${
        bridge.repaired.length ? ` (repaired: ${bridge.repaired.join(", ")})` : ""
      }`,
  );
  log.info(
    config.password
      ? "Communication between peers via untrusted networks is encrypted."
      : "Communication between peers is unencrypted.",
  );
  const sleeve = new SleeveOverlay({
    localPeer: name,
    port: config.port,
    host: config.host,
    log,
  });
  await sleeve.start();
  // deno-lint-ignore prefer-const
  let mesh: MeshRouter;
  const { fastdp, off } = await startFastdp(config, name, hostNl, () => mesh, log);
  const overlays: NamedOverlay[] = [{ name: "sleeve", overlay: sleeve }];
  if (fastdp) overlays.unshift({ name: "fastdp", overlay: fastdp });
  const overlay = new OverlaySwitch(overlays, {
    log,
    unavailable: off === undefined ? {} : { fastdp: off },
  });
  mesh = new MeshRouter({
    name,
    nickName: config.nickName,
    port: config.port,
    host: config.host,
    password: config.password,
    trustedSubnets: config.trustedSubnets,
    connLimit: config.connLimit,
    discovery: config.discovery,
    overlay,
    log,
  });
  log.info(`Our name is ${formatPeerName(name)}(${config.nickName})`);
  const datapath = startSleeveCapture(config, hostNl, mesh, overlay, log);
  sleeve.reportCapture(() => datapath.capture.stats());
  try {
    mesh.start();
  } catch (e) {
    await overlay.stop();
    throw new Error(`Cannot listen on TCP port ${config.port}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  let ipam: Allocator | undefined;
  if (config.ipallocRange) {
    ipam = new Allocator({
      ourName: name,
      ourUID: mesh.ourUID,
      nickName: config.nickName,
      range: config.ipallocRange,
      defaultSubnet: config.ipallocDefaultSubnet || undefined,
      init: config.ipallocInit,
      store: new FileStore(ipamStatePath(config.dbPrefix)),
      log,
      peers: () =>
        mesh.peers.all().map((p) => ({
          name: p.name,
          nickName: p.nickName,
          reachable: p.name === name || mesh.routes.unicastAll(p.name) !== undefined,
        })),
      clusterSize: () => config.peers.length + 1,
    });
    ipam.register(mesh);
    await ipam.start();
  }
  // weaveDNS: see dns/weave_dns.ts for where it listens and how containers reach it.
  const dns: WeaveDns | undefined = config.noDns ? undefined : await startWeaveDns({
    ourName: name,
    mesh,
    domain: config.dnsDomain,
    ttl: config.dnsTtl,
    listenAddress: config.dnsListenAddress,
    upstream: { resolvConf: config.resolvConf, timeoutMs: config.dnsFallbackTimeoutMs },
    dbPrefix: config.dbPrefix,
    bridge: config.bridge,
    netlink: hostNl,
    attached: () =>
      listAttached(hostNl, { bridge: config.bridge }).filter((c) => c.id !== EXPOSE_ID),
    exists: containerExists,
    onGone: async (id) => {
      if (ipam?.ownedAddresses().some((o) => o.ident === id)) await ipam.delete(id);
    },
    log,
  });
  const nameserver = dns?.nameserver;
  const routes: ApiRoute[] = [
    ...plumbingRoutes({
      netlink: hostNl,
      log,
      bridge: config.bridge,
      mtu: config.mtu,
      ipam: ipam && plumbingIpam(ipam),
      dns: dns?.containers,
      watch: dns?.watch,
    }),
    ...(ipam?.routes() ?? []),
    ...(nameserver?.routes() ?? []),
  ];
  log.info(`Launch detected - using supplied peer list: [${config.peers.join(" ")}]`);
  for (const err of mesh.connectionMaker.initiateConnections(config.peers, false)) {
    log.error(err.message);
  }

  const stopped = Promise.withResolvers<void>();
  const subsystems: Subsystems = { nameserver, ipam, datapath };
  const ops = routerOps(mesh, subsystems, routes, () => stopped.resolve());
  const servers = await startApiServers(ops, {
    httpAddr: config.httpAddr || undefined,
    socketPath: config.socketPath || undefined,
    statusAddr: config.statusAddr || undefined,
    metricsAddr: config.metricsAddr || undefined,
    log,
  });
  const onSignal = () => {
    log.info("=== received SIGINT/SIGTERM ===");
    stopped.resolve();
  };
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  opts.signal?.addEventListener("abort", () => stopped.resolve(), { once: true });
  if (opts.signal?.aborted) stopped.resolve();
  opts.onReady?.(mesh);
  // Bursts (floods of connections, a forming mesh) otherwise leave RSS at their high-water mark.
  const trimTimer = setInterval(releaseFreedMemory, MEMORY_TRIM_INTERVAL_MS);

  await stopped.promise;
  clearInterval(trimTimer);
  for (const s of signals) Deno.removeSignalListener(s, onSignal);
  ipam?.stop();
  mesh.stop();
  await dns?.stop();
  datapath.router.stop();
  await datapath.capture.stop();
  await overlay.stop();
  hostNl.close();
  await servers.close();
  log.info("*** exiting");
}

/** Optional subsystems that add to the report. */
interface Subsystems {
  nameserver?: Nameserver;
  ipam?: Allocator;
  datapath: { router: NetworkRouter; capture: TapCapture };
}

/**
 * Which neighbours pass our broadcasts on: those through which some other peer is
 * reached. Recomputed at most once a second (it is asked per broadcast frame).
 */
function relayHops(mesh: MeshRouter): (hop: PeerName) => boolean {
  let at = 0;
  let hops = new Set<PeerName>();
  return (hop) => {
    const now = Date.now();
    if (now - at > 1000) {
      at = now;
      hops = new Set();
      for (const p of mesh.peers.all()) {
        const via = mesh.routes.unicast(p.name);
        if (via !== undefined && via !== 0n && via !== p.name) hops.add(via);
      }
    }
    return hops.has(hop);
  };
}

/** The TAP port through which sleeve sees and injects the bridge's frames. */
const TAP_NAME = "vethwe-pcap";
/** The largest MTU a TAP accepts. */
const TAP_MTU = 65521;

/**
 * The fast datapath when it may run: not with `--no-fastdp`, and not with a
 * password unless the kernel has IPsec ESP (this one lacks it: encrypted sleeve).
 */
async function startFastdp(
  config: WeaverConfig,
  localPeer: PeerName,
  nl: NetlinkSocket,
  mesh: () => MeshRouter,
  log: Logger,
): Promise<{ fastdp?: FastDatapath; off?: string }> {
  const decision = fastdpDecision({
    password: config.password !== undefined,
    noFastdp: config.noFastdp,
    esp: espSupported,
  });
  if (!decision.enabled) {
    log.info(`Fast datapath disabled: ${decision.reason}`);
    return { off: decision.brief };
  }
  const fastdp = new FastDatapath({
    localPeer,
    shortID: () => mesh().peers.ourself.shortID,
    peerShortID: (n) => {
      const p = mesh().peers.get(n);
      return p?.hasShortID ? p.shortID : undefined;
    },
    bridge: config.bridge,
    port: config.port,
    mtu: config.mtu,
    host: kernelFastdpHost(nl),
    log,
  });
  await fastdp.start();
  return { fastdp };
}

/**
 * The sleeve side of the bridge: a TAP port (isolated, so frames that came in over
 * fastdp's VXLAN ports are not captured and re-sent, and frames injected from
 * sleeve never leave through VXLAN), the capture loop and the network router.
 */
function startSleeveCapture(
  config: WeaverConfig,
  nl: NetlinkSocket,
  mesh: MeshRouter,
  overlay: OverlaySwitch,
  log: Logger,
): { router: NetworkRouter; capture: TapCapture } {
  if (findLink(nl, TAP_NAME)) deleteLink(nl, TAP_NAME);
  const tap = openTap(TAP_NAME, { mtu: TAP_MTU, offload: true });
  setMaster(nl, TAP_NAME, config.bridge);
  setBridgePortIsolated(nl, TAP_NAME, true);
  setLinkUp(nl, TAP_NAME);
  // deno-lint-ignore prefer-const
  let capture: TapCapture;
  const router = new NetworkRouter({
    mesh: {
      ourName: mesh.ourName,
      unicastNextHop: (d) => mesh.routes.unicast(d),
      broadcastNextHops: (o) => mesh.routes.broadcast(o),
      peerNick: (p) => mesh.peers.get(p)?.nickName,
      relaysVia: relayHops(mesh),
    },
    overlay,
    inject: (f) => capture.inject(f),
    log,
  });
  capture = new TapCapture({ tap, handler: (f) => router.handleCaptured(f), log });
  overlay.setConsumer(router);
  mesh.onPeerGone((p) => router.onPeerGone(p));
  router.start();
  capture.start();
  return { router, capture };
}

function routerOps(
  mesh: MeshRouter,
  subsystems: Subsystems,
  routes: ApiRoute[],
  stop: () => void,
): RouterOps {
  return {
    routes,
    report: () => {
      const report = buildReport(mesh, true);
      report.Router.Interface = `${TAP_NAME} (via tap)`;
      report.Router.MACs = subsystems.datapath.router.macs();
      if (subsystems.ipam) report.IPAM = subsystems.ipam.report();
      if (subsystems.nameserver) report.DNS = subsystems.nameserver.report();
      return report;
    },
    connect(peers, replace) {
      const errors = mesh.connectionMaker.initiateConnections(peers, replace);
      if (errors.length) throw new ApiError(400, errors.map((e) => e.message).join("\n"));
    },
    forget(peers) {
      mesh.connectionMaker.forgetConnections(peers);
    },
    stop() {
      stop();
      return Promise.resolve();
    },
  };
}

/**
 * Our peer name: `--name` if given, else the persisted one, else a new random
 * locally administered MAC (persisted, so restarts keep it — never derived from
 * the machine-id, so cloned machines and namespaces on one host don't collide).
 */
async function resolvePeerName(config: WeaverConfig, log: Logger): Promise<PeerName> {
  const path = statePath(config.dbPrefix);
  const state = (await loadState(path)) ?? {};
  if (config.name !== undefined) {
    if (state.peerName !== formatPeerName(config.name)) {
      await saveState(path, { ...state, peerName: formatPeerName(config.name) });
    }
    return config.name;
  }
  if (typeof state.peerName === "string") return parsePeerName(state.peerName);
  const name = randomLocalMac();
  await saveState(path, { ...state, peerName: formatPeerName(name) });
  log.info(`Generated a new peer name ${formatPeerName(name)} (saved in ${path})`);
  return name;
}

/** A random MAC with the locally-administered bit set and the multicast bit clear. */
export function randomLocalMac(): PeerName {
  const b = crypto.getRandomValues(new Uint8Array(6));
  b[0] = (b[0] | 0x02) & 0xfe;
  return b.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
}

function describeOptions(c: WeaverConfig): string {
  const opts: Record<string, string> = {
    "conn-limit": String(c.connLimit),
    "db-prefix": c.dbPrefix,
    "http-addr": c.httpAddr,
    nickname: c.nickName,
    port: String(c.port),
  };
  if (c.name !== undefined) opts.name = formatPeerName(c.name);
  if (c.password) opts.password = "<redacted>";
  if (!c.discovery) opts["no-discovery"] = "true";
  if (c.statusAddr) opts["status-addr"] = c.statusAddr;
  if (c.metricsAddr) opts["metrics-addr"] = c.metricsAddr;
  if (c.trustedSubnets.length) opts["trusted-subnets"] = c.trustedSubnets.join(",");
  const keys = Object.keys(opts).sort();
  return `map[${keys.map((k) => `${k}:${opts[k]}`).join(" ")}]`;
}
