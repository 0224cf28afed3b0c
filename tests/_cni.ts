/**
 * Helpers of the CNI tests in network namespaces: the plugins installed by
 * `weave setup-cni` into a test directory, a conflist for any version, the
 * libcni driver (tests/cni_driver, built with Debian's libcni source), direct
 * plugin runs with the spec's environment, and the router's `GET /ip`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { REPO_ROOT, type TestNet } from "./harness/netns.ts";
import { run, runOk } from "./harness/exec.ts";

/** Debian's reference plugins (portmap, bridge, host-local). */
export const DEBIAN_CNI_DIR = "/usr/lib/cni";
const LIBCNI_GOPATH = "/usr/share/gocode";

/**
 * Why the CNI tests cannot run (a missing Debian package), or undefined.
 * Root and namespaces are checked by the callers with `netnsSkipReason`.
 */
export function cniSkipReason(
  needs: { libcni?: boolean; containerd?: boolean } = {},
): string | undefined {
  const want: [string, string][] = [[`${DEBIAN_CNI_DIR}/portmap`, "containernetworking-plugins"]];
  if (needs.libcni) {
    want.push(["/usr/bin/go", "golang-go"]);
    want.push([
      `${LIBCNI_GOPATH}/src/github.com/containernetworking/cni/libcni`,
      "golang-github-appc-cni-dev",
    ]);
  }
  if (needs.containerd) {
    want.push(["/usr/bin/containerd", "containerd"], ["/usr/bin/ctr", "containerd"]);
    want.push(["/usr/sbin/runc", "runc"], ["/bin/busybox", "busybox-static"]);
  }
  for (const [path, pkg] of want) {
    try {
      Deno.statSync(path);
    } catch {
      return `${path} is missing: install Debian's ${pkg} (scripts/setup.sh)`;
    }
  }
  return undefined;
}

/** Plugins and conflists of one test, under `dir`. */
export interface CniInstall {
  dir: string;
  /** Our plugins (setup-cni's --cni-bin-dir). */
  binDir: string;
  /** setup-cni's --cni-conf-dir, with its 10-weave.conflist. */
  confDir: string;
  /** CNI_PATH for plugin runs: ours, then Debian's. */
  cniPath: string;
  /** The installed conflist, parsed. */
  conflist: Record<string, unknown>;
}

/** Runs `weave setup-cni` into `<dir>/bin` and `<dir>/net.d`. */
export async function installPlugins(dir: string): Promise<CniInstall> {
  const binDir = `${dir}/bin`;
  const confDir = `${dir}/net.d`;
  await runOk([
    `${REPO_ROOT}weave`,
    "setup-cni",
    "--cni-bin-dir",
    binDir,
    "--cni-conf-dir",
    confDir,
  ]);
  const conflist = JSON.parse(await Deno.readTextFile(`${confDir}/10-weave.conflist`));
  return { dir, binDir, confDir, cniPath: `${binDir}:${DEBIAN_CNI_DIR}`, conflist };
}

/** Writes the installed conflist with `cniVersion` set to `version`; returns its path. */
export async function conflistFor(cni: CniInstall, version: string): Promise<string> {
  const path = `${cni.dir}/conflist-${version}.json`;
  await Deno.writeTextFile(path, JSON.stringify({ ...cni.conflist, cniVersion: version }));
  return path;
}

/** Builds the libcni driver into `dir`; returns its path. */
export async function buildDriver(dir: string): Promise<string> {
  const out = `${dir}/libcni-driver`;
  await runOk(["go", "build", "-o", out, "."], {
    cwd: `${REPO_ROOT}tests/cni_driver`,
    env: { GO111MODULE: "off", GOPATH: LIBCNI_GOPATH, GOCACHE: `${dir}/gocache`, GOFLAGS: "" },
    timeoutMs: 120_000,
  });
  return out;
}

/** One libcni call through the driver in host `i`; stdout parsed when it is JSON. */
export async function libcni(
  net: TestNet,
  i: number,
  call: {
    driver: string;
    action: string;
    conflist: string;
    netns: string;
    id: string;
    cni: CniInstall;
    caps?: unknown;
  },
): Promise<{ code: number; out: unknown; stderr: string }> {
  const args = [
    call.action,
    call.conflist,
    call.netns,
    call.id,
    "eth0",
    call.cni.cniPath,
    `${call.cni.dir}/cache`,
  ];
  if (call.caps) args.push(JSON.stringify(call.caps));
  const r = await net.host(i).exec([call.driver, ...args], {
    timeoutMs: 60_000,
    env: { WEAVE_CNI_STATE_DIR: `${call.cni.dir}/state` },
  });
  const text = r.stdout.trim();
  let out: unknown = text;
  try {
    out = text === "" ? undefined : JSON.parse(text);
  } catch { /* not JSON: kept as text */ }
  return { code: r.code, out, stderr: r.stderr };
}

/** Runs an installed plugin directly in host `i` with the spec's environment. */
export async function plugin(
  net: TestNet,
  i: number,
  call: {
    cni: CniInstall;
    name?: string;
    command: string;
    id?: string;
    netns?: string;
    stdin: string;
  },
): Promise<
  { code: number; out: Record<string, unknown> | undefined; stdout: string; stderr: string }
> {
  const env: Record<string, string> = {
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.id ?? "",
    CNI_NETNS: call.netns ?? "",
    CNI_IFNAME: "eth0",
    CNI_PATH: call.cni.cniPath,
    WEAVE_CNI_STATE_DIR: `${call.cni.dir}/state`,
  };
  const bin = `${call.cni.binDir}/${call.name ?? "weave-net"}`;
  const r = await net.host(i).exec([bin], { env, stdin: call.stdin, timeoutMs: 60_000 });
  const text = r.stdout.trim();
  return {
    code: r.code,
    out: text === "" ? undefined : JSON.parse(text),
    stdout: r.stdout,
    stderr: r.stderr,
  };
}

/** The owners of addresses on host `i`'s router (`GET /ip`), sorted. */
export async function owners(net: TestNet, i: number): Promise<Record<string, string[]>> {
  const script = `const r = await fetch("http://127.0.0.1:6784/ip"); console.log(await r.text());`;
  const r = await net.host(i).exec([Deno.execPath(), "eval", script]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { owned: { containerid: string; addrs: string[] }[] | null };
  return Object.fromEntries((doc.owned ?? []).map((o) => [o.containerid, o.addrs]).sort());
}

/** Names of the links of namespace `ns` that start with `prefix`. */
export async function linksLike(ns: string, prefix: string): Promise<string[]> {
  const r = await run(["ip", "-n", ns, "-o", "link", "show"]);
  return r.stdout.split("\n").map((l) => l.split(": ")[1]?.split("@")[0] ?? "")
    .filter((n) => n.startsWith(prefix));
}
