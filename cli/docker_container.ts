/**
 * Docker containers by name or id in the CLI's `<container>` arguments (see
 * `docker/resolve.ts`): the engine is the one `DOCKER_HOST` names, as for the
 * docker CLI. The router knows a Docker container by its pid, `pid:<n>`; `weave ps`
 * shows Docker's short id instead, as Weave did, or the name the user gave.
 *
 * @module
 */
import { DockerClient } from "../docker/client.ts";
import { dockerEndpointFrom } from "../docker/endpoint.ts";
import {
  resolveContainerArg,
  type ResolvedContainer,
  systemResolveEnv,
} from "../docker/resolve.ts";
import type { CliIo } from "./io.ts";

/** Resolves a `<container>` argument through `/run/netns` and the engine of `DOCKER_HOST`. */
export function containerArg(arg: string, io: CliIo): Promise<ResolvedContainer> {
  return resolveContainerArg(arg, systemResolveEnv(io.env));
}

/** The id the router files a resolved container under. */
export function routerId(arg: string, c: ResolvedContainer): string {
  return c.docker ? `pid:${c.docker.pid}` : arg;
}

/**
 * Replaces the first word of `weave ps` lines by the names in `names` (router id → shown id).
 *
 * @example
 * ```ts
 * import { renamePs } from "./docker_container.ts";
 * renamePs("pid:42 aa:bb:cc:dd:ee:ff 10.32.0.1/12\\n", new Map([["pid:42", "web1"]]));
 * // "web1 aa:bb:cc:dd:ee:ff 10.32.0.1/12\\n"
 * ```
 */
export function renamePs(body: string, names: ReadonlyMap<string, string>): string {
  return body.split("\n").map((line) => {
    const space = line.indexOf(" ");
    const id = space < 0 ? line : line.slice(0, space);
    const name = names.get(id);
    return name === undefined ? line : name + line.slice(id.length);
  }).join("\n");
}

/** `pid:<n>` → Docker short id of every running container; empty when no engine answers. */
export async function dockerPsNames(io: CliIo): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  try {
    const docker = new DockerClient(dockerEndpointFrom(undefined, io.env), { timeoutMs: 5_000 });
    for (const c of await docker.listContainers()) {
      const info = await docker.inspectContainer(c.id).catch(() => undefined);
      if (info?.running && info.pid > 0) names.set(`pid:${info.pid}`, info.id.slice(0, 12));
    }
  } catch {
    // No engine, or a bad DOCKER_HOST: ps shows the router's ids.
  }
  return names;
}
