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
 * it all down. An undo that throws is logged: the rest still run, and the error that stopped
 * the start is the one the caller sees. The components themselves come from components.ts,
 * what they see of the mesh from mesh_views.ts.
 *
 * @module
 */
import { startApiServers } from "../api/server.ts";
import { CAPTURE_TAP_NAME, openCaptureTap } from "../datapath/capture_tap.ts";
import { plumbingRoutes } from "../datapath/http.ts";
import { NetworkRouter } from "../datapath/network_router.ts";
import { type NamedOverlay, OverlaySwitch } from "../datapath/overlay_switch.ts";
import { SleeveOverlay } from "../datapath/sleeve/sleeve.ts";
import { TapCapture } from "../datapath/tap_capture.ts";
import type { WeaveDns } from "../dns/weave_dns.ts";
import { type Allocator, ipamRoutes } from "../ipam/mod.ts";
import type { Logger } from "../lib/log.ts";
import { formatPeerName } from "../lib/peer_name.ts";
import { VERSION } from "../lib/version.ts";
import { MeshRouter } from "../mesh/router.ts";
import { NetlinkSocket } from "../sys/mod.ts";
import { fastdpFor, newAllocator, startDns, useBridge } from "./components.ts";
import type { WeaverConfig } from "./config.ts";
import { fastdpPeers, networkRouterMesh } from "./mesh_views.ts";
import { describeOptions, resolvePeerName } from "./peer_identity.ts";
import { dnsRoutes } from "../dns/http.ts";
import { proxyAddrsRoute } from "../docker/proxy_http.ts";
import type { DockerServices } from "../docker/services.ts";
import { trimWhenQuiet } from "./memory_trim.ts";
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
  "docker",
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
  /** Puts an undo on the stack; its failure is logged, so the error that stopped us shows. */
  const undo = (what: string, fn: () => unknown) =>
    stack.defer(async () => {
      try {
        await fn();
      } catch (e) {
        log.warn(`Cannot stop ${what}: ${e instanceof Error ? e.message : e}`);
      }
    });

  await step("netlink");
  const hostNl = new NetlinkSocket();
  undo("netlink socket", () => hostNl.close());
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
  undo("sleeve", () => sleeve.stop());
  await sleeve.start();
  await step("fastdp");
  if (fastdp) {
    undo("fastdp", () => fastdp.stop());
    await fastdp.start();
  }
  await step("capture");
  const network = startCapture({ config, hostNl, mesh, overlay, sleeve, log, undo });
  // Bursts (floods of connections, a forming mesh) otherwise leave RSS at their high-water mark.
  const trim = trimWhenQuiet(() => {
    const s = network.stats();
    return s.captured + s.injected;
  });
  undo("memory trim", () => trim[Symbol.dispose]());
  await step("mesh");
  undo("mesh", () => mesh.stop());
  startMesh(mesh, config.port);
  await step("ipam");
  if (ipam) {
    undo("IPAM", () => ipam.stop());
    await ipam.start();
  }
  await step("dns");
  const dns = config.noDns ? undefined : await startDns(config, { name, mesh, hostNl, ipam, log });
  if (dns) undo("weaveDNS", () => dns.stop());
  await step("api");
  const docker: { services?: DockerServices } = {};
  const servers = await startApi(config, {
    mesh,
    network,
    hostNl,
    ipam,
    dns,
    docker,
    log,
    onStop: opts.onStop,
  });
  undo("API servers", () => servers.close());
  // Calls waiting in IPAM (allocations, claims) end before the servers wait for them to finish.
  if (ipam) undo("IPAM", () => ipam.stop());
  await step("docker");
  docker.services = await startDocker(config, hostNl, log);
  if (docker.services) undo("Docker services", () => docker.services?.[Symbol.asyncDispose]());
  await step("peers");
  log.info(`Launch detected - using supplied peer list: [${config.peers.join(" ")}]`);
  for (const err of mesh.connectionMaker.initiateConnections(config.peers, false)) {
    log.error(err.message);
  }

  const owned = stack.move();
  return { mesh, [Symbol.asyncDispose]: () => owned.disposeAsync() };
}

