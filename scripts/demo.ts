/**
 * The demo a newcomer runs first (`./scripts/demo.sh [--keep | --clean]`): three hosts in network
 * namespaces, a router on each, and the mesh that discovery completes between them.
 *
 * It runs as a list of steps, each with a title and a body that gets the shared {@link Demo}
 * state, so later demos (containers, ping across hosts, DNS) add steps rather than rewrite it.
 *
 * @module
 */

import { writeText } from "../tests/harness/exec.ts";
import { cleanupStale } from "../tests/harness/cleanup.ts";
import { randomPrefix, REPO_ROOT, TestNet, waitFor } from "../tests/harness/netns.ts";
import { installPlugins, plugin } from "../tests/_cni.ts";

/** What the steps share. */
interface Demo {
  net: TestNet;
  /** How to call the launcher in the hints shown to the reader (relative when in the repo). */
  weaveCmd: string;
  /** Extra `weave launch` flags of this variant (`--sleeve`, `--encrypted`). */
  launchArgs: string[];
  /** The datapath the connections should use. */
  overlay: "fastdp" | "sleeve";
  /** Container namespaces, one per host, and their addresses (filled by a step). */
  containers: { name: string; ip: string }[];
}

/** One step of the demo. */
interface Step {
  title: string;
  run(demo: Demo): Promise<void>;
}

const HOSTS = 3;
const SUBNET = "192.0.2";
const MESH_TIMEOUT_MS = 30_000;
const DEMO_PREFIXES = /^wd[0-9a-f]{4}$/;
/** Lines of each router's log shown when the demo fails. */
const LOG_LINES = 8;

const say = (text = "") => writeText(Deno.stdout, `${text}\n`);
const indent = (text: string, by = "    ") =>
  text.replace(/^\n+|\n+$/g, "").split("\n").map((l) => l === "" ? l : by + l).join("\n");

/** Peers named on each host's `weave launch`: a chain, so h3 learns of h1 only by discovery. */
function peersOf(net: TestNet, i: number): string[] {
  return i === 1 ? [] : [net.host(i - 1).ip];
}

/** Each host's "Connections:" line of `weave status` (or what failed); ok when it shows `want`. */
async function connectionLines(
  net: TestNet,
  want: RegExp,
): Promise<{ ok: boolean; text: string }[]> {
  return await Promise.all(net.hosts.map(async (h) => {
    const r = await net.weave(h.index, ["status"], { timeoutMs: 5000 });
    const line = /^\s*Connections:.*$/m.exec(r.stdout)?.[0].trim();
    const text = `h${h.index}: ${line ?? (r.stderr.trim() || `exit code ${r.code}`)}`;
    return { ok: line !== undefined && want.test(line), text };
  }));
}

