/**
 * The router daemon ("weaver"), the composition root: builds every component from one parsed
 * config, serves the control API, and tears everything down on `weave stop`, SIGTERM/SIGINT or
 * the caller's abort signal.
 *
 * As weaveworks/mesh's routers do, {@link startWeaver} works in three phases: construct the
 * components (no sockets yet), register them with each other (fastdp and IPAM with the mesh,
 * the network router with the overlay), then start them in order ({@link START_STEPS}). Every
 * start step first puts its undo on one `AsyncDisposableStack`, so when a step throws the stack
 * closes exactly what was opened, newest first, and when the router stops the same stack tears
 * it all down.
 *
 * @module
 */
import { startApiServers } from "../api/server.ts";
import { EXPOSE_ID, listAttached } from "../datapath/attach.ts";
import { ensureBridge } from "../datapath/bridge.ts";
import { CAPTURE_TAP_NAME, openCaptureTap } from "../datapath/capture_tap.ts";
import { containerExists } from "../datapath/container.ts";
import { FastDatapath, fastdpDecision, kernelFastdpHost } from "../datapath/fastdp/mod.ts";
import { plumbingRoutes } from "../datapath/http.ts";
import { NetworkRouter } from "../datapath/network_router.ts";
import { type NamedOverlay, OverlaySwitch } from "../datapath/overlay_switch.ts";
import { SleeveOverlay } from "../datapath/sleeve/sleeve.ts";
import { TapCapture } from "../datapath/tap_capture.ts";
import { startWeaveDns, type WeaveDns } from "../dns/weave_dns.ts";
import { Allocator, FileStore, ipamStatePath } from "../ipam/mod.ts";
import type { Logger } from "../lib/log.ts";
import { formatPeerName, type PeerName } from "../lib/peer_name.ts";
import { VERSION } from "../lib/version.ts";
import { MeshRouter } from "../mesh/router.ts";
import { espSupported } from "../sys/esp.ts";
import { NetlinkSocket } from "../sys/mod.ts";
import type { WeaverConfig } from "./config.ts";
import { fastdpPeers, ipamPeers, networkRouterMesh } from "./mesh_views.ts";
import { describeOptions, resolvePeerName } from "./peer_identity.ts";
import { plumbingIpam } from "./plumbing_ipam.ts";
import { routerOps } from "./router_ops.ts";

/** The start steps, in order. */
export const START_STEPS = [
  "netlink",
  "bridge",
  "sleeve",
  "fastdp",
  "capture",
  "mesh",
  "ipam",
  "dns",
  "api",
  "peers",
] as const;
/** One of {@link START_STEPS}. */
export type StartStep = typeof START_STEPS[number];

/** Options of {@link runWeaver}. */
export interface RunWeaverOptions {
  log: Logger;
  /** Aborting stops the router. */
  signal?: AbortSignal;
  /** Called once everything listens (tests). */
  onReady?: (mesh: MeshRouter) => void;
  /** Called before each start step; a throw fails the start there (tests inject failures). */
  beforeStep?: (step: StartStep) => void | Promise<void>;
}

/** Runs the router until it is stopped. */
export async function runWeaver(config: WeaverConfig, opts: RunWeaverOptions): Promise<void> {
  const { log } = opts;
  const stopped = Promise.withResolvers<void>();
  const stop = () => stopped.resolve();
  using _signals = stopOnSignals(stop, log);
  opts.signal?.addEventListener("abort", stop, { once: true });
  if (opts.signal?.aborted) stop();
  {
    await using weaver = await startWeaver(config, { ...opts, onStop: stop });
    opts.onReady?.(weaver.mesh);
    await stopped.promise;
  }
  log.info("*** exiting");
}

/** Options of {@link startWeaver}. */
export interface StartWeaverOptions {
  log: Logger;
  /** Called when the router is asked to stop (`weave stop`). */
  onStop: () => void;
  /** See {@link RunWeaverOptions.beforeStep}. */
  beforeStep?: (step: StartStep) => void | Promise<void>;
}

/** A started router; disposing it stops every component, newest first. */
export interface RunningWeaver extends AsyncDisposable {
  readonly mesh: MeshRouter;
}

