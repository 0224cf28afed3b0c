/**
 * Fault scenario 2: a mesh split by partitions and healed again while containers come and go.
 * Each round blocks every link between a random group of hosts and the rest (nftables in the
 * host namespaces), keeps the storm running on both sides for a while, then unblocks and times
 * the heal: until every router has a connection to every other and all hold the same ring.
 * Held at the end: one ring, no address owned on two hosts, no answered address lost, every
 * name resolving on every host.
 *
 * @module
 */
import type { TestNet } from "../harness/netns.ts";
import { prng } from "../harness/prng.ts";
import type { NsAgent } from "./agent.ts";
import { type MeshCheck, settledCheck, sleep, Storm, type StormCounts } from "./storm.ts";
import { containerPools, startMesh, stopAgents } from "./mesh.ts";

/** Options of {@link partitionStorm}. */
export interface PartitionOptions {
  /** Partition/heal rounds. */
  rounds: number;
  seed: number;
  /** How long names may take to resolve everywhere after the storm (ms; 60 s by default). */
  namesTimeoutMs?: number;
  /**
   * Longest a partition lasts (ms); the shortest is 80% of it. The mesh notices a cut link
   * after 60 s without heartbeats (TCP read timeout, sleeve heartbeat timeout), as Weave does:
   * shorter splits test allocation on both sides, longer ones also reconnection.
   */
  maxSplitMs?: number;
  workers?: number;
  keep?: number;
  /** Longest a heal may take before the round counts as not healed (ms). */
  healTimeoutMs?: number;
}

/** What {@link partitionStorm} tried and what held. */
export interface PartitionResult {
  rounds: number;
  /** The groups cut off, one per round (e.g. "h2 h4 | h1 h3 h5"). */
  splits: string[];
  /** Connections (counted at both ends) down when each split ended: whether the mesh noticed. */
  downAtHeal: number[];
  /** Time from unblocking to a healed mesh, per round (ms); null: not healed in time. */
  healMs: (number | null)[];
  counts: StormCounts;
  /** What was seen when a heal timed out. */
  notes: string[];
  /** Distinct rings seen at the end (1 is one ring). */
  rings: number;
  final: MeshCheck;
  /** Time from the storm's end until every answered name resolved on every host (null: never). */
  namesMs: number | null;
  seconds: number;
}

/** Runs the scenario on a fresh mesh of `net`'s hosts (at least 3). */
export async function partitionStorm(
  net: TestNet,
  opts: PartitionOptions,
): Promise<PartitionResult> {
  const started = Date.now();
  const random = prng(opts.seed);
  const workers = opts.workers ?? 2;
  const keep = opts.keep ?? 4;
  const pools = await containerPools(net, workers, keep * 2);
  const agents = await startMesh(net);
  const hosts = net.hosts.map((h) => h.index);
  const storm = new Storm({
    agents,
    hosts,
    workers,
    keep,
    random: prng(opts.seed ^ 0x27d4eb2d),
    ids: (h, w) => pools.get(`${h}/${w}`)!,
  });
  const result: PartitionResult = {
    rounds: 0,
    splits: [],
    healMs: [],
    downAtHeal: [],
    counts: storm.counts,
    rings: 0,
    notes: [],
    final: { lost: [], doubles: [], unresolved: [], lookups: 0 },
    namesMs: null,
    seconds: 0,
  };
  try {
    const maxSplit = opts.maxSplitMs ?? 6_000;
    for (let r = 0; r < opts.rounds; r++) {
      await sleep(1_000 + random() * 1_000);
      const shuffled = [...hosts].sort(() => random() - 0.5);
      const size = 1 + Math.floor(random() * Math.floor(hosts.length / 2));
      const cut = shuffled.slice(0, size).sort(), rest = shuffled.slice(size).sort();
      result.splits.push(
        `${cut.map((h) => `h${h}`).join(" ")} | ${rest.map((h) => `h${h}`).join(" ")}`,
      );
      for (const a of cut) for (const b of rest) await net.blockLink(a, b);
      await sleep(maxSplit * 0.8 + random() * maxSplit * 0.2);
      result.downAtHeal.push(hosts.length * (hosts.length - 1) - await established(agents, hosts));
      for (const a of cut) for (const b of rest) await net.unblockLink(a, b);
      result.healMs.push(await timeHeal(agents, hosts, opts.healTimeoutMs ?? 60_000, result.notes));
      result.rounds++;
    }
    await storm.stop();
    result.rings = (await rings(agents, hosts)).size;
    const settled = await settledCheck(storm.ledger, agents, hosts, opts.namesTimeoutMs ?? 60_000);
    result.final = settled.check;
    result.namesMs = settled.namesMs;
  } finally {
    await storm.stop();
    await stopAgents(agents);
  }
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

/**
 * The ring each host reports (`/report` IPAM entries: which peer owns which token), hosts keyed
 * by it. Versions are left out: a peer bumps its own entries' version when their free count
 * changes and the others learn it only at the next periodic gossip, as in Weave.
 */
async function rings(agents: readonly (NsAgent | undefined)[], hosts: readonly number[]) {
  const seen = new Map<string, number[]>();
  for (const h of hosts) {
    const ring = (await report(agents[h]!))?.IPAM?.Entries
      ?.map((e) => `${e.Token} ${e.Peer}`).join(",") ?? "unreadable";
    seen.set(ring, [...(seen.get(ring) ?? []), h]);
  }
  return seen;
}

interface Report {
  Router: { Connections: { State: string }[] };
  IPAM?: { Entries: { Token: string; Peer: string; Version: number }[] };
}

async function report(agent: NsAgent): Promise<Report | undefined> {
  const r = await agent.http("GET", "/report", undefined, 3_000);
  return r.status === 200 ? JSON.parse(r.body) as Report : undefined;
}

/** Established connections over all hosts (each connection counts at both ends). */
async function established(agents: readonly (NsAgent | undefined)[], hosts: readonly number[]) {
  let n = 0;
  for (const h of hosts) {
    const rep = await report(agents[h]!);
    n += rep?.Router.Connections.filter((c) => c.State === "established").length ?? 0;
  }
  return n;
}

/** Ms until every host has all its connections established and all hold one ring. */
async function timeHeal(
  agents: readonly (NsAgent | undefined)[],
  hosts: readonly number[],
  timeoutMs: number,
  notes: string[],
): Promise<number | null> {
  const from = Date.now();
  while (Date.now() - from < timeoutMs) {
    const connected = await established(agents, hosts) >= hosts.length * (hosts.length - 1);
    if (connected && (await rings(agents, hosts)).size === 1) return Date.now() - from;
    await sleep(100);
  }
  const ups: string[] = [];
  for (const h of hosts) {
    const rep = await report(agents[h]!);
    ups.push(`h${h}: ${rep?.Router.Connections.map((c) => c.State).join(",")}`);
  }
  const split = [...(await rings(agents, hosts)).values()].map((hs) => hs.join(","));
  notes.push(
    `not healed in ${timeoutMs} ms: ${ups.join("; ")}; hosts by ring: ${split.join(" / ")}`,
  );
  return null;
}
