/**
 * The Docker integration as one component: the API proxy, the network plugin
 * and its weaveDNS watch, started from a {@link DockerConfig} and stopped
 * together, plus the router's `GET /proxyaddrs` route. The router's control
 * API is reached over HTTP like any client (`api`), so this runs in the router
 * process or beside it.
 *
 * Hook for `router/weaver.ts`: after the API server is up,
 * `await using docker = await startDockerServices({ config: cfg.docker, api, log })`
 * and add `docker.routes` to the API's routes and `docker.report()` to the report.
 *
 * @module
 */
import { ApiClient, type ApiTarget } from "../api/client.ts";
import type { ApiRoute } from "../api/ops.ts";
import type { WeaveReport } from "../api/report.ts";
import type { Logger } from "../lib/log.ts";
import { NetlinkSocket } from "../sys/netlink/socket.ts";
import type { Netlink } from "../sys/netlink/socket.ts";
import { DockerClient } from "./client.ts";
import type { DockerConfig } from "./config.ts";
import { watchPluginDns } from "./plugin_dns.ts";
import { hostPluginEffects } from "./plugin_effects.ts";
import { servePlugins } from "./plugin_server.ts";
import { hostProxyEffects } from "./proxy_effects.ts";
import { proxyAddrsRoute } from "./proxy_http.ts";
import { DockerProxy } from "./proxy_server.ts";

/** Options of {@link startDockerServices}. */
export interface DockerServicesOptions {
  config: DockerConfig;
  /** The router's control API. */
  api: ApiTarget;
  log: Logger;
  /** Netlink of the host's namespace, for the plugin's veths; one is opened by default. */
  netlink?: Netlink;
}

/** Running Docker services. */
export interface DockerServices extends AsyncDisposable {
  /** The report's `Proxy` and `Plugin` sections (absent when off), for `GET /report`. */
  report(): Pick<WeaveReport, "Proxy" | "Plugin">;
  /** Routes for the router's API (`GET /proxyaddrs`). */
  routes: ApiRoute[];
  /** The proxy's addresses (`unix://…`), empty when it is off. */
  proxyAddresses: string[];
  /** The plugin's sockets, empty when it is off. */
  pluginSockets: string[];
}

/**
 * Starts what the config asks for; on failure stops what started and rethrows.
 *
 * @example
 * ```ts ignore
 * await using docker = await startDockerServices({ config, api: { httpAddr: "127.0.0.1:6784" }, log });
 * docker.proxyAddresses; // ["unix:///var/run/weave/weave.sock"]
 * ```
 */
export async function startDockerServices(o: DockerServicesOptions): Promise<DockerServices> {
  const stack = new AsyncDisposableStack();
  const proxyAddresses: string[] = [];
  const pluginSockets: string[] = [];
  try {
    const api = new ApiClient(o.api);
    const docker = new DockerClient(o.config.docker);
    if (o.config.proxy) {
      const { listen, config } = o.config.proxy;
      const effects = hostProxyEffects({ api, docker, config });
      const log = o.log.withPrefix("[proxy]");
      stack.use(
        await DockerProxy.start({ listen, upstream: o.config.docker, config, effects, log }),
      );
      proxyAddresses.push(`unix://${listen}`);
    }
    if (o.config.plugin) {
      const netlink = o.netlink ?? stack.use(new NetlinkSocket());
      const log = o.log.withPrefix("[plugin]");
      const effects = hostPluginEffects({ api, docker, netlink });
      const plugins = stack.use(await servePlugins({ dir: o.config.plugin.dir, effects, log }));
      pluginSockets.push(...plugins.sockets);
      if (o.config.plugin.dns) {
        const stop = new AbortController();
        const watching = watchPluginDns({
          signal: stop.signal,
          log,
          effects: dnsEffects(api, docker),
        });
        stack.defer(async () => {
          stop.abort();
          await watching;
        });
      }
    }
  } catch (e) {
    await stack.disposeAsync();
    throw e;
  }
  const moved = stack.move();
  return {
    routes: [proxyAddrsRoute(() => proxyAddresses)],
    report: () => ({
      ...(proxyAddresses.length ? { Proxy: { Addresses: [...proxyAddresses] } } : {}),
      ...(pluginSockets.length
        ? {
          Plugin: {
            Config: { Socket: pluginSockets[0], MeshSocket: pluginSockets[1] ?? "" },
            DriverName: "weave",
            MeshDriverName: "weavemesh",
          },
        }
        : {}),
    }),
    proxyAddresses,
    pluginSockets,
    [Symbol.asyncDispose]: () => moved.disposeAsync(),
  };
}

function dnsEffects(api: ApiClient, docker: DockerClient) {
  const call = async (method: string, path: string, form?: Record<string, string>) => {
    const res = await api.request(method, path, { form });
    if (res.status >= 300) throw new Error(res.body.trim() || `HTTP ${res.status}`);
  };
  return {
    events: (signal: AbortSignal) => docker.events({ signal }),
    inspect: (id: string) => docker.inspectContainer(id),
    isOurNetwork: async (id: string) =>
      ["weave", "weavemesh"].includes((await docker.inspectNetwork(id)).driver),
    register: (id: string, ip: string, fqdn: string) => call("PUT", `/name/${id}/${ip}`, { fqdn }),
    unregister: (id: string) => call("DELETE", `/name/${id}`),
  };
}
