/**
 * An allocation storm: on each host, workers attach and detach "containers" through the router's
 * API as `weave attach`/`detach` and `dns-add`/`dns-remove` do (`POST /ip/<id>`, `PUT
 * /name/<id>/<ip>`, `DELETE /name/<id>`, `DELETE /ip/<id>`), recording every answer in a
 * {@link Ledger}, until stopped. Also the checks run after it: what the routers own, what is lost,
 * what is owned twice, which names do not resolve.
 *
 * @module
 */
import { doubleOwned, Ledger, lostAddresses, type Owner, parseOwned } from "./ledger.ts";
import type { NsAgent } from "./agent.ts";

/** Options of {@link Storm}. */
export interface StormOptions {
  /** The agent of each host, by host number (1-based; index 0 unused). */
  agents: readonly (NsAgent | undefined)[];
  /** Hosts to churn on. */
  hosts: readonly number[];
  /** Workers per host. */
  workers: number;
  /** Ids a worker keeps before it releases one. */
  keep: number;
  /** Random numbers in [0, 1) (seeded). */
  random: () => number;
  /**
   * The container ids worker `w` of `host` may use (real namespaces, so that a restarted router
   * restores their names: weaveDNS drops the stored names of containers that are gone). An id
   * is reused once released; one left unknown by a kill is retired.
   */
  ids: (host: number, w: number) => readonly string[];
}

/** Requests counted by kind and outcome. */
export interface StormCounts {
  allocations: number;
  releases: number;
  names: number;
  /** Requests with no answer (router down or partitioned). */
  unanswered: number;
  /** Requests answered with an error status. */
  refused: number;
}

/** A running storm; {@link stop} ends it after the requests in flight. */
export class Storm {
  readonly ledger = new Ledger();
  readonly counts: StormCounts = {
    allocations: 0,
    releases: 0,
    names: 0,
    unanswered: 0,
    refused: 0,
  };
  readonly #o: StormOptions;
  readonly #running: Promise<void>[] = [];
  #stopped = false;
  #paused = new Set<number>();

  /** Starts the workers. */
  constructor(opts: StormOptions) {
    this.#o = opts;
    for (const h of opts.hosts) {
      for (let w = 0; w < opts.workers; w++) this.#running.push(this.#worker(h, w));
    }
  }

  /** Stops sending to `host` (its router is being restarted) until {@link resume}. */
  pause(host: number): void {
    this.#paused.add(host);
  }

  /** Undoes {@link pause}. */
  resume(host: number): void {
    this.#paused.delete(host);
  }

  /** Ends the storm and waits for the workers. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#running);
  }

  async #worker(host: number, w: number): Promise<void> {
    const mine: string[] = [];
    const free = [...this.#o.ids(host, w)];
    while (!this.#stopped) {
      const agent = this.#o.agents[host];
      if (!agent || this.#paused.has(host)) {
        await sleep(100);
        continue;
      }
      const room = mine.length < this.#o.keep && free.length > 0;
      if (room && (mine.length === 0 || this.#o.random() < 0.6)) {
        const id = free.splice(Math.floor(this.#o.random() * free.length), 1)[0];
        const a = await agent.http("POST", `/ip/${id}`);
        this.#count(a.status, "allocations");
        this.ledger.allocated(id, host, a.status, a.body);
        if (a.status === 0) await sleep(200);
        if (a.status !== 200) {
          if (a.status !== 0) free.push(id);
          continue;
        }
        mine.push(id);
        const ip = a.body.trim().split("/")[0];
        const d = await agent.http("PUT", `/name/${id}/${ip}`, `fqdn=${id}.weave.local.`);
        this.#count(d.status, "names");
        this.ledger.named(id, d.status);
      } else if (mine.length > 0) {
        const id = mine.splice(Math.floor(this.#o.random() * mine.length), 1)[0];
        const d = await agent.http("DELETE", `/name/${id}`);
        const r = d.status === 0 ? d : await agent.http("DELETE", `/ip/${id}`);
        this.#count(r.status, "releases");
        this.ledger.released(id, d.status, r.status);
        if (r.status === 0) await sleep(200);
        else if (r.status < 300) free.push(id);
        else mine.push(id);
      } else {
        await sleep(100);
      }
    }
  }

  #count(status: number, kind: "allocations" | "releases" | "names"): void {
    if (status === 0) this.counts.unanswered++;
    else if (status >= 300) this.counts.refused++;
    else this.counts[kind]++;
  }
}

/** What every host's router owns (`GET /ip`); throws when a router does not answer. */
export async function ownedEverywhere(
  agents: readonly (NsAgent | undefined)[],
  hosts: readonly number[],
): Promise<Owner[]> {
  const all: Owner[] = [];
  for (const h of hosts) {
    const r = await agents[h]!.http("GET", "/ip");
    if (r.status !== 200) throw new Error(`GET /ip on h${h}: ${r.status} ${r.body}`);
    all.push(...parseOwned(h, r.body));
  }
  return all;
}

/** The outcome of {@link checkMesh}. */
export interface MeshCheck {
  /** Held addresses the routers no longer report. */
  lost: string[];
  /** Addresses owned twice. */
  doubles: string[];
  /** Names answered as added that some host does not resolve to their address. */
  unresolved: string[];
  /** Names checked × hosts asked. */
  lookups: number;
}

/**
 * Checks the routers of `hosts` against the ledger: lost, doubled and (when `names`) unresolved
 * names, asked of every host in `hosts`.
 */
export async function checkMesh(
  ledger: Ledger,
  agents: readonly (NsAgent | undefined)[],
  hosts: readonly number[],
  names = true,
): Promise<MeshCheck> {
  const owned = await ownedEverywhere(agents, hosts);
  const unresolved: string[] = [];
  let lookups = 0;
  const named = names ? ledger.entries().filter(([, h]) => h.named && !h.unknown && h.addr) : [];
  for (const h of hosts) {
    const answers = await Promise.all(
      named.map(([id]) => agents[h]!.resolve(`${id}.weave.local.`)),
    );
    named.forEach(([id, held], i) => {
      lookups++;
      const a = answers[i];
      if (a.status !== 200 || !a.body.split(" ").includes(held.addr!)) {
        unresolved.push(`${id} on h${h}: ${a.status === 200 ? a.body || "no address" : a.body}`);
      }
    });
  }
  return { lost: lostAddresses(ledger, owned), doubles: doubleOwned(owned), unresolved, lookups };
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * {@link checkMesh} until every name resolves everywhere (names travel by gossip) or `timeoutMs`
 * passed; returns the last check and how long names took (null: not all in time).
 */
export async function settledCheck(
  ledger: Ledger,
  agents: readonly (NsAgent | undefined)[],
  hosts: readonly number[],
  timeoutMs: number,
): Promise<{ check: MeshCheck; namesMs: number | null }> {
  const from = Date.now();
  let check = await checkMesh(ledger, agents, hosts);
  while (check.unresolved.length > 0 && Date.now() - from < timeoutMs) {
    await sleep(500);
    check = await checkMesh(ledger, agents, hosts);
  }
  return { check, namesMs: check.unresolved.length === 0 ? Date.now() - from : null };
}
