/**
 * IPAM benchmark: time to Paxos consensus and to the first address for N
 * peers with `--ipalloc-init=consensus=N`, and the allocation rate of one
 * peer. Prints the command, the machine and markdown tables on stdout;
 * progress goes to stderr.
 *
 *     deno run -A bench/ipam.ts [--sizes 3,25,100,200] [--tcp-sizes 3,25] \
 *       [--timeout 50] [--memory-count 5000] [--file-count 1000]
 *
 * Consensus runs use the in-memory mesh for every size in `--sizes` (real
 * gossip channels, no sockets) and real MeshRouters over TCP for
 * `--tcp-sizes`, each twice: peer 1 alone asks for an address at time zero,
 * or every peer does at once.
 *
 * @module
 */
import { writeErr, writeOut } from "./_host.ts";
import { type IpamCluster, memoryCluster, tcpCluster } from "./_ipam_cluster.ts";
import {
  type Askers,
  type ConsensusResult,
  measureConsensus,
  measureRate,
  type RateResult,
  type RateSpec,
} from "./_ipam_measure.ts";

/** Command-line options. */
export interface IpamBenchOptions {
  sizes: number[];
  tcpSizes: number[];
  timeoutS: number;
  /** Addresses per rate run with the in-memory store and with the file store. */
  memoryCount: number;
  fileCount: number;
}

function sizes(text: string, flag: string): number[] {
  if (text === "") return [];
  const out = text.split(",").map(Number);
  if (out.some((n) => !Number.isInteger(n) || n < 1 || n > 254)) {
    throw new RangeError(`Cannot use ${flag} "${text}": expected integers in 1..254`);
  }
  return out;
}

/** Parses the command line. */
export function parseArgs(args: string[]): IpamBenchOptions {
  const opts: IpamBenchOptions = {
    sizes: [3, 25, 100, 200],
    tcpSizes: [3, 25],
    timeoutS: 50,
    memoryCount: 5_000,
    fileCount: 1_000,
  };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1] ?? ""];
    if (flag === "--sizes") opts.sizes = sizes(value, flag);
    else if (flag === "--tcp-sizes") opts.tcpSizes = sizes(value, flag);
    else if (flag === "--timeout") opts.timeoutS = Number(value);
    else if (flag === "--memory-count") opts.memoryCount = Number(value);
    else if (flag === "--file-count") opts.fileCount = Number(value);
    else throw new SyntaxError(`Cannot parse arguments: unknown flag "${flag}"`);
  }
  return opts;
}

const s = (x: number | null | undefined) => (x === null || x === undefined ? "–" : x.toFixed(2));

function row(cells: string[]): string {
  return `| ${cells.join(" | ")} |`;
}

function table(head: string[], rows: string[][]): string {
  return [row(head), row(head.map(() => "---")), ...rows.map(row)].join("\n") + "\n";
}

function consensusTable(results: ConsensusResult[], timeoutS: number): string {
  const never = `not in ${timeoutS} s`;
  return table(
    [
      "peers",
      "mesh",
      "who asks at t=0",
      "mesh formed (s)",
      "consensus: first peer has ring (s)",
      "every peer has ring (s)",
      "first address: first / median / last asker (s)",
      "same ring on every peer (s)",
      "gossip KiB/peer",
      "CPU s/peer",
      "checks",
    ],
    results.map((r) => [
      String(r.n),
      r.mesh === "memory" ? "in-memory" : "TCP MeshRouters",
      r.askers === "one" ? "peer 1" : "every peer",
      s(r.meshS),
      r.firstRingS === null ? never : s(r.firstRingS),
      r.allRingS === null ? never : s(r.allRingS),
      r.firstAddress
        ? `${s(r.firstAddress.first)} / ${s(r.firstAddress.median)} / ${s(r.firstAddress.last)}`
        : never,
      r.ringsAgreeS === null ? "–" : s(r.ringsAgreeS),
      r.kibPerPeer.toFixed(1),
      r.cpuPerPeerS.toFixed(2),
      [
        r.distinct ? "addresses distinct" : "DUPLICATE ADDRESSES",
        r.firstAddress && r.allRingS !== null && r.ringsAgreeS === null ? "RINGS DIFFER" : "",
        r.errors ? `${r.errors} receive errors` : "",
      ].filter((x) => x).join(", "),
    ]),
  );
}

function rateTable(results: RateResult[]): string {
  return table(
    [
      "store",
      "calls in flight",
      "addresses",
      "seconds",
      "addresses/s",
      "addresses/s: first / last tenth",
      "latency p50 / p99 (ms)",
    ],
    results.map((r) => [
      r.store === "file" ? "FileStore (fsync)" : "in memory",
      String(r.inFlight),
      String(r.count),
      r.seconds.toFixed(2),
      r.perSecond.toFixed(0) + (r.distinct ? "" : " (DUPLICATES)"),
      `${r.firstTenthPerSecond.toFixed(0)} / ${r.lastTenthPerSecond.toFixed(0)}`,
      `${r.p50Ms.toFixed(2)} / ${r.p99Ms.toFixed(2)}`,
    ]),
  );
}

function machine(): string {
  const load = Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  return `machine: nproc ${navigator.hardwareConcurrency}, kernel ${Deno.osRelease()}, ` +
    `Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), load average at start ${load}\n`;
}

async function consensusRuns(o: IpamBenchOptions): Promise<ConsensusResult[]> {
  const runs: { n: number; mesh: IpamCluster["mesh"] }[] = [
    ...o.tcpSizes.map((n) => ({ n, mesh: "tcp" as const })),
    ...o.sizes.map((n) => ({ n, mesh: "memory" as const })),
  ];
  const results: ConsensusResult[] = [];
  for (const { n, mesh } of runs) {
    for (const askers of ["one", "all"] as Askers[]) {
      writeErr(`consensus: N=${n} ${mesh} mesh, ${askers} asking …\n`);
      const cluster = mesh === "tcp"
        ? await tcpCluster(n, o.timeoutS * 1000)
        : await memoryCluster(n);
      const t0 = performance.now();
      try {
        results.push(await measureConsensus(cluster, askers, o.timeoutS * 1000));
      } finally {
        await cluster.stop();
      }
      writeErr(`  took ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    }
  }
  return results;
}

async function rateRuns(o: IpamBenchOptions): Promise<RateResult[]> {
  const specs: RateSpec[] = [];
  for (const store of ["memory", "file"] as const) {
    const count = store === "memory" ? o.memoryCount : o.fileCount;
    for (const inFlight of [1, 64]) specs.push({ store, inFlight, count });
  }
  const results: RateResult[] = [];
  for (const spec of specs) {
    writeErr(`rate: ${spec.store} store, ${spec.inFlight} in flight, ${spec.count} addresses …\n`);
    results.push(await measureRate(spec));
  }
  return results;
}

async function main(): Promise<void> {
  const o = parseArgs(Deno.args);
  writeOut(`command: deno run -A bench/ipam.ts ${Deno.args.join(" ")}`.trimEnd() + "\n");
  writeOut(machine() + "\n");
  const consensus = await consensusRuns(o);
  writeOut(`### Consensus and first address (consensus=N, range 10.32.0.0/12)\n\n`);
  writeOut(consensusTable(consensus, o.timeoutS) + "\n");
  const rates = await rateRuns(o);
  writeOut(`### Allocation rate, one peer (range 10.32.0.0/12, consensus=1)\n\n`);
  writeOut(rateTable(rates));
}

if (import.meta.main) {
  await main();
  Deno.exit(0);
}
