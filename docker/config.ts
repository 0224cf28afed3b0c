/**
 * The Docker integration's part of `weave launch`'s flags (Weave 2.8.1 names),
 * parsed once into a typed, defaulted object: the engine (`--docker-api`,
 * else `DOCKER_HOST`, else `unix:///var/run/docker.sock`), the API proxy
 * (`--proxy=false` to disable; `-H` where it listens, default
 * `unix:///var/run/weave/weave.sock`; `--without-dns`, `--no-default-ipalloc`,
 * `--rewrite-inspect`, `--no-multicast-route`, `--hostname-from-label`,
 * `--hostname-match`, `--hostname-replacement`) and the network plugin
 * (`--plugin=false` to disable; `--no-dns` also stops its weaveDNS names).
 *
 * Made for `router/config.ts`: add {@link DOCKER_BOOL_FLAGS} and
 * {@link DOCKER_VALUE_FLAGS} to its flag sets and call {@link parseDockerConfig}
 * with the maps its scanner fills.
 *
 * @module
 */
import { type DockerEndpoint, dockerEndpointFrom, parseDockerHost } from "./endpoint.ts";
import { DOCKER_PLUGIN_DIR } from "./plugin_server.ts";
import { DEFAULT_PROXY_CONFIG, type ProxyConfig } from "./proxy_rewrite.ts";
import { DEFAULT_PROXY_SOCKET } from "./proxy_server.ts";

/** Boolean flags (`--flag` or `--flag=false`). */
export const DOCKER_BOOL_FLAGS: readonly string[] = [
  "proxy",
  "plugin",
  "without-dns",
  "no-default-ipalloc",
  "rewrite-inspect",
  "no-multicast-route",
];
/** Flags with a value. */
export const DOCKER_VALUE_FLAGS: readonly string[] = [
  "docker-api",
  "H",
  "hostname-from-label",
  "hostname-match",
  "hostname-replacement",
  "plugin-dir",
];

/** What `weave launch` starts for Docker. */
export interface DockerConfig {
  /** The engine. */
  docker: DockerEndpoint;
  /** The API proxy, unless `--proxy=false`. */
  proxy?: { listen: string; config: ProxyConfig };
  /** The network plugin, unless `--plugin=false`. */
  plugin?: { dir: string; dns: boolean };
}

/**
 * Parses the flags (as `router/config.ts`'s scanner collected them).
 *
 * @example
 * ```ts
 * import { parseDockerConfig } from "./config.ts";
 * const c = parseDockerConfig(new Map(), new Map([["plugin", false]]), {});
 * c.proxy?.listen; // "/var/run/weave/weave.sock"
 * c.plugin; // undefined
 * ```
 */
export function parseDockerConfig(
  values: ReadonlyMap<string, string>,
  bools: ReadonlyMap<string, boolean>,
  env: Record<string, string | undefined>,
  options: { noDns?: boolean } = {},
): DockerConfig {
  const docker = withFlag("--docker-api", () => dockerEndpointFrom(values.get("docker-api"), env));
  const out: DockerConfig = { docker };
  if (bools.get("proxy") !== false) {
    const listen = withFlag(
      "-H",
      () => parseDockerHost(values.get("H") ?? `unix://${DEFAULT_PROXY_SOCKET}`),
    );
    if (listen.kind !== "unix") {
      throw new RangeError(
        `Cannot parse -H: the proxy listens on a unix socket, got "${values.get("H")}"`,
      );
    }
    const hostnameMatch = values.get("hostname-match") ?? DEFAULT_PROXY_CONFIG.hostnameMatch;
    withFlag("--hostname-match", () => new RegExp(hostnameMatch));
    out.proxy = {
      listen: listen.path,
      config: {
        withoutDns: bools.get("without-dns") ?? options.noDns ?? false,
        noDefaultIpalloc: bools.get("no-default-ipalloc") ?? false,
        rewriteInspect: bools.get("rewrite-inspect") ?? false,
        noMulticastRoute: bools.get("no-multicast-route") ?? false,
        hostnameFromLabel: values.get("hostname-from-label") ?? "",
        hostnameMatch,
        hostnameReplacement: values.get("hostname-replacement") ??
          DEFAULT_PROXY_CONFIG.hostnameReplacement,
      },
    };
  }
  if (bools.get("plugin") !== false) {
    out.plugin = { dir: values.get("plugin-dir") ?? DOCKER_PLUGIN_DIR, dns: !options.noDns };
  }
  return out;
}

function withFlag<T>(flag: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new RangeError(`Cannot parse ${flag}: ${(e as Error).message}`, { cause: e });
  }
}
