/**
 * Building blocks the fault scenarios share: launching a consensus mesh of routers in a
 * {@link TestNet}, one {@link NsAgent} per host, pools of container namespaces, the routers'
 * logs and damage reports.
 *
 * @module
 */
import { type TestNet, waitFor } from "../harness/netns.ts";
import { NsAgent } from "./agent.ts";

/** Router flags of every scenario: IPAM by consensus of all hosts, sleeve only. */
export function routerArgs(hosts: number): string[] {
  return ["--ipalloc-init", `consensus=${hosts}`, "--no-fastdp"];
}

/** The peers host `i` names at launch: every other host. */
export function peersOf(net: TestNet, i: number): string[] {
  return net.hosts.filter((h) => h.index !== i).map((h) => h.ip);
}

/** Launches host `i`'s router in the mesh (again, after a kill). */
export async function launchHost(net: TestNet, i: number): Promise<void> {
  await net.launch(i, { args: routerArgs(net.hosts.length), peers: peersOf(net, i) });
}

/** Launches every router, starts an agent in each host and waits for the ring. */
export async function startMesh(net: TestNet): Promise<(NsAgent | undefined)[]> {
  for (const h of net.hosts) await launchHost(net, h.index);
  const agents: (NsAgent | undefined)[] = [undefined];
  for (const h of net.hosts) agents.push(new NsAgent(h));
  for (const h of net.hosts) {
    await waitFor(async () => {
      const r = await agents[h.index]!.http("GET", "/ring", undefined, 5_000);
      return r.status === 200 || `${r.status} ${r.body}`;
    }, { what: `h${h.index}'s IPAM ring`, timeoutMs: 30_000 });
  }
  return agents;
}

/** Makes `perWorker` container namespaces for each worker of each host; returns their names. */
export async function containerPools(
  net: TestNet,
  workers: number,
  perWorker: number,
): Promise<Map<string, string[]>> {
  const pools = new Map<string, string[]>();
  for (const h of net.hosts) {
    for (let w = 0; w < workers; w++) {
      const names: string[] = [];
      for (let k = 0; k < perWorker; k++) names.push(await net.container(h.index, w * 100 + k));
      pools.set(`${h.index}/${w}`, names);
    }
  }
  return pools;
}

/** Host `i`'s router log. */
export function logPath(net: TestNet, i: number): string {
  return `${net.tempDir}/h${i}/weave.log`;
}

/** Lines of host `i`'s log that report a damaged state or journal file. */
export async function damageReports(net: TestNet, i: number): Promise<string[]> {
  const text = await Deno.readTextFile(logPath(net, i)).catch(() => "");
  return text.split("\n").filter((l) => /is damaged|Cannot save|Cannot load/.test(l));
}

/** RSS (bytes) and open file descriptors of a process. */
export async function processUsage(pid: number): Promise<{ rss: number; fds: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  let fds = 0;
  for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) fds++;
  return { rss: kb * 1024, fds };
}

/** Disposes agents, ignoring the absent. */
export async function stopAgents(agents: readonly (NsAgent | undefined)[]): Promise<void> {
  for (const a of agents) await a?.[Symbol.asyncDispose]();
}