const steps: Step[] = [
  {
    title: `Launch a router on each host: h1 alone, h2 -> h1, h3 -> h2`,
    async run({ net, launchArgs }) {
      for (const h of net.hosts) {
        const peers = peersOf(net, h.index);
        say(
          `  h${h.index}$ weave launch --nickname h${h.index} --db-prefix ${h.dbPrefix} ${
            [...launchArgs, ...peers].join(" ")
          }`.trimEnd(),
        );
        const r = await net.launch(h.index, { peers, args: launchArgs });
        if (r.stdout.trim() !== "") say(indent(r.stdout, "      "));
      }
    },
  },
  {
    title: `Wait until discovery completes the mesh (each host: 2 established connections)`,
    async run({ net }) {
      const started = Date.now();
      const want = /^Connections: 2 \(2 established\)$/;
      let lines: { ok: boolean; text: string }[] = [];
      await waitFor(async () => {
        lines = await connectionLines(net, want);
        return lines.every((l) => l.ok) || lines.map((l) => l.text).join("\n");
      }, {
        what: "every host to show 'Connections: 2 (2 established)'",
        timeoutMs: MESH_TIMEOUT_MS,
        intervalMs: 250,
      });
      say(`  full mesh after ${((Date.now() - started) / 1000).toFixed(1)} s:`);
      say(indent(lines.map((l) => l.text).join("\n")));
    },
  },
  {
    title: "Attach a container to each host: IPAM picks the addresses (consensus of 3)",
    async run(demo) {
      for (const h of demo.net.hosts) {
        const name = await demo.net.container(h.index, 1);
        say(`  h${h.index}$ weave attach ${name}`);
        const r = await demo.net.weave(h.index, ["attach", name], { timeoutMs: 30_000 });
        if (r.code !== 0) throw new Error(`Cannot attach on h${h.index}: ${r.stderr.trim()}`);
        say(`      ${r.stdout.trim()}`);
        demo.containers.push({ name, ip: r.stdout.trim() });
      }
    },
  },
  {
    title: "Ping across hosts, container to container",
    async run({ net, containers, overlay }) {
      for (const [a, from] of containers.entries()) {
        for (const [b, to] of containers.entries()) {
          if (a === b) continue;
          let rtt = "";
          await waitFor(async () => {
            const r = await net.inContainer(from.name, ["ping", "-c", "1", "-W", "1", to.ip]);
            rtt = /time=([\d.]+ ms)/.exec(r.stdout)?.[1] ?? "";
            return r.code === 0 || r.stdout;
          }, { what: `h${a + 1}'s container to ping h${b + 1}'s`, timeoutMs: 30_000 });
          say(`  h${a + 1}:${from.ip} -> h${b + 1}:${to.ip}  reply in ${rtt}`);
        }
      }
      await waitFor(async () => {
        const s = (await net.weave(1, ["status", "connections"])).stdout;
        const using = new RegExp(`established (encrypted +)?${overlay} `, "g");
        return (s.match(using) ?? []).length === 2 || s;
      }, { what: `h1's connections to use ${overlay}`, timeoutMs: 45_000 });
      say(
        `  the connections carry the data over ${
          overlay === "fastdp"
            ? "the fast datapath (kernel VXLAN, UDP 6784)"
            : "sleeve (userspace UDP 6783)"
        }`,
      );
    },
  },
  {
    title: "A pod through the CNI plugin on h2 (as the kubelet's runtime calls it), pinged from h1",
    async run({ net, containers }) {
      const dir = await Deno.makeTempDir({ prefix: "weave-demo-cni-" });
      try {
        const cni = await installPlugins(dir);
        say(`  h2$ weave setup-cni --cni-bin-dir ${cni.binDir} --cni-conf-dir ${cni.confDir}`);
        const [weaveNet] = cni.conflist.plugins as Record<string, unknown>[];
        const stdin = JSON.stringify({ cniVersion: "1.1.0", name: "weave", ...weaveNet });
        const pod = await net.container(2, 2);
        const call = { cni, id: `demo-${pod}`, netns: `/run/netns/${pod}`, stdin };
        const add = await plugin(net, 2, { ...call, command: "ADD" });
        if (add.code !== 0) throw new Error(`CNI ADD failed: ${add.stdout}${add.stderr}`);
        const ips = add.out?.ips as { address: string }[];
        const ip = ips[0].address.split("/")[0];
        say(`  CNI ADD (spec 1.1.0) -> ${ips[0].address} on eth0 of ${pod}`);
        await waitFor(async () => {
          const r = await net.inContainer(containers[0].name, ["ping", "-c", "1", "-W", "1", ip]);
          return r.code === 0 || r.stdout;
        }, { what: "h1's container to ping the pod on h2", timeoutMs: 30_000 });
        say(`  h1:${containers[0].ip} -> pod on h2:${ip}  reply`);
        const del = await plugin(net, 2, { ...call, command: "DEL" });
        if (del.code !== 0) throw new Error(`CNI DEL failed: ${del.stdout}${del.stderr}`);
        say(`  CNI DEL -> the pod's veth is gone and ${ip} is released`);
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
  },
  {
    title: "Name the container of h1 in weaveDNS and resolve it from h3",
    async run({ net, containers }) {
      const [c1] = containers;
      say(`  h1$ weave dns-add ${c1.ip} ${c1.name} -h web.weave.local`);
      const add = await net.weave(1, ["dns-add", c1.ip, c1.name, "-h", "web.weave.local"]);
      if (add.code !== 0) throw new Error(`Cannot add the name: ${add.stderr.trim()}`);
      let answer = "";
      await waitFor(async () => {
        const r = await net.weave(3, ["dns-lookup", "web"]);
        answer = r.stdout.trim();
        return answer === c1.ip || `${r.stdout}${r.stderr}`;
      }, { what: "h3 to resolve web.weave.local", timeoutMs: 10_000, intervalMs: 100 });
      say(`  h3$ weave dns-lookup web`);
      say(`      ${answer}`);
    },
  },
  {
    title: "Look at each host's status",
    async run({ net }) {
      for (const h of net.hosts) {
        say();
        say(`  ===== h${h.index}  (namespace ${h.name}, underlay ${h.ip}) =====`);
        for (const args of [["status"], ["status", "connections"], ["status", "ipam"]]) {
          const r = await net.weave(h.index, args);
          say(`  h${h.index}$ weave ${args.join(" ")}`);
          say(indent(r.stdout + r.stderr));
          if (r.code !== 0) throw new Error(`Cannot run "weave ${args.join(" ")}" on h${h.index}`);
        }
      }
    },
  },
];

async function main(args: string[]): Promise<number> {
  const flags = ["--keep", "--clean", "--sleeve", "--encrypted", "--help"];
  const unknown = args.filter((a) => !flags.includes(a));
  if (unknown.length > 0 || args.includes("--help")) {
    say("usage: ./scripts/demo.sh [--sleeve | --encrypted] [--keep | --clean]");
    say("  --sleeve     force the userspace datapath (weave launch --no-fastdp)");
    say("  --encrypted  use a password: encrypted control and data (encrypted sleeve)");
    say("  --keep       leave the hosts and routers running to look around");
    say("  --clean      remove what an earlier --keep left");
    return unknown.length > 0 ? 2 : 0;
  }
  if (args.includes("--clean")) {
    const removed = await cleanupStale(DEMO_PREFIXES);
    say(removed.length === 0 ? "Nothing to remove." : `Removed ${removed.join(" ")}`);
    return 0;
  }
  const keep = args.includes("--keep");
  const variant = args.includes("--encrypted")
    ? ["--password", "demo-secret"]
    : args.includes("--sleeve")
    ? ["--no-fastdp"]
    : [];
  const overlay = variant.length ? "sleeve" : "fastdp";
  const launchArgs = ["--ipalloc-init", `consensus=${HOSTS}`, ...variant];
  const demo = { containers: [] as { name: string; ip: string }[] };
  const started = Date.now();
  const total = steps.length + 1;
  say(
    `[1/${total}] Build ${HOSTS} hosts in network namespaces, joined by a bridge on ${SUBNET}.0/24`,
  );
  const net = await TestNet.create({ hosts: HOSTS, subnet: SUBNET, prefix: randomPrefix("wd") });
  const onInterrupt = () => {
    net[Symbol.asyncDispose]().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  for (const h of net.hosts) say(`  h${h.index}: namespace ${h.name}, eth0 ${h.ip}/24`);
  const weaveCmd = Deno.cwd() + "/" === REPO_ROOT ? "./weave" : `${REPO_ROOT}weave`;
  let failed = false;
  try {
    for (const [n, step] of steps.entries()) {
      say();
      say(`[${n + 2}/${total}] ${step.title}`);
      await step.run({ net, weaveCmd, launchArgs, overlay, containers: demo.containers });
    }
    say();
    say(`Demo done in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  } catch (e) {
    failed = true;
    say();
    say(`Demo failed: ${e instanceof Error ? e.message : String(e)}`);
    await showRouterLogs(net);
    if (!keep) say("Run ./scripts/demo.sh --keep to leave the hosts in place and look around.");
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    if (keep) {
      net.keep();
      showHowToLookAround({ net, weaveCmd, launchArgs, overlay, containers: demo.containers });
    } else {
      await net[Symbol.asyncDispose]();
      say("Removed the hosts and their routers.");
    }
  }
  return failed ? 1 : 0;
}

/** The last lines of each host's router log (`weave.log` beside its --db-prefix). */
async function showRouterLogs(net: TestNet): Promise<void> {
  for (const h of net.hosts) {
    const path = `${h.dbPrefix.slice(0, h.dbPrefix.lastIndexOf("/"))}/weave.log`;
    const text = await Deno.readTextFile(path).catch(() => undefined);
    if (text === undefined) continue;
    say();
    say(`  last lines of h${h.index}'s ${path}:`);
    say(indent(text.trimEnd().split("\n").slice(-LOG_LINES).join("\n")));
  }
}

function showHowToLookAround({ net, weaveCmd }: Demo): void {
  const [h1, h2] = net.hosts;
  say();
  say(`The hosts are still running (run prefix ${net.prefix}). Look around:`);
  say(`  ip netns exec ${h1.name} ${weaveCmd} status peers`);
  say(`  ip netns exec ${h2.name} ${weaveCmd} status connections`);
  say(`  ip netns exec ${h1.name} ping -c1 ${h2.ip}`);
  say(`  router state: ${net.tempDir}/h<N>/`);
  say("Remove them afterwards with:");
  say("  ./scripts/demo.sh --clean");
}

if (import.meta.main) Deno.exit(await main(Deno.args));
