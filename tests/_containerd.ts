/**
 * A private containerd per test host (the recipe of real-runtimes-in-netns.md): its config,
 * root, state and socket under the test's directory, started in the host's network namespace
 * (only that: runc needs the cgroup mounts), and
 * `ctr run --rm --cni` with the host's own conflist and plugins bind-mounted over
 * /etc/cni/net.d and /opt/cni/bin in a private mount namespace (what `ip netns exec` gives).
 * The image is a rootfs made from Debian's busybox-static.
 *
 * @module
 */
import { run, runOk } from "./harness/exec.ts";
import { type TestNet, waitFor } from "./harness/netns.ts";

/** A rootfs with busybox and its applets under `dir`; returns its path. */
export async function busyboxRootfs(dir: string): Promise<string> {
  const root = `${dir}/rootfs`;
  for (const d of ["bin", "proc", "sys", "dev", "etc", "tmp"]) {
    await Deno.mkdir(`${root}/${d}`, { recursive: true });
  }
  await Deno.copyFile("/bin/busybox", `${root}/bin/busybox`);
  await Deno.chmod(`${root}/bin/busybox`, 0o755);
  for (const c of ["sh", "ip", "ping", "sleep", "cat", "ls"]) {
    await Deno.symlink("busybox", `${root}/bin/${c}`);
  }
  return root;
}

/** One host's containerd. */
export interface Containerd {
  host: number;
  socket: string;
  /** `ctr --address <socket> ...args` in the host's namespace. */
  ctr(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Stops the daemon (its shims and tasks are the test's to end first). */
  stop(): Promise<void>;
}

/** Starts containerd in host `i` with everything under `dir`; resolves once it answers. */
export async function startContainerd(net: TestNet, i: number, dir: string): Promise<Containerd> {
  await Deno.mkdir(dir, { recursive: true });
  const socket = `${dir}/containerd.sock`;
  await Deno.writeTextFile(
    `${dir}/config.toml`,
    [
      "version = 2",
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      "[grpc]",
      `  address = "${socket}"`,
      "[ttrpc]",
      `  address = "${socket}.ttrpc"`,
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${dir}/opt"`,
      "",
    ].join("\n"),
  );
  // Only the network namespace is entered: `ip netns exec` remounts /sys, which hides the
  // cgroup mounts runc needs ("no cgroup mount found in mountinfo").
  const daemon = new Deno.Command("nsenter", {
    args: [`--net=/run/netns/${net.host(i).name}`, "containerd", "--config", `${dir}/config.toml`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const ctr = (args: readonly string[]) =>
    net.host(i).exec(["ctr", "--address", socket, ...args], { timeoutMs: 30_000 });
  await waitFor(async () => {
    const r = await ctr(["version"]);
    return r.code === 0 || r.stderr;
  }, { what: `containerd of h${i} to answer`, timeoutMs: 20_000 });
  return {
    host: i,
    socket,
    ctr,
    async stop() {
      try {
        daemon.kill("SIGTERM");
      } catch { /* already gone */ }
      await daemon.status;
    },
  };
}

/** Paths `ctr run --cni` of host `i` reads, bind-mounted from our install. */
export interface CniDirs {
  binDir: string;
  confDir: string;
}

/**
 * Starts `ctr run --rm --cni` of container `id` running `sleep` in host `i` (in the
 * background: it calls CNI ADD now and DEL when the task ends); resolves once the task runs.
 */
export async function runPod(
  net: TestNet,
  d: Containerd,
  pod: { id: string; rootfs: string; cni: CniDirs; env?: Record<string, string> },
): Promise<Deno.ChildProcess> {
  await ensureMountPoints();
  const script = `mount --bind '${pod.cni.binDir}' /opt/cni/bin && ` +
    `mount --bind '${pod.cni.confDir}' /etc/cni/net.d && ` +
    `exec ctr --address '${d.socket}' run --rm --cni --rootfs '${pod.rootfs}' '${pod.id}' /bin/sleep 300`;
  const child = net.host(d.host).spawn(["sh", "-c", script], {
    stdout: "null",
    stderr: "piped",
    env: pod.env,
  });
  const stderr = new Response(child.stderr).text();
  const exited = child.status.then(async (st) => {
    throw new Error(
      `Cannot run pod ${pod.id} on h${d.host}: ctr exited ${st.code}: ${await stderr}`,
    );
  });
  const running = waitFor(async () => {
    const r = await d.ctr(["task", "ls"]);
    return new RegExp(`^${pod.id}\\s+\\d+\\s+RUNNING`, "m").test(r.stdout) || r.stdout;
  }, { what: `pod ${pod.id} to run on h${d.host}`, timeoutMs: 30_000 });
  await Promise.race([running, exited]);
  exited.catch(() => {});
  return child;
}

/** Runs a command in a running pod (`ctr task exec`). */
export function podExec(d: Containerd, id: string, cmd: readonly string[]) {
  const exec = `x${crypto.getRandomValues(new Uint32Array(1))[0].toString(16)}`;
  return d.ctr(["task", "exec", "--exec-id", exec, id, ...cmd]);
}

/** Ends a pod: kills its task; `ctr run --rm` then calls DEL and removes the container. */
export async function stopPod(d: Containerd, id: string, child: Deno.ChildProcess): Promise<void> {
  await d.ctr(["task", "kill", "-s", "SIGKILL", id]);
  const status = await Promise.race([
    child.status,
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 20_000)),
  ]);
  if (!status) throw new Error(`Cannot stop pod ${id}: ctr run did not return within 20 s`);
}

/** /opt/cni/bin and /etc/cni/net.d must exist to be mounted over (empty directories). */
async function ensureMountPoints(): Promise<void> {
  for (const dir of ["/opt/cni/bin", "/etc/cni/net.d"]) {
    const r = await run(["test", "-d", dir]);
    if (r.code !== 0) await runOk(["mkdir", "-p", dir]);
  }
}
