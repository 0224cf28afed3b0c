/**
 * Where a Docker engine listens: Docker's `DOCKER_HOST` / `-H` syntax
 * (`unix:///var/run/docker.sock`, `tcp://host:port`, or a bare socket path)
 * parsed once into a typed endpoint. Weave's script and proxy take the same
 * forms; TLS (`tcp://` with `--tls*`) is not supported.
 *
 * @module
 */

/** Docker's default engine socket. */
export const DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";

/** Environment variable naming the engine, as Docker's CLI reads it. */
export const DOCKER_HOST_ENV = "DOCKER_HOST";

/** A parsed engine address. */
export type DockerEndpoint =
  | { kind: "unix"; path: string }
  | { kind: "tcp"; host: string; port: number };

/**
 * Parses a `DOCKER_HOST` value.
 *
 * @example
 * ```ts
 * import { parseDockerHost } from "./endpoint.ts";
 * parseDockerHost("unix:///run/docker.sock"); // { kind: "unix", path: "/run/docker.sock" }
 * parseDockerHost("tcp://127.0.0.1:2375"); // { kind: "tcp", host: "127.0.0.1", port: 2375 }
 * ```
 */
export function parseDockerHost(text: string): DockerEndpoint {
  const value = text.trim();
  if (value.startsWith("/")) return { kind: "unix", path: value };
  if (value.startsWith("unix://")) {
    const path = value.slice("unix://".length);
    if (!path.startsWith("/")) {
      throw new SyntaxError(
        `Cannot parse Docker host "${text}": a unix socket path must be absolute`,
      );
    }
    return { kind: "unix", path };
  }
  if (value.startsWith("tcp://")) {
    const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})\/?$/.exec(value);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) {
      throw new SyntaxError(`Cannot parse Docker host "${text}": expected tcp://host:port`);
    }
    return { kind: "tcp", host: m[1].replace(/^\[|\]$/g, ""), port };
  }
  throw new SyntaxError(
    `Cannot parse Docker host "${text}": expected unix:///path, tcp://host:port or /path`,
  );
}

/**
 * The engine chosen by `-H` (if given), else `DOCKER_HOST`, else the default.
 *
 * @example
 * ```ts
 * import { dockerEndpointFrom } from "./endpoint.ts";
 * dockerEndpointFrom(undefined, {}); // { kind: "unix", path: "/var/run/docker.sock" }
 * ```
 */
export function dockerEndpointFrom(
  flag: string | undefined,
  env: Record<string, string | undefined>,
): DockerEndpoint {
  const env1 = env[DOCKER_HOST_ENV];
  return parseDockerHost(flag ?? (env1 !== undefined && env1 !== "" ? env1 : DEFAULT_DOCKER_HOST));
}

/** The endpoint in `DOCKER_HOST` syntax, for messages and `weave env`. */
export function formatDockerHost(e: DockerEndpoint): string {
  if (e.kind === "unix") return `unix://${e.path}`;
  return `tcp://${e.host.includes(":") ? `[${e.host}]` : e.host}:${e.port}`;
}
