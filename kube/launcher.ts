/**
 * `weave kube-launch`: what Weave's `launch.sh` and the kube-utils calls it
 * made do, in one supervised process that never crash-loops because the
 * API is away (user lessons #5):
 *
 * 1. parse the environment (one line naming a bad variable, exit 1);
 * 2. take over Weave Net 2.8.1's state under `DB_PREFIX` on the first start
 *    (`upgrade.ts`), unless another peer reclaimed it;
 * 3. find the peers: `KUBE_PEERS`, else the Node list; when the API does not
 *    answer, the last peers known (kept beside the state), else wait for it;
 * 4. start the router with Weave's arguments and wait until it answers;
 * 5. install the CNI plugin (`HOST_ROOT`), join the peer list and reclaim
 *    dead peers, hand the router the current peers (`connect?replace=true`),
 *    mark the Node's network up;
 * 6. then follow the Nodes: every change updates the router's peers and
 *    the saved last peers; every deletion runs reclaim again.
 *
 * Everything that touches the world is a seam in {@link LauncherSeams}.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import type { KubeClient } from "./client.ts";
import {
  type LaunchConfig,
  LaunchConfigError,
  parseLaunchEnv,
  type RouterLaunch,
  routerLaunch,
} from "./launch_config.ts";
import { setNetworkUp } from "./node_status.ts";
import { type KubeNode, watchNodes } from "./node_watch.ts";
import { type KubePeers, peersFromList, peersFromNodes } from "./peers.ts";
import {
  addSelfToPeerList,
  configMapAccess,
  type ReclaimOptions,
  reclaimRemovedPeers,
} from "./reclaim.ts";
import type { RouterControl } from "./router_control.ts";
import { type AdoptedState, adoptWeaveState, loadWeaveState, upgradeDecision } from "./upgrade.ts";
import { readPeerList } from "./peer_list.ts";

/** A started router process. */
export interface RouterProcess {
  /** Resolves with the exit code when the router ends. */
  exited: Promise<number>;
  /** Asks it to stop. */
  stop(): void;
}

/** The launcher's access to the world. */
export interface LauncherSeams {
  env: Readonly<Record<string, string | undefined>>;
  log: Logger;
  /** The API client; undefined when there is no configuration (then only `KUBE_PEERS`). */
  client?: KubeClient;
  /** This host's addresses (to skip our own node). */
  ownAddresses(): string[];
  /** Starts the router. */
  startRouter(launch: RouterLaunch): RouterProcess;
  /** The router's API, once it runs (`config.httpAddr`). */
  router(config: LaunchConfig): RouterControl;
  /** Whether our router already has state of its own under `DB_PREFIX` (then no takeover). */
  hasOwnState(config: LaunchConfig): Promise<boolean>;
  /** Writes a taken-over state where the router reads its own (wired by the router side). */
  persistAdopted(config: LaunchConfig, adopted: AdoptedState): Promise<void>;
  /** Installs the CNI plugin and conflist under `HOST_ROOT` (the CNI side). */
  installCni(config: LaunchConfig): Promise<void>;
  /** The last peers saved, and saving them. */
  loadLastPeers(config: LaunchConfig): Promise<KubePeers | undefined>;
  saveLastPeers(config: LaunchConfig, peers: KubePeers): Promise<void>;
  readFile(path: string): Promise<string>;
  /** Stops the launcher (and the router). */
  signal: AbortSignal;
  /** Delay between retries of the first Node list when nothing is known (default 1-30 s). */
  retryMs?: number;
  /** Conflict retry sleep for reclaim (default kube-utils' 2-4 s). */
  reclaimSleep?: (ms: number) => Promise<void>;
}