/** The control API over every part's routes; see api/server.ts for where it listens. */
function startApi(
  config: WeaverConfig,
  p: {
    mesh: MeshRouter;
    network: NetworkRouter;
    hostNl: NetlinkSocket;
    ipam?: Allocator;
    dns?: WeaveDns;
    /** The Docker services, once started (after the API, which they call). */
    docker: { services?: DockerServices };
    log: Logger;
    onStop: () => void;
  },
): ReturnType<typeof startApiServers> {
  const { ipam, dns, log } = p;
  const routes = [
    ...plumbingRoutes({
      netlink: p.hostNl,
      log,
      bridge: config.bridge,
      mtu: config.mtu,
      ipam: ipam && plumbingIpam(ipam),
      dns: dns?.containers,
      watch: dns?.watch,
    }),
    ...(ipam ? ipamRoutes(ipam) : []),
    ...(dns ? dnsRoutes(dns.nameserver) : []),
    proxyAddrsRoute(() => p.docker.services?.proxyAddresses ?? []),
  ];
  const ops = routerOps({
    mesh: p.mesh,
    network: p.network,
    captureInterface: CAPTURE_TAP_NAME,
    ipam,
    nameserver: dns?.nameserver,
    routes,
    extraReport: () => p.docker.services?.report() ?? {},
    stop: p.onStop,
  });
  return startApiServers(ops, {
    httpAddr: config.httpAddr || undefined,
    socketPath: config.socketPath || undefined,
    statusAddr: config.statusAddr || undefined,
    metricsAddr: config.metricsAddr || undefined,
    log,
  });
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

/** What {@link startCapture} wires together. */
interface CaptureParts {
  config: WeaverConfig;
  hostNl: NetlinkSocket;
  mesh: MeshRouter;
  overlay: OverlaySwitch;
  sleeve: SleeveOverlay;
  log: Logger;
  /** Puts an undo on the teardown stack. */
  undo: (what: string, fn: () => unknown) => void;
}

/**
 * The sleeve side of the bridge: the capture TAP (datapath/capture_tap.ts), the capture loop
 * and the network router between the bridge and the overlay, each with its undo.
 */
function startCapture(p: CaptureParts): NetworkRouter {
  const tap = openCaptureTap(p.hostNl, p.config.bridge);
  p.undo("capture TAP", () => tap.close());
  const capture = new TapCapture({ tap, log: p.log });
  p.undo("capture", () => capture.stop());
  const network = new NetworkRouter({
    mesh: networkRouterMesh(p.mesh),
    overlay: p.overlay,
    inject: (f) => capture.inject(f),
    log: p.log,
  });
  p.overlay.setConsumer(network);
  p.mesh.onPeerGone((peer) => network.onPeerGone(peer));
  p.sleeve.reportCapture(() => capture.stats());
  p.undo("network router", () => network.stop());
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

/**
 * The Docker API proxy and network plugin, when configured and the engine answers (as Weave's
 * `weave launch` starts them beside the router); otherwise one line says why not. Loaded only
 * then, so a router without Docker carries none of their code.
 */
async function startDocker(
  config: WeaverConfig,
  netlink: NetlinkSocket,
  log: Logger,
): Promise<DockerServices | undefined> {
  const want = config.docker;
  if (!want || (!want.proxy && !want.plugin)) return undefined;
  // By a computed URL, so that the bundle (dist/weave.js, at the same depth as router/) leaves
  // them out and loads them from the sources only here.
  const load = (path: string) => import(new URL(path, import.meta.url).href);
  const { DockerClient }: typeof import("../docker/client.ts") = await load("../docker/client.ts");
  const { formatDockerHost }: typeof import("../docker/endpoint.ts") = await load(
    "../docker/endpoint.ts",
  );
  try {
    await new DockerClient(want.docker).ping();
  } catch (e) {
    log.info(
      `Docker engine at ${formatDockerHost(want.docker)} not answering (${
        e instanceof Error ? e.message : e
      }): Docker API proxy and plugin not started`,
    );
    return undefined;
  }
  const { startDockerServices }: typeof import("../docker/services.ts") = await load(
    "../docker/services.ts",
  );
  const api = {
    httpAddr: config.httpAddr || undefined,
    socketPath: config.socketPath || undefined,
  };
  return await startDockerServices({ config: want, api, log, netlink });
}
