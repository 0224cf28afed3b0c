/**
 * Runs the Docker network plugin as its own process, until SIGTERM/SIGINT:
 * `deno run -A docker/plugin_main.ts [--http-addr 127.0.0.1:6784 | --socket <router socket>]
 * [-H <docker host>] [--dir /run/docker/plugins] [--no-dns]`; names containers on its
 * networks in weaveDNS unless `--no-dns`. `weave launch` is meant to start the
 * same servers inside the router ({@link servePlugins}); this entry serves tests and
 * hosts where the router runs elsewhere.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ApiClient } from "../api/client.ts";
import { createLogger } from "../lib/log.ts";
import { NetlinkSocket } from "../sys/netlink/socket.ts";
import { DockerClient } from "./client.ts";
import { dockerEndpointFrom } from "./endpoint.ts";
import { watchPluginDns } from "./plugin_dns.ts";
import { hostPluginEffects } from "./plugin_effects.ts";
import { servePlugins } from "./plugin_server.ts";

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "http-addr": { type: "string" },
      socket: { type: "string" },
      H: { type: "string", short: "H" },
      dir: { type: "string" },
      "no-dns": { type: "boolean" },
    },
  });
  const log = createLogger({ level: "info" });
  const api = new ApiClient(
    values.socket
      ? { socketPath: values.socket }
      : { httpAddr: values["http-addr"] ?? "127.0.0.1:6784" },
  );
  const docker = new DockerClient(dockerEndpointFrom(values.H, Deno.env.toObject()));
  using netlink = new NetlinkSocket();
  const effects = hostPluginEffects({ api, docker, netlink });
  await using plugins = await servePlugins({ dir: values.dir, effects, log });
  log.info(`Docker plugin serving ${plugins.sockets.join(", ")}`);
  const stop = new AbortController();
  const dns = values["no-dns"] ? Promise.resolve() : watchPluginDns({
    signal: stop.signal,
    log,
    effects: {
      events: (signal) => docker.events({ signal }),
      inspect: (id) => docker.inspectContainer(id),
      isOurNetwork: async (id) =>
        ["weave", "weavemesh"].includes((await docker.inspectNetwork(id)).driver),
      async register(id, ip, fqdn) {
        const res = await api.request("PUT", `/name/${id}/${ip}`, { form: { fqdn } });
        if (res.status >= 300) throw new Error(res.body.trim() || `HTTP ${res.status}`);
      },
      async unregister(id) {
        const res = await api.request("DELETE", `/name/${id}`);
        if (res.status >= 300) throw new Error(res.body.trim() || `HTTP ${res.status}`);
      },
    },
  });
  await new Promise<void>((resolve) => {
    Deno.addSignalListener("SIGTERM", resolve);
    Deno.addSignalListener("SIGINT", resolve);
  });
  stop.abort();
  await dns;
}
