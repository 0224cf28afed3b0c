/**
 * Fault scenario 3: a soak. Containers come and go on every host while one peer (the last host)
 * is killed with SIGKILL and launched again every interval. Measured on the routers that stay
 * up: RSS and open file descriptors after a warm-up and at the end, and the control traffic
 * they send (TCP port 6783: gossip, heartbeats and everything else of the mesh protocol,
 * counted by an nftables counter in the host's namespace). Held at the end: no answered
 * address lost, none owned twice, every name resolving everywhere.
 *
 * @module
 */
import { runOk } from "../harness/exec.ts";
import type { TestNet } from "../harness/netns.ts";
import { prng } from "../harness/prng.ts";
import { type MeshCheck, settledCheck, sleep, Storm, type StormCounts } from "./storm.ts";
import { containerPools, launchHost, processUsage, startMesh, stopAgents } from "./mesh.ts";

/** Options of {@link soak}. */
export interface SoakOptions {
  /** How long the soak runs after the warm-up (ms). */
  durationMs: number;
  /** Time between restarts of the restarting peer (ms). */
  restartEveryMs: number;
  /** Churn before the first reading (ms). */
  warmupMs?: number;
  seed: number;
  /** How long names may take to resolve everywhere after the storm (ms; 60 s by default). */
  namesTimeoutMs?: number;
  workers?: number;
  keep?: number;
}

/** One router's readings. */
export interface Usage {
  host: number;
  rss: number;
  fds: number;
}

/** What {@link soak} measured and what held. */
export interface SoakResult {
  restarts: number;
  failedRestarts: string[];
  start: Usage[];
  end: Usage[];
  /** Readings of the stable routers after each restart. */
  series: Usage[][];
  /** Control bytes per second each stable router sent on TCP 6783, by host. */
  gossipBytesPerS: { host: number; rate: number }[];
  counts: StormCounts;
  final: MeshCheck;
  /** Time from the storm's end until every answered name resolved on every host (null: never). */
  namesMs: number | null;
  seconds: number;
}

/** Runs the soak on a fresh mesh of `net`'s hosts (at least 2). */
export async function soak(net: TestNet, opts: SoakOptions): Promise<SoakResult> {
  const workers = opts.workers ?? 2;
  const keep = opts.keep ?? 4;
  const pools = await containerPools(net, workers, keep * 2);
  const agents = await startMesh(net);
  const hosts = net.hosts.map((h) => h.index);
  const restarting = hosts[hosts.length - 1];
  const stable = hosts.filter((h) => h !== restarting);
  const storm = new Storm({
    agents,
    hosts,
    workers,
    keep,
    random: prng(opts.seed),
    ids: (h, w) => pools.get(`${h}/${w}`)!,
  });
  const result: SoakResult = {
    restarts: 0,
    failedRestarts: [],
    start: [],
    end: [],
    series: [],
    gossipBytesPerS: [],
    counts: storm.counts,
    final: { lost: [], doubles: [], unresolved: [], lookups: 0 },
    namesMs: null,
    seconds: 0,
  };
  try {
    for (const h of stable) await addCounter(net, h);
    await sleep(opts.warmupMs ?? 10_000);
    result.start = await readings(net, stable);
    const sentBefore = await Promise.all(stable.map((h) => sentBytes(net, h)));
    const started = Date.now();
    while (Date.now() - started < opts.durationMs) {
      await sleep(Math.min(opts.restartEveryMs, opts.durationMs - (Date.now() - started)));
      if (Date.now() - started >= opts.durationMs) break;
      await net.killRouter(restarting);
      storm.pause(restarting);
      try {
        await launchHost(net, restarting);
        result.restarts++;
        result.series.push(await readings(net, stable));
      } catch (e) {
        result.failedRestarts.push((e as Error).message.split("\n")[0]);
        break;
      } finally {
        storm.resume(restarting);
      }
    }
    const seconds = (Date.now() - started) / 1000;
    const sentAfter = await Promise.all(stable.map((h) => sentBytes(net, h)));
    result.gossipBytesPerS = stable.map((host, i) => ({
      host,
      rate: (sentAfter[i] - sentBefore[i]) / seconds,
    }));
    result.end = await readings(net, stable);
    result.seconds = seconds;
    await storm.stop();
    const settled = await settledCheck(storm.ledger, agents, hosts, opts.namesTimeoutMs ?? 60_000);
    result.final = settled.check;
    result.namesMs = settled.namesMs;
  } finally {
    await storm.stop();
    await stopAgents(agents);
  }
  return result;
}

async function readings(net: TestNet, hosts: readonly number[]): Promise<Usage[]> {
  const out: Usage[] = [];
  for (const host of hosts) {
    const pid = await net.routerPid(host);
    if (pid === undefined) throw new Error(`Cannot read h${host}'s router: it is not running`);
    out.push({ host, ...await processUsage(pid) });
  }
  return out;
}

/** The nftables table counting host `i`'s TCP 6783 output (removed with the namespace). */
function counterTable(net: TestNet): string {
  return `${net.prefix}soak`;
}

async function addCounter(net: TestNet, i: number): Promise<void> {
  const t = counterTable(net);
  await runOk(["ip", "netns", "exec", net.host(i).name, "nft", "-f", "-"], {
    stdin: `table inet ${t} {
  counter mesh_out { }
  chain output { type filter hook output priority 0; policy accept;
    tcp sport 6783 counter name mesh_out; tcp dport 6783 counter name mesh_out; }
}
`,
  });
}

async function sentBytes(net: TestNet, i: number): Promise<number> {
  const out = await runOk([
    ...["ip", "netns", "exec", net.host(i).name, "nft", "-j", "list", "counter", "inet"],
    ...[counterTable(net), "mesh_out"],
  ]);
  const doc = JSON.parse(out) as { nftables: { counter?: { bytes: number } }[] };
  return doc.nftables.find((x) => x.counter)?.counter?.bytes ?? 0;
}