/**
 * Builds and starts the router; when a step fails, closes what the earlier ones opened and
 * rethrows.
 *
 * @example
 * ```ts ignore
 * await using weaver = await startWeaver(config, { log, onStop: () => stopped.resolve() });
 * weaver.mesh.peers.all().length; // 1
 * ```
 */
export async function startWeaver(
  config: WeaverConfig,
  opts: StartWeaverOptions,
): Promise<RunningWeaver> {
  const { log } = opts;
  const step = async (s: StartStep) => await opts.beforeStep?.(s);
  log.info(`Command line options: ${describeOptions(config)}`);
  log.info(`weave  ${VERSION}`);
  const name = await resolvePeerName(config, log);
  await using stack = new AsyncDisposableStack();

  await step("netlink");
  const hostNl = stack.use(new NetlinkSocket());
  await step("bridge");
  useBridge(hostNl, config, log);
  log.info(
    config.password
      ? "Communication between peers via untrusted networks is encrypted."
      : "Communication between peers is unencrypted.",
  );

  // Construct.
  const sleeve = new SleeveOverlay({ localPeer: name, port: config.port, host: config.host, log });
  const { fastdp, off } = fastdpFor(config, name, hostNl, log);
  const overlays: NamedOverlay[] = [{ name: "sleeve", overlay: sleeve }];
  if (fastdp) overlays.unshift({ name: "fastdp", overlay: fastdp });
  const overlay = new OverlaySwitch(overlays, {
    log,
    unavailable: off === undefined ? {} : { fastdp: off },
  });
  const mesh = new MeshRouter({
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
  const ipam = config.ipallocRange ? newAllocator(config, name, mesh, log) : undefined;

  // Register.
  fastdp?.register(fastdpPeers(mesh));
  ipam?.register(mesh);

  // Start.
  await step("sleeve");
  stack.defer(() => sleeve.stop());
  await sleeve.start();
  await step("fastdp");
  if (fastdp) {
    stack.defer(() => fastdp.stop());
    await fastdp.start();
  }
  await step("capture");
  const network = startCapture(stack, { config, hostNl, mesh, overlay, sleeve, log });
  await step("mesh");
  stack.defer(() => mesh.stop());
  startMesh(mesh, config.port);
  await step("ipam");
  if (ipam) {
    stack.defer(() => ipam.stop());
    await ipam.start();
  }
  await step("dns");
  const dns = config.noDns ? undefined : await startDns(config, { name, mesh, hostNl, ipam, log });
  if (dns) stack.defer(() => dns.stop());
  await step("api");
  const routes = [
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
    ...(dns?.nameserver.routes() ?? []),
  ];
  const ops = routerOps({
    mesh,
    network,
    captureInterface: CAPTURE_TAP_NAME,
    ipam,
    nameserver: dns?.nameserver,
    routes,
    stop: opts.onStop,
  });
  const servers = await startApiServers(ops, {
    httpAddr: config.httpAddr || undefined,
    socketPath: config.socketPath || undefined,
    statusAddr: config.statusAddr || undefined,
    metricsAddr: config.metricsAddr || undefined,
    log,
  });
  stack.defer(() => servers.close());
  // Calls waiting in IPAM (allocations, claims) end before the servers wait for them to finish.
  if (ipam) stack.defer(() => ipam.stop());
  await step("peers");
  log.info(`Launch detected - using supplied peer list: [${config.peers.join(" ")}]`);
  for (const err of mesh.connectionMaker.initiateConnections(config.peers, false)) {
    log.error(err.message);
  }

  const owned = stack.move();
  return { mesh, [Symbol.asyncDispose]: () => owned.disposeAsync() };
}

/** SIGTERM and SIGINT call `stop` until disposed. */
function stopOnSignals(stop: () => void, log: Logger): Disposable {
  const onSignal = () => {
    log.info("=== received SIGINT/SIGTERM ===");
    stop();
  };
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  return { [Symbol.dispose]: () => signals.forEach((s) => Deno.removeSignalListener(s, onSignal)) };
}

/** Creates, adopts or repairs the weave bridge (it outlives the router, as Weave's does). */
function useBridge(nl: NetlinkSocket, config: WeaverConfig, log: Logger): void {
  const bridge = ensureBridge(nl, { name: config.bridge, mtu: config.mtu, log });
  log.info(
    bridge.created
      ? `Created bridge "${config.bridge}" (MTU ${config.mtu})`
      : `Using existing bridge "${config.bridge}"${
        bridge.repaired.length ? ` (repaired: ${bridge.repaired.join(", ")})` : ""
      }`,
  );
}

/**
 * The fast datapath when it may run: not with `--no-fastdp`, and not with a
 * password unless the kernel has IPsec ESP (this one lacks it: encrypted sleeve).
 */
function fastdpFor(
  config: WeaverConfig,
  localPeer: PeerName,
  nl: NetlinkSocket,
  log: Logger,
): { fastdp?: FastDatapath; off?: string } {
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
    bridge: config.bridge,
    port: config.port,
    mtu: config.mtu,
    host: kernelFastdpHost(nl),
    log,
  });
  return { fastdp };
}

