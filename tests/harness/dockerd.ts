/**
 * A real Docker engine (Debian's `docker.io`) inside a test host, after
 * `../shared/design/real-runtimes-in-netns.md`: dockerd enters only the host's
 * network namespace (`ip netns exec` would remount `/sys` and hide the cgroup
 * mounts), runs in a mount namespace of its own where `/run/docker/plugins` is
 * this engine's private plugin directory, and keeps its data root, exec root,
 * pid file and socket under the test's directory. A `busybox:local` image is
 * imported from `busybox-static` (no registry). Disposing stops the engine
 * (SIGTERM, then SIGKILL) and removes its directory.
 *
 * @module
 */
import { run, runOk } from "./exec.ts";
import { removeTree } from "./cleanup.ts";
import { waitFor } from "./wait.ts";

/** The Docker CLI of Debian's package (not whatever else is first on PATH). */
export const DOCKER_CLI = "/usr/bin/docker";
const DOCKERD = "/usr/sbin/dockerd";
const BUSYBOX = "/bin/busybox";

/** Why a real dockerd cannot run here, or undefined when it can. */
export function dockerdSkipReason(): string | undefined {
  for (const f of [DOCKERD, DOCKER_CLI, BUSYBOX]) {
    try {
      Deno.statSync(f);
    } catch {
      return `${f} is missing: run scripts/setup.sh (docker.io, busybox-static)`;
    }
  }
  return undefined;
}

/** A running engine of one test host. */
export class TestDockerd implements AsyncDisposable {
  /** The engine's directory (data root, exec root, socket, plugins). */
  readonly dir: string;
  /** The engine's API socket. */
  readonly socket: string;
  /** The directory mounted at `/run/docker/plugins` for this engine. */
  readonly pluginDir: string;
  readonly #child: Deno.ChildProcess;

  private constructor(dir: string, child: Deno.ChildProcess) {
    this.dir = dir;
    this.socket = `${dir}/docker.sock`;
    this.pluginDir = `${dir}/plugins`;
    this.#child = child;
  }

  /**
   * Starts dockerd in network namespace `netns`, waits until it answers and imports
   * `busybox:local`.
   *
   * @example
   * ```ts ignore
   * await using d = await TestDockerd.start(net.host(1).name, `${net.tempDir}/d1`);
   * await d.docker(["run", "--rm", "--network", "none", "busybox:local", "true"]);
   * ```
   */
  static async start(netns: string, dir: string): Promise<TestDockerd> {
    await Deno.mkdir(`${dir}/plugins`, { recursive: true });
    await Deno.mkdir("/run/docker/plugins", { recursive: true });
    const script = `mount --bind ${dir}/plugins /run/docker/plugins && exec ${DOCKERD} ` +
      `--data-root ${dir}/root --exec-root ${dir}/exec --pidfile ${dir}/pid ` +
      `-H unix://${dir}/docker.sock --iptables=false --ip6tables=false --bridge=none ` +
      `--storage-driver=vfs --log-level=warn`;
    const log = await Deno.open(`${dir}/dockerd.log`, { write: true, create: true });
    const child = new Deno.Command("nsenter", {
      args: [`--net=/run/netns/${netns}`, "unshare", "-m", "sh", "-c", script],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    child.stdout.pipeTo(log.writable, { preventClose: true }).catch(() => {});
    child.stderr.pipeTo(log.writable).catch(() => {});
    const d = new TestDockerd(dir, child);
    try {
      await waitFor(async () => {
        const r = await run([DOCKER_CLI, "-H", `unix://${d.socket}`, "version"]);
        return r.code === 0 || r.stderr;
      }, { what: `dockerd in ${netns} to answer`, timeoutMs: 30_000, intervalMs: 200 });
      await d.#importBusybox();
    } catch (e) {
      await d[Symbol.asyncDispose]();
      throw e;
    }
    return d;
  }

  /** Runs the Docker CLI against this engine. */
  docker(
    args: readonly string[],
    opts: { env?: Record<string, string>; stdin?: string; timeoutMs?: number } = {},
  ): ReturnType<typeof run> {
    return run([DOCKER_CLI, "-H", `unix://${this.socket}`, ...args], opts);
  }

  async #importBusybox(): Promise<void> {
    const root = `${this.dir}/rootfs`;
    for (const d of ["bin", "proc", "sys", "dev", "etc", "tmp"]) {
      await Deno.mkdir(`${root}/${d}`, { recursive: true });
    }
    await Deno.copyFile(BUSYBOX, `${root}/bin/busybox`);
    for (const c of ["sh", "ip", "ping", "ls", "cat", "sleep", "nc", "hostname", "nslookup"]) {
      await Deno.symlink("busybox", `${root}/bin/${c}`);
    }
    await runOk([
      "sh",
      "-c",
      `tar -C ${root} -c . | ${DOCKER_CLI} -H unix://${this.socket} import - busybox:local`,
    ]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const pid = await Deno.readTextFile(`${this.dir}/pid`).then(Number).catch(() => undefined);
    const target = pid ?? this.#child.pid;
    try {
      Deno.kill(target, "SIGTERM");
    } catch { /* already gone */ }
    const exited = this.#child.status.then(() => true);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<boolean>((r) => timer = setTimeout(() => r(false), 15_000));
    const done = await Promise.race([exited, late]);
    clearTimeout(timer);
    if (!done) {
      try {
        Deno.kill(target, "SIGKILL");
      } catch { /* gone */ }
      await this.#child.status;
    }
    await removeTree(this.dir);
  }
}
