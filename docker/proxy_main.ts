/**
 * Runs the Docker API proxy as its own process, until SIGTERM/SIGINT:
 * `deno run -A docker/proxy_main.ts [--http-addr 127.0.0.1:6784 | --socket <router socket>]
 * [--docker-host <engine>] [-H <listen path>] [--without-dns] [--no-default-ipalloc]
 * [--rewrite-inspect] [--no-multicast-route] [--hostname-from-label <key>]
 * [--hostname-match <re>] [--hostname-replacement <s>]`. `weave launch` is meant to start
 * the same {@link DockerProxy} inside the router; this entry serves tests.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ApiClient } from "../api/client.ts";
import { createLogger } from "../lib/log.ts";
import { DockerClient } from "./client.ts";
import { dockerEndpointFrom, parseDockerHost } from "./endpoint.ts";
import { hostProxyEffects } from "./proxy_effects.ts";
import { DEFAULT_PROXY_CONFIG, type ProxyConfig } from "./proxy_rewrite.ts";
import { DEFAULT_PROXY_SOCKET, DockerProxy } from "./proxy_server.ts";

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "http-addr": { type: "string" },
      socket: { type: "string" },
      "docker-host": { type: "string" },
      H: { type: "string", short: "H" },
      "without-dns": { type: "boolean" },
      "no-default-ipalloc": { type: "boolean" },
      "rewrite-inspect": { type: "boolean" },
      "no-multicast-route": { type: "boolean" },
      "hostname-from-label": { type: "string" },
      "hostname-match": { type: "string" },
      "hostname-replacement": { type: "string" },
    },
  });
  const log = createLogger({ level: "info" });
  const config: ProxyConfig = {
    withoutDns: values["without-dns"] ?? false,
    noDefaultIpalloc: values["no-default-ipalloc"] ?? false,
    rewriteInspect: values["rewrite-inspect"] ?? false,
    noMulticastRoute: values["no-multicast-route"] ?? false,
    hostnameFromLabel: values["hostname-from-label"] ?? DEFAULT_PROXY_CONFIG.hostnameFromLabel,
    hostnameMatch: values["hostname-match"] ?? DEFAULT_PROXY_CONFIG.hostnameMatch,
    hostnameReplacement: values["hostname-replacement"] ??
      DEFAULT_PROXY_CONFIG.hostnameReplacement,
  };
  new RegExp(config.hostnameMatch); // a bad pattern fails here, not on the first create
  const api = new ApiClient(
    values.socket
      ? { socketPath: values.socket }
      : { httpAddr: values["http-addr"] ?? "127.0.0.1:6784" },
  );
  const upstream = dockerEndpointFrom(values["docker-host"], Deno.env.toObject());
  const docker = new DockerClient(upstream);
  const listen = parseDockerHost(values.H ?? `unix://${DEFAULT_PROXY_SOCKET}`);
  if (listen.kind !== "unix") throw new TypeError("Cannot listen: only unix sockets are supported");
  const effects = hostProxyEffects({ api, docker, config });
  await using _proxy = await DockerProxy.start({
    listen: listen.path,
    upstream,
    config,
    effects,
    log,
  });
  await new Promise<void>((resolve) => {
    Deno.addSignalListener("SIGTERM", resolve);
    Deno.addSignalListener("SIGINT", resolve);
  });
}
