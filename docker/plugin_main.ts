/**
 * Runs the Docker network plugin as its own process, until SIGTERM/SIGINT:
 * `deno run -A docker/plugin_main.ts [--http-addr 127.0.0.1:6784 | --socket <router socket>]
 * [-H <docker host>] [--dir /run/docker/plugins]`. `weave launch` is meant to start the
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
  await new Promise<void>((resolve) => {
    Deno.addSignalListener("SIGTERM", resolve);
    Deno.addSignalListener("SIGINT", resolve);
  });
}
