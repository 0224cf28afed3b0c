/**
 * The real {@link LauncherSeams} of `weave kube-launch`: the router as a
 * child process (`weave launch --foreground …`, as launch.sh ran weaver),
 * the host's addresses, the state files under `DB_PREFIX`, the CNI install
 * (`weave setup-cni` into `HOST_ROOT`'s `/opt/cni/bin` and `/etc/cni/net.d`,
 * as weave-init did), and the API from the in-cluster configuration or a kubeconfig.
 * The only file of `kube/` with these side effects.
 *
 * @module
 */
import { writeFileAtomic } from "../lib/atomic_file.ts";
import type { Logger } from "../lib/log.ts";
import { FileStore, fullIpamUpdate, ipamStatePath } from "../ipam/mod.ts";
import { saveState, statePath } from "../router/state_store.ts";
import { KubeClient } from "./client.ts";
import { loadKubeConfig } from "./kube_config.ts";
import type { LaunchConfig } from "./launch_config.ts";
import type { LauncherSeams } from "./launcher.ts";
import type { KubePeers } from "./peers.ts";
import { httpRouterControl } from "./router_control.ts";

/** Where the last peers known are kept, beside the router's state. */
export function lastPeersPath(config: LaunchConfig): string {
  return `${config.dbPrefix}kube-peers.json`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The seams for this process. `self` is the command that runs this program
 * (`cli/launch.ts` `selfCommand`).
 */
export function systemSeams(options: {
  env: Record<string, string | undefined>;
  log: Logger;
  signal: AbortSignal;
  self: (args: string[]) => string[];
}): LauncherSeams {
  const { env, log, signal, self } = options;
  let client: KubeClient | undefined;
  try {
    client = new KubeClient(loadKubeConfig(env));
  } catch (e) {
    log.warn(`${(e as Error).message}; only KUBE_PEERS can give the peers`);
  }
  return {
    env,
    log,
    client,
    signal,
    ownAddresses: () =>
      Deno.networkInterfaces().filter((i) => i.family === "IPv4").map((i) => i.address),
    startRouter(launch) {
      const [cmd, ...args] = self(["launch", "--foreground", ...launch.args]);
      const child = new Deno.Command(cmd, {
        args,
        env: launch.env,
        stdin: "null",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
      return {
        exited: child.status.then((s) => s.code),
        stop: () => {
          try {
            child.kill("SIGTERM");
          } catch { /* already gone */ }
        },
      };
    },
    router: (config) => httpRouterControl(config.httpAddr),
    hasOwnState: async (config) =>
      (await exists(statePath(config.dbPrefix))) || (await exists(ipamStatePath(config.dbPrefix))),
    async persistAdopted(config, adopted) {
      const dir = config.dbPrefix.slice(0, config.dbPrefix.lastIndexOf("/")) || "/";
      await Deno.mkdir(dir, { recursive: true });
      await new FileStore(ipamStatePath(config.dbPrefix)).save(fullIpamUpdate(adopted.ipam));
      await saveState(statePath(config.dbPrefix), adopted.router);
    },
    async installCni(config) {
      // Into the host's paths under HOST_ROOT, as Weave's weave-init container does.
      const root = config.hostRoot.replace(/\/+$/, "");
      const [cmd, ...args] = self([
        "setup-cni",
        "--cni-bin-dir",
        `${root}/opt/cni/bin`,
        "--cni-conf-dir",
        `${root}/etc/cni/net.d`,
      ]);
      const out = await new Deno.Command(cmd, {
        args,
        env: { HOST_ROOT: config.hostRoot, HAIRPIN_MODE: String(config.hairpinMode) },
        stdin: "null",
        stdout: "inherit",
        stderr: "inherit",
      }).output();
      if (!out.success) throw new Error(`weave setup-cni exited with ${out.code}`);
    },
    async loadLastPeers(config) {
      try {
        const doc = JSON.parse(await Deno.readTextFile(lastPeersPath(config)));
        if (Array.isArray(doc?.peers) && Number.isInteger(doc?.consensus)) return doc as KubePeers;
      } catch { /* none, or unreadable: as if none */ }
      return undefined;
    },
    async saveLastPeers(config, peers) {
      await writeFileAtomic(lastPeersPath(config), JSON.stringify(peers) + "\n");
    },
    readFile: (path) => Deno.readTextFile(path),
  };
}
