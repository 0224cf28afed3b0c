/**
 * A throw-away multi-host network in Linux network namespaces, for tests and the demo.
 *
 * Layout (nothing is created in the root namespace):
 *
 * ```
 *   <prefix>h1            <prefix>h2            <prefix>h3        host namespaces
 *   eth0 192.0.2.1/24     eth0 192.0.2.2/24     eth0 192.0.2.3/24
 *     |                     |                     |               veth pairs
 *   ---h1-------------------h2-------------------h3---- br0       <prefix>sw (switch namespace)
 * ```
 *
 * The veths are created inside the switch namespace with their `eth0` end placed straight into
 * the host namespace, so the machine's own interfaces, routes and firewall are never touched.
 * Each host gets a state directory under one temp dir; a router launched in host i is given
 * `--db-prefix <tmp>/h<i>/weave`. Disposing kills everything still running in the namespaces and
 * removes them, also after a failed test.
 *
 * @module
 */

import { type ExecOptions, type ExecResult, run, runOk } from "./exec.ts";
import { namespacePids, removeNamespace, removeTree } from "./cleanup.ts";

export { type ExecOptions, type ExecResult } from "./exec.ts";
export { waitFor, type WaitOptions } from "./wait.ts";

/** The repository root (where the `weave` launcher is). */
export const REPO_ROOT: string = decodeURIComponent(new URL("../../", import.meta.url).pathname);

/** The TCP/UDP port a Weave router listens on. */
const WEAVE_PORT = 6783;

/** Options of {@link TestNet.create}. */
export interface TestNetOptions {
  /** Number of hosts (1..253). */
  hosts: number;
  /** First three octets of the underlay /24; "192.0.2" (TEST-NET-1) by default. */
  subnet?: string;
  /** Run prefix of every name; `wt` and 4 random hex digits by default (see {@link randomPrefix}). */
  prefix?: string;
}

/** Options of {@link TestHost.spawn}; standard streams are "null" unless asked for. */
export type SpawnOptions = Pick<Deno.CommandOptions, "env" | "cwd" | "stdin" | "stdout" | "stderr">;

/** One host of a {@link TestNet}. */
export interface TestHost {
  /** 1-based host number. */
  readonly index: number;
  /** Network namespace name (for `ip netns exec`). */
  readonly name: string;
  /** Underlay address of its eth0. */
  readonly ip: string;
  /** The `--db-prefix` for a router of this host (its directory exists). */
  readonly dbPrefix: string;
  /** Runs a command to completion inside the namespace. */
  exec(cmd: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Starts a command inside the namespace; it is killed on dispose at the latest. */
  spawn(cmd: readonly string[], opts?: SpawnOptions): Deno.ChildProcess;
}

/** Options of {@link TestNet.launch}. */
export interface LaunchOptions {
  /** Peers to name on the command line. */
  peers?: readonly string[];
  /** Further `weave launch` arguments (before the peers). */
  args?: readonly string[];
}

/**
 * A random run prefix: `family` and 4 hex digits. Tests use `wt`, the demo `wd`; both are
 * recognised by the stale-namespace cleanup.
 */
export function randomPrefix(family: "wt" | "wd" = "wt"): string {
  const [a, b] = crypto.getRandomValues(new Uint8Array(2));
  return family + ((a << 8) | b).toString(16).padStart(4, "0");
}

/**
 * Why namespace tests cannot run here (not root, no `ip`), or undefined when they can.
 *
 * @example
 * ```ts
 * const skip = netnsSkipReason();
 * Deno.test({ name: `pings${skip ? ` (ignored: ${skip})` : ""}`, ignore: !!skip, fn: async () => {} });
 * ```
 */
export function netnsSkipReason(): string | undefined {
  if (Deno.build.os !== "linux") return "network namespaces need Linux";
  try {
    if (Deno.uid() !== 0) return "network namespaces need root";
  } catch {
    return "cannot read the user id (needs --allow-sys)";
  }
  const path = (Deno.env.get("PATH") ?? "") + ":/usr/sbin:/sbin";
  const found = path.split(":").some((dir) => {
    try {
      return Deno.statSync(`${dir}/ip`).isFile;
    } catch {
      return false;
    }
  });
  return found ? undefined : "the ip command (iproute2) is missing: run scripts/setup.sh";
}

/** A set of host namespaces joined by a bridge in a switch namespace. */
export class TestNet implements AsyncDisposable {
  /** Run prefix of every name. */
  readonly prefix: string;
  /** Name of the switch namespace holding br0. */
  readonly switchName: string;
  /** Temp dir holding each host's state. */
  readonly tempDir: string;
  readonly #hosts: TestHost[];
  readonly #children = new Set<Deno.ChildProcess>();
  readonly #firewalled = new Set<number>();
  readonly #blocked = new Set<string>();
  readonly #containers: string[] = [];
  #disposed = false;
  #kept = false;

