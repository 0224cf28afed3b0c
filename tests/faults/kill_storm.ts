/**
 * Fault scenario 1: `kill -9` at random moments during an allocation and DNS storm. Every host
 * churns addresses and names through its router's API while, at seeded random moments, one
 * router is killed with SIGKILL and launched again. Held: each restart succeeds and reports no
 * damaged file; no address or name answered before a kill is missing afterwards; no address is
 * owned twice across the mesh.
 *
 * @module
 */
import { type TestNet, waitFor } from "../harness/netns.ts";
import { prng } from "../harness/prng.ts";
import {
  checkMesh,
  type MeshCheck,
  settledCheck,
  sleep,
  Storm,
  type StormCounts,
} from "./storm.ts";
import { containerPools, damageReports, launchHost, startMesh, stopAgents } from "./mesh.ts";

/** Options of {@link killStorm}. */
export interface KillStormOptions {
  /** Number of kills. */
  kills: number;
  /** Seed of the kill moments and victims (and of the storm's choices). */
  seed: number;
  /** How long names may take to resolve everywhere after the storm (ms; 60 s by default). */
  namesTimeoutMs?: number;
  /** Workers per host. */
  workers?: number;
  /** Ids a worker holds at most. */
  keep?: number;
  /** Longest random wait before a kill (ms); the shortest is a tenth of it. */
  maxGapMs?: number;
}

/** What {@link killStorm} tried and what held. */
export interface KillStormResult {
  kills: number;
  restarts: number;
  /** Restarts that failed (launch error), with the reason. */
  failedRestarts: string[];
  /** Log lines reporting a damaged file. */
  damaged: string[];
  counts: StormCounts;
  /** Lost addresses found right after each restart (on the restarted host). */
  lostAfterRestart: string[];
  /** The final check over the whole mesh. */
  final: MeshCheck;
  /** Time from the storm's end until every answered name resolved on every host (null: never). */
  namesMs: number | null;
  /** Longest kill-to-answering time of a restart (ms). */
  maxRestartMs: number;
  seconds: number;
}

/** Runs the scenario on a fresh mesh of `net`'s hosts. */
export async function killStorm(net: TestNet, opts: KillStormOptions): Promise<KillStormResult> {
  const started = Date.now();
  const random = prng(opts.seed);
  const workers = opts.workers ?? 3;
  const keep = opts.keep ?? 5;
  const pools = await containerPools(net, workers, keep * 2);
  const agents = await startMesh(net);
  const hosts = net.hosts.map((h) => h.index);
  const storm = new Storm({
    agents,
    hosts,
    workers,
    keep,
    random: prng(opts.seed ^ 0x5bd1e995),
    ids: (h, w) => pools.get(`${h}/${w}`)!,
  });
  const result: KillStormResult = {
    kills: 0,
    restarts: 0,
    failedRestarts: [],
    damaged: [],
    counts: storm.counts,
    lostAfterRestart: [],
    final: { lost: [], doubles: [], unresolved: [], lookups: 0 },
    namesMs: null,
    maxRestartMs: 0,
    seconds: 0,
  };
  try {
    const maxGap = opts.maxGapMs ?? 3_000;
    for (let k = 0; k < opts.kills; k++) {
      await sleep(maxGap / 10 + random() * maxGap * 0.9);
      const victim = hosts[Math.floor(random() * hosts.length)];
      const killedAt = Date.now();
      await net.killRouter(victim);
      result.kills++;
      storm.pause(victim);
      try {
        await launchHost(net, victim);
        await waitFor(async () => {
          const r = await agents[victim]!.http("GET", "/ip", undefined, 2_000);
          return r.status === 200 || `${r.status} ${r.body}`;
        }, { what: `h${victim}'s API after restart`, timeoutMs: 20_000 });
        result.restarts++;
        result.maxRestartMs = Math.max(result.maxRestartMs, Date.now() - killedAt);
        const now = await checkMesh(storm.ledger, agents, [victim], false);
        result.lostAfterRestart.push(...now.lost.filter((l) => l.includes(`@h${victim}=`)));
      } catch (e) {
        result.failedRestarts.push(`h${victim}: ${(e as Error).message.split("\n")[0]}`);
        break;
      } finally {
        storm.resume(victim);
      }
    }
    await storm.stop();
    // Names gossip to the other hosts; give them a few seconds to arrive.
    const settled = await settledCheck(storm.ledger, agents, hosts, opts.namesTimeoutMs ?? 60_000);
    result.final = settled.check;
    result.namesMs = settled.namesMs;
    for (const h of hosts) result.damaged.push(...await damageReports(net, h));
  } finally {
    await storm.stop();
    await stopAgents(agents);
  }
  result.seconds = (Date.now() - started) / 1000;
  return result;
}