/** What {@link startCapture} wires together. */
interface CaptureParts {
  config: WeaverConfig;
  hostNl: NetlinkSocket;
  mesh: MeshRouter;
  overlay: OverlaySwitch;
  sleeve: SleeveOverlay;
  log: Logger;
}

/**
 * The sleeve side of the bridge: the capture TAP (datapath/capture_tap.ts), the capture loop
 * and the network router between the bridge and the overlay; their undo goes on `stack`.
 */
function startCapture(stack: AsyncDisposableStack, p: CaptureParts): NetworkRouter {
  const tap = stack.use(openCaptureTap(p.hostNl, p.config.bridge));
  const capture = new TapCapture({ tap, log: p.log });
  stack.defer(() => capture.stop());
  const network = new NetworkRouter({
    mesh: networkRouterMesh(p.mesh),
    overlay: p.overlay,
    inject: (f) => capture.inject(f),
    log: p.log,
  });
  p.overlay.setConsumer(network);
  p.mesh.onPeerGone((peer) => network.onPeerGone(peer));
  p.sleeve.reportCapture(() => capture.stats());
  stack.defer(() => network.stop());
  network.start();
  capture.start((f) => network.handleCaptured(f));
  return network;
}

/** Starts the mesh's listener; a port in use says so. */
function startMesh(mesh: MeshRouter, port: number): void {
  try {
    mesh.start();
  } catch (e) {
    throw new Error(`Cannot listen on TCP port ${port}: ${(e as Error).message}`, { cause: e });
  }
}

function newAllocator(
  config: WeaverConfig,
  name: PeerName,
  mesh: MeshRouter,
  log: Logger,
): Allocator {
  return new Allocator({
    ourName: name,
    ourUID: mesh.ourUID,
    nickName: config.nickName,
    range: config.ipallocRange,
    defaultSubnet: config.ipallocDefaultSubnet || undefined,
    init: config.ipallocInit,
    store: new FileStore(ipamStatePath(config.dbPrefix)),
    log,
    peers: ipamPeers(mesh),
    clusterSize: () => config.peers.length + 1,
  });
}

/** weaveDNS: see dns/weave_dns.ts for where it listens and how containers reach it. */
function startDns(
  config: WeaverConfig,
  p: { name: PeerName; mesh: MeshRouter; hostNl: NetlinkSocket; ipam?: Allocator; log: Logger },
): Promise<WeaveDns> {
  const { ipam } = p;
  return startWeaveDns({
    ourName: p.name,
    mesh: p.mesh,
    domain: config.dnsDomain,
    ttl: config.dnsTtl,
    listenAddress: config.dnsListenAddress,
    upstream: { resolvConf: config.resolvConf, timeoutMs: config.dnsFallbackTimeoutMs },
    dbPrefix: config.dbPrefix,
    bridge: config.bridge,
    netlink: p.hostNl,
    attached: () =>
      listAttached(p.hostNl, { bridge: config.bridge }).filter((c) => c.id !== EXPOSE_ID),
    exists: containerExists,
    onGone: async (id) => {
      if (ipam?.ownedAddresses().some((o) => o.ident === id)) await ipam.delete(id);
    },
    log: p.log,
  });
}