  private constructor(prefix: string, subnet: string, count: number, tempDir: string) {
    this.prefix = prefix;
    this.switchName = `${prefix}sw`;
    this.tempDir = tempDir;
    this.#hosts = [];
    for (let i = 1; i <= count; i++) this.#hosts.push(this.#makeHost(i, `${subnet}.${i}`));
  }

  /**
   * Builds the network; on failure removes what it built and rethrows.
   *
   * @example
   * ```ts ignore
   * await using net = await TestNet.create({ hosts: 3 });
   * const { code } = await net.host(1).exec(["ping", "-c1", net.host(2).ip]);
   * code; // 0: host 1 reaches host 2 across the switch
   * ```
   */
  static async create(opts: TestNetOptions): Promise<TestNet> {
    const skip = netnsSkipReason();
    if (skip) throw new Error(`Cannot create a test network: ${skip}`);
    if (!Number.isInteger(opts.hosts) || opts.hosts < 1 || opts.hosts > 253) {
      throw new RangeError(`Cannot create a test network: hosts must be 1..253, got ${opts.hosts}`);
    }
    const subnet = opts.subnet ?? "192.0.2";
    if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(subnet)) {
      throw new SyntaxError(
        `Cannot create a test network: subnet must be "a.b.c", got "${subnet}"`,
      );
    }
    const prefix = opts.prefix ?? randomPrefix();
    if (!/^[a-z][a-z0-9]{0,9}$/.test(prefix)) {
      throw new SyntaxError(`Cannot create a test network: bad prefix "${prefix}"`);
    }
    const existing = (await runOk(["ip", "netns", "list"])).split("\n").map((l) => l.split(" ")[0]);
    if (existing.some((ns) => ns.startsWith(prefix))) {
      throw new Error(`Cannot create a test network: namespaces with prefix "${prefix}" exist`);
    }
    const tempDir = await Deno.makeTempDir({ prefix: `weave-${prefix}-` });
    const net = new TestNet(prefix, subnet, opts.hosts, tempDir);
    try {
      await net.#build();
    } catch (e) {
      await net[Symbol.asyncDispose]().catch(() => {});
      throw e;
    }
    return net;
  }

  /** All hosts, in order. */
  get hosts(): readonly TestHost[] {
    return this.#hosts;
  }

  /**
   * Makes a "container" of host `i`: a network namespace `<prefix>h<i>c<n>` with `lo` up
   * (attach it with `weave attach <cidr> <name>`), removed on dispose. Returns its name.
   */
  async container(i: number, n: number): Promise<string> {
    this.host(i);
    const name = `${this.prefix}h${i}c${n}`;
    await runOk(["ip", "netns", "add", name]);
    this.#containers.push(name);
    await runOk(["ip", "-n", name, "link", "set", "lo", "up"]);
    return name;
  }

  /** Runs a command inside a container namespace made by {@link container}. */
  inContainer(name: string, cmd: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return run(["ip", "netns", "exec", name, ...cmd], opts);
  }

  /** Host `i` (1-based). */
  host(i: number): TestHost {
    const h = this.#hosts[i - 1];
    if (!h) throw new RangeError(`Cannot get host ${i}: the network has ${this.#hosts.length}`);
    return h;
  }

  /** Runs `<repo>/weave ...args` in host `i`. */
  weave(i: number, args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.host(i).exec([`${REPO_ROOT}weave`, ...args], opts);
  }

  /**
   * Runs `weave launch --nickname h<i> --db-prefix <state> ...args ...peers` in host `i`;
   * throws with the output when it exits non-zero.
   */
  async launch(i: number, opts: LaunchOptions = {}): Promise<ExecResult> {
    const h = this.host(i);
    const args = ["launch", "--nickname", `h${i}`, "--db-prefix", h.dbPrefix];
    const r = await this.weave(i, [...args, ...(opts.args ?? []), ...(opts.peers ?? [])]);
    if (r.code !== 0) {
      throw new Error(
        `Cannot launch the router of h${i}: exit code ${r.code}\n${r.stdout}${r.stderr}`.trim(),
      );
    }
    return r;
  }

  /** Drops all traffic between hosts `a` and `b` (nftables in both namespaces). */
  async blockLink(a: number, b: number): Promise<void> {
    await this.#setBlocked(a, b, true);
    await this.#setBlocked(b, a, true);
  }

  /** Undoes {@link blockLink}; nothing when the link is not blocked. */
  async unblockLink(a: number, b: number): Promise<void> {
    await this.#setBlocked(a, b, false);
    await this.#setBlocked(b, a, false);
  }

  /** Pid of the router of host `i`: the process listening on TCP 6783 in its namespace. */
  async routerPid(i: number): Promise<number | undefined> {
    const h = this.host(i);
    const ss = await h.exec(["ss", "-H", "-ltnp", `sport = :${WEAVE_PORT}`]);
    const m = /pid=(\d+)/.exec(ss.stdout);
    if (m) return Number(m[1]);
    for (const pid of await namespacePids(h.name)) {
      const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
      if (cmdline.split("\0").includes("--foreground")) return pid;
    }
    return undefined;
  }