const NODES = "/api/v1/nodes";

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Runs the launcher; resolves with the exit code (the router's, or 1 for bad configuration). */
export async function runKubeLaunch(s: LauncherSeams): Promise<number> {
  let config: LaunchConfig;
  try {
    config = parseLaunchEnv(s.env);
  } catch (e) {
    if (!(e instanceof LaunchConfigError)) throw e;
    s.log.error(e.message);
    return 1;
  }
  let password = config.password;
  if (!password && config.passwordFile) {
    try {
      password = (await s.readFile(config.passwordFile)).replace(/\r?\n$/, "");
    } catch (e) {
      s.log.error(
        `Cannot start: WEAVE_PASSWORD_FILE "${config.passwordFile}": ${(e as Error).message}`,
      );
      return 1;
    }
  }
  const taken = await takeOver(s, config);
  const peers = await initialPeers(s, config, taken?.targets ?? []);
  if (!peers) return 0; // stopped while waiting
  const peerName = taken?.peerName;
  const router = s.startRouter(routerLaunch(config, { ...peers, peerName, password }));
  const stopRouter = () => router.stop();
  s.signal.addEventListener("abort", stopRouter, { once: true });
  const control = s.router(config);
  // The Kubernetes side ends with the router too (it exited by itself: the pod restarts us).
  const running = new AbortController();
  const end = () => running.abort();
  s.signal.addEventListener("abort", end, { once: true });
  const follow = (async () => {
    const signal = running.signal;
    while (!signal.aborted && !(await control.ready())) await sleep(250, signal);
    if (!signal.aborted) await afterStart(s, config, control, signal);
  })();
  const code = await router.exited;
  end();
  s.signal.removeEventListener("abort", stopRouter);
  s.signal.removeEventListener("abort", end);
  if (!s.signal.aborted) s.log.warn(`The router exited with code ${code}`);
  await follow.catch((e) => s.log.error(`Kubernetes side stopped: ${(e as Error).message}`));
  return code;
}

/** Step 2: our peer name and Weave's connect targets when its state was taken over. */
async function takeOver(
  s: LauncherSeams,
  config: LaunchConfig,
): Promise<{ peerName: string; targets: string[] } | undefined> {
  let weave;
  try {
    if (await s.hasOwnState(config)) return undefined;
    weave = await loadWeaveState(config.dbPrefix);
  } catch (e) {
    s.log.error(`${(e as Error).message}; starting without it`);
    return undefined;
  }
  if (!weave) return undefined;
  let list;
  try {
    const cm = s.client ? await configMapAccess(s.client).get() : undefined;
    list = s.client ? readPeerList(cm?.metadata.annotations ?? {}) : undefined;
  } catch (e) {
    // As launch.sh: when the check cannot be made, the data is kept.
    s.log.warn(`Cannot check the peer list (${(e as Error).message}); taking over Weave's state`);
    list = undefined;
  }
  const decision = list ? upgradeDecision(weave, list) : { adopt: true as const };
  if (!decision.adopt) {
    s.log.warn(`Not taking over Weave Net's state: ${decision.reason}`);
    return undefined;
  }
  const adopted = adoptWeaveState(weave);
  await s.persistAdopted(config, adopted);
  s.log.info(
    `Took over Weave Net's state: peer ${adopted.router.peerName}, ${adopted.ipam.owned.size} owned entries, ${
      adopted.ipam.ring ? adopted.ipam.ring.entries.length : 0
    } ring entries`,
  );
  return { peerName: adopted.router.peerName!, targets: adopted.targets };
}

/**
 * Step 3. Without the API, the last peers saved, else Weave's persisted
 * connect targets (the peers the Go router last knew). Undefined only when
 * stopped while waiting.
 */
async function initialPeers(
  s: LauncherSeams,
  config: LaunchConfig,
  weaveTargets: readonly string[],
): Promise<KubePeers | undefined> {
  if (config.kubePeers) return peersFromList(config.kubePeers, s.ownAddresses());
  let delay = s.retryMs ?? 1000;
  let logged = false;
  while (!s.signal.aborted) {
    try {
      if (!s.client) throw new Error("no Kubernetes API configuration");
      const list = await s.client.list<KubeNode>(NODES, AbortSignal.timeout(10_000));
      const peers = currentPeers(s, config, list.items);
      await s.saveLastPeers(config, peers);
      return peers;
    } catch (e) {
      const last = (await s.loadLastPeers(config).catch(() => undefined)) ??
        (weaveTargets.length ? peersFromList(weaveTargets, s.ownAddresses()) : undefined);
      if (last) {
        s.log.warn(
          `Cannot list Nodes (${
            (e as Error).message
          }); starting with the last ${last.peers.length} peers known, and following the API when it answers`,
        );
        return last;
      }
      if (!logged) {
        s.log.warn(
          `Cannot list Nodes (${
            (e as Error).message
          }) and no peers known yet; waiting for the Kubernetes API (check the API server and this pod's service account)`,
        );
        logged = true;
      }
      await sleep(delay, s.signal);
      delay = Math.min(delay * 2, 30_000);
    }
  }
  return undefined;
}

function currentPeers(
  s: LauncherSeams,
  config: LaunchConfig,
  nodes: Iterable<KubeNode>,
): KubePeers {
  return peersFromNodes(nodes, { addresses: s.ownAddresses(), nodeName: config.hostname });
}

/** Steps 5 and 6, until `signal` aborts. */
async function afterStart(
  s: LauncherSeams,
  config: LaunchConfig,
  router: RouterControl,
  signal: AbortSignal,
): Promise<void> {
  await s.installCni(config).catch((e) =>
    s.log.error(`Cannot install the CNI plugin: ${e.message}`)
  );
  if (!s.client) return;
  const client = s.client;
  const me = { PeerName: await router.peerName(), NodeName: config.hostname ?? "" };
  const reclaim: ReclaimOptions = {
    configMap: configMapAccess(client),
    async nodeNames() {
      const list = await client.list<KubeNode>(NODES);
      return new Set(list.items.map((n) => n.metadata.name));
    },
    rmpeer: (name) => router.rmpeer(name),
    me,
    log: s.log,
    sleep: s.reclaimSleep,
  };
  let reclaiming = Promise.resolve();
  let again = false, joined = false;
  const runReclaim = () => {
    if (again) return;
    again = true;
    reclaiming = reclaiming.then(async () => {
      again = false;
      try {
        if (!joined) await addSelfToPeerList(reclaim);
        joined = true;
        await reclaimRemovedPeers(reclaim);
      } catch (e) {
        s.log.warn(
          `[kube-peers] reclaim: ${(e as Error).message}; trying again at the next Node change`,
        );
      }
    });
  };
  let known = "";
  let networkUp = false;
  await watchNodes({
    client,
    log: s.log,
    signal,
    onChange(nodes, change) {
      const peers = currentPeers(s, config, nodes.values());
      const key = peers.peers.join(" ");
      if (key !== known) {
        known = key;
        router.connect(peers.peers).catch((e) =>
          s.log.warn(`Cannot give the router its peers: ${e.message}`)
        );
        s.saveLastPeers(config, peers).catch(() => {});
      }
      if (change.relist || change.deleted.length) runReclaim();
      if (!networkUp && config.hostname) {
        networkUp = true;
        setNetworkUp(client, config.hostname).catch((e) => {
          networkUp = false;
          s.log.warn(`Cannot set the Node's NetworkUnavailable condition: ${e.message}`);
        });
      }
    },
  });
  await reclaiming;
}
