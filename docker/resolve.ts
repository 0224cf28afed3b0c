/**
 * Containers by Docker name or id wherever the CLI takes a `<container>`: an
 * argument that is not a network namespace weave already knows how to reach
 * (a pid, `pid:<n>`, an absolute path, or an existing `ip netns` name) is
 * looked up at the Docker engine (`DOCKER_HOST`, default
 * `unix:///var/run/docker.sock`) and replaced by its init process's pid, which
 * the router reaches as `/proc/<pid>/ns/net` and names `pid:<pid>`. With no
 * engine answering, the argument goes to the router as it is (a netns name the
 * router then reports missing); an engine that knows no such container makes
 * a clear error here.
 *
 * @module
 */
import {
  type ContainerInfo,
  DockerApiError,
  DockerClient,
  DockerUnavailableError,
  NoSuchContainerError,
} from "./client.ts";
import { dockerEndpointFrom } from "./endpoint.ts";

/** A container argument as the router should get it. */
export interface ResolvedContainer {
  /** What to send the router (`1234` for a Docker container, else the argument). */
  ref: string;
  /** The engine's view, for a Docker container. */
  docker?: ContainerInfo;
}

/** How {@link resolveContainerArg} looks around; the real one by default. */
export interface ResolveEnv {
  /** Whether `/run/netns/<name>` exists. */
  netnsExists(name: string): boolean;
  /** The engine to ask. */
  docker(): Pick<DockerClient, "inspectContainer" | "host">;
}

/** A container argument that names nothing weave can attach (the message is for the user). */
export class ContainerNotFoundError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ContainerNotFoundError";
  }
}

/** The real environment: `/run/netns` and the engine named by `env.DOCKER_HOST`. */
export function systemResolveEnv(env: Record<string, string | undefined>): ResolveEnv {
  return {
    netnsExists(name) {
      try {
        Deno.statSync(`/run/netns/${name}`);
        return true;
      } catch {
        return false;
      }
    },
    docker: () => new DockerClient(dockerEndpointFrom(undefined, env)),
  };
}

/**
 * Resolves one `<container>` argument.
 *
 * @example
 * ```ts ignore
 * const { ref } = await resolveContainerArg("web1", systemResolveEnv(Deno.env.toObject()));
 * ref; // "4242": the pid of Docker container web1
 * ```
 */
export async function resolveContainerArg(
  arg: string,
  env: ResolveEnv,
): Promise<ResolvedContainer> {
  if (isNamespaceRef(arg) || env.netnsExists(arg)) return { ref: arg };
  let docker: ContainerInfo;
  try {
    docker = await env.docker().inspectContainer(arg);
  } catch (e) {
    if (e instanceof NoSuchContainerError) {
      throw new ContainerNotFoundError(
        `Error: No such container: ${arg} (neither a Docker container nor a network namespace)`,
        { cause: e },
      );
    }
    if (e instanceof TypeError || e instanceof DockerApiError) throw e;
    // No engine here: the router judges the argument as a namespace and says what is missing.
    if (e instanceof DockerUnavailableError) return { ref: arg };
    throw e;
  }
  if (!docker.running || docker.pid <= 0) {
    throw new ContainerNotFoundError(`Container ${arg} not running.`);
  }
  return { ref: String(docker.pid), docker };
}

/** Arguments the router resolves itself: `1234`, `pid:1234`, `weave:…` ids, absolute paths. */
export function isNamespaceRef(arg: string): boolean {
  return /^(pid:)?\d+$/.test(arg) || arg.startsWith("/") || arg.startsWith("weave:");
}

/**
 * The weaveDNS name of a Docker container, as Weave registers it: `Hostname.Domainname`;
 * a bare hostname (Docker's short id for an unnamed container) gives none.
 *
 * @example
 * ```ts
 * import { dockerFqdn } from "./resolve.ts";
 * dockerFqdn({ hostname: "web1", domainname: "weave.local" }); // "web1.weave.local"
 * dockerFqdn({ hostname: "3f2a9c1b0d4e", domainname: "" }); // undefined
 * ```
 */
export function dockerFqdn(c: Pick<ContainerInfo, "hostname" | "domainname">): string | undefined {
  if (c.domainname) return `${c.hostname}.${c.domainname}`;
  return c.hostname.includes(".") ? c.hostname : undefined;
}