  /** Sends `signal` to the router of host `i` and waits until it is gone; returns its pid. */
  async killRouter(i: number, signal: Deno.Signal = "SIGKILL"): Promise<number> {
    const pid = await this.routerPid(i);
    if (pid === undefined) {
      throw new Error(`Cannot kill the router of h${i}: no process listens on TCP ${WEAVE_PORT}`);
    }
    Deno.kill(pid, signal);
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      if (!(await isAlive(pid))) return pid;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`Cannot kill the router of h${i}: pid ${pid} still runs 10 s after ${signal}`);
  }

  /** Leaves everything in place on dispose (the demo's `--keep`). */
  keep(): void {
    this.#kept = true;
  }

  /** Kills what runs in the namespaces, deletes them and the temp dir. Safe to call twice. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed || this.#kept) return;
    this.#disposed = true;
    const errors: unknown[] = [];
    for (const child of this.#children) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already exited.
      }
    }
    for (const ns of [...this.#containers, ...this.#hosts.map((h) => h.name), this.switchName]) {
      await removeNamespace(ns).catch((e) => errors.push(e));
    }
    for (const child of this.#children) await settleChild(child);
    this.#children.clear();
    await removeTree(this.tempDir).catch((e) => errors.push(e));
    if (errors.length > 0) {
      throw new AggregateError(errors, `Cannot fully remove test network "${this.prefix}"`);
    }
  }

  async #build(): Promise<void> {
    const sw = this.switchName;
    await runOk(["ip", "netns", "add", sw]);
    await runOk(["ip", "-n", sw, "link", "set", "lo", "up"]);
    await runOk(["ip", "-n", sw, "link", "add", "br0", "type", "bridge"]);
    await runOk(["ip", "-n", sw, "link", "set", "br0", "up"]);
    for (const h of this.#hosts) {
      const port = `h${h.index}`;
      await runOk(["ip", "netns", "add", h.name]);
      await runOk(["ip", "-n", h.name, "link", "set", "lo", "up"]);
      await runOk([
        ...["ip", "-n", sw, "link", "add", port, "mtu", "1500", "type", "veth"],
        ...["peer", "name", "eth0", "mtu", "1500", "netns", h.name],
      ]);
      await runOk(["ip", "-n", sw, "link", "set", port, "master", "br0", "up"]);
      await runOk(["ip", "-n", h.name, "addr", "add", `${h.ip}/24`, "dev", "eth0"]);
      await runOk(["ip", "-n", h.name, "link", "set", "eth0", "up"]);
      await Deno.mkdir(`${this.tempDir}/h${h.index}`, { recursive: true });
    }
  }

  #makeHost(index: number, ip: string): TestHost {
    const name = `${this.prefix}h${index}`;
    const children = this.#children;
    return {
      index,
      name,
      ip,
      dbPrefix: `${this.tempDir}/h${index}/weave`,
      exec: (cmd, opts) => run(["ip", "netns", "exec", name, ...cmd], opts),
      spawn(cmd, opts = {}) {
        const child = new Deno.Command("ip", {
          args: ["netns", "exec", name, ...cmd],
          stdin: opts.stdin ?? "null",
          stdout: opts.stdout ?? "null",
          stderr: opts.stderr ?? "null",
          env: opts.env,
          cwd: opts.cwd,
        }).spawn();
        children.add(child);
        child.status.then(() => children.delete(child));
        return child;
      },
    };
  }

  async #setBlocked(on: number, other: number, blocked: boolean): Promise<void> {
    const key = `${on}>${other}`;
    if (this.#blocked.has(key) === blocked) return;
    const h = this.host(on);
    const peerIp = this.host(other).ip;
    if (!this.#firewalled.has(on)) {
      await runOk(["ip", "netns", "exec", h.name, "nft", "-f", "-"], {
        stdin: firewallRuleset(this.prefix),
      });
      this.#firewalled.add(on);
    }
    const verb = blocked ? "add" : "delete";
    await runOk([
      ...["ip", "netns", "exec", h.name, "nft", verb, "element", "inet", this.prefix],
      ...["blocked", `{ ${peerIp} }`],
    ]);
    if (blocked) this.#blocked.add(key);
    else this.#blocked.delete(key);
  }
}

/** Our nftables table: drops packets from/to the addresses in its set `blocked`. */
function firewallRuleset(table: string): string {
  return `table inet ${table} {
  set blocked { type ipv4_addr; }
  chain input { type filter hook input priority -10; policy accept; ip saddr @blocked drop; }
  chain output { type filter hook output priority -10; policy accept; ip daddr @blocked drop; }
}
`;
}

/** True while `pid` exists and is not a zombie (a zombie's parent may never reap it here). */
async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Waits for a killed child and closes the pipes nobody read, so no resource leaks. */
async function settleChild(child: Deno.ChildProcess): Promise<void> {
  await child.status;
  try {
    await child.stdin.close();
  } catch {
    // Not piped, or already closed.
  }
  for (const stream of ["stdout", "stderr"] as const) {
    try {
      await child[stream].cancel();
    } catch {
      // Not piped, or being read by its owner.
    }
  }
}
