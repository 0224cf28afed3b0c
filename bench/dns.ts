/**
 * weaveDNS benchmark: queries per second and latency for local names and
 * for forwarded names (with `dnsperf`), and the time a new name takes to
 * resolve on every host of an N-peer mesh. Prints the command, the machine
 * and markdown tables on stdout; progress goes to stderr.
 *
 *     deno run -A bench/dns.ts [--seconds 5] [--clients 4] [--outstanding 100] \
 *       [--light-qps 500] [--peers 25] [--trials 20]
 *
 * Load runs: a {@link Nameserver} in this process on 127.0.0.1 (a free port)
 * with 100 local names `host-<i>.weave.local`, its upstream the stand-in
 * server `_dns_upstream.ts` in a child process on 127.0.0.2; dnsperf asks
 * the 100 names round-robin. The baseline asks the stand-in directly.
 *
 * @module
 */
import { Nameserver } from "../dns/nameserver.ts";
import { discardLogger } from "../lib/log.ts";
import { readLines, writeErr, writeOut } from "./_host.ts";
import { type DnsperfResult, runDnsperf } from "./_dns_perf.ts";
import { measurePropagation, type PropagationResult } from "./_dns_propagation.ts";
import { splitHostPort } from "../dns/server.ts";

/** Command-line options. */
export interface DnsBenchOptions {
  seconds: number;
  clients: number;
  outstanding: number;
  peers: number;
  trials: number;
  /** The light offered load, queries/s. */
  lightQps: number;
}

/** Parses the command line. */
export function parseArgs(args: string[]): DnsBenchOptions {
  const o: DnsBenchOptions = {
    seconds: 5,
    clients: 4,
    outstanding: 100,
    peers: 25,
    trials: 20,
    lightQps: 500,
  };
  const flags: Record<string, keyof DnsBenchOptions> = {
    "--seconds": "seconds",
    "--clients": "clients",
    "--outstanding": "outstanding",
    "--peers": "peers",
    "--trials": "trials",
    "--light-qps": "lightQps",
  };
  for (let i = 0; i < args.length; i += 2) {
    const key = flags[args[i]];
    const value = Number(args[i + 1]);
    if (!key || !(value > 0)) {
      throw new SyntaxError(`Cannot parse arguments: "${args[i]} ${args[i + 1] ?? ""}"`);
    }
    o[key] = value;
  }
  return o;
}

const NAMES = 100;
const UPSTREAM_HOST = "127.0.0.2";

/** The stand-in upstream in a child process; it exits when its stdin closes. */
async function startUpstream(): Promise<{ port: number; stop: () => Promise<void> }> {
  const script = new URL("./_dns_upstream.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, "--host", UPSTREAM_HOST],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stop = async () => {
    await child.stdin.close().catch(() => {});
    await child.status;
  };
  const lines = readLines(child.stdout);
  const first = await lines.next();
  const m = /^listening (\d+)$/.exec(first.done ? "" : first.value);
  if (!m) {
    await stop();
    throw new Error(`Cannot start the stand-in upstream: it said "${first.value ?? ""}"`);
  }
  (async () => {
    for await (const _ of lines) { /* drain */ }
  })();
  return { port: Number(m[1]), stop };
}

interface LoadRow {
  what: string;
  target: string;
  clients: number;
  outstanding: number;
  maxQps?: number;
  result: DnsperfResult;
}

/** The three targets: our local names, our forwarding, and the stand-in itself. */
function targets(ours: string, upstreamPort: number) {
  const local = Array.from({ length: NAMES }, (_, i) => `host-${i + 1}.weave.local`);
  const remote = Array.from({ length: NAMES }, (_, i) => `name-${i + 1}.example.com`);
  const weave = splitHostPort(ours);
  return {
    local,
    runs: [
      { what: "local names (weave.local)", target: "weaveDNS", host: weave, names: local },
      { what: "forwarded names", target: "weaveDNS → stand-in", host: weave, names: remote },
      {
        what: "baseline: stand-in upstream",
        target: "stand-in directly",
        host: { host: UPSTREAM_HOST, port: upstreamPort },
        names: remote,
      },
    ],
  };
}

/**
 * Every target twice: as fast as it answers (`clients` sockets,
 * `outstanding` queries in flight) and at a light offered load of
 * `lightQps` queries/s (latency without queueing).
 */
async function loadRuns(o: DnsBenchOptions): Promise<LoadRow[]> {
  const upstream = await startUpstream();
  const ns = new Nameserver({
    ourName: 1n,
    listenAddress: "127.0.0.1:0",
    upstream: { servers: [UPSTREAM_HOST], port: upstream.port, timeoutMs: 2_000 },
    log: discardLogger,
  });
  try {
    await ns.start();
    const { local, runs } = targets(ns.dnsAddressPort(), upstream.port);
    local.forEach((name, i) => ns.addEntry(`container-${i + 1}`, 0x0a200000 + i + 1, name));
    const rows: LoadRow[] = [];
    const loads: { clients: number; outstanding: number; maxQps?: number }[] = [
      { clients: o.clients, outstanding: o.outstanding },
      { clients: 1, outstanding: o.outstanding, maxQps: o.lightQps },
    ];
    for (const load of loads) {
      for (const r of runs) {
        const limit = load.maxQps ? `at most ${load.maxQps}/s` : `${load.outstanding} in flight`;
        writeErr(`dnsperf: ${r.what}, ${limit}, ${o.seconds} s …\n`);
        const result = await runDnsperf({
          ...load,
          seconds: o.seconds,
          server: r.host.host,
          port: r.host.port,
          names: r.names,
        });
        rows.push({ what: r.what, target: r.target, ...load, result });
      }
    }
    return rows;
  } finally {
    await ns.stop();
    await upstream.stop();
  }
}

function row(cells: string[]): string {
  return `| ${cells.join(" | ")} |`;
}

function table(head: string[], rows: string[][]): string {
  return [row(head), row(head.map(() => "---")), ...rows.map(row)].join("\n") + "\n";
}

function loadTable(rows: LoadRow[]): string {
  return table(
    [
      "queries",
      "server",
      "offered load",
      "queries/s",
      "latency p50 / p99 / max (ms)",
      "sent / lost",
      "answers",
    ],
    rows.map(({ what, target, clients, outstanding, maxQps, result: r }) => [
      what,
      target,
      maxQps ? `${maxQps} q/s` : `max (${clients} sockets × ${outstanding} in flight)`,
      r.qps.toFixed(0),
      `${r.p50Ms.toFixed(2)} / ${r.p99Ms.toFixed(2)} / ${r.maxMs.toFixed(1)}`,
      `${r.sent} / ${r.lost}`,
      r.rcodes,
    ]),
  );
}

function quantile(values: number[], q: number): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
}

function propagationTable(p: PropagationResult): string {
  const ms = (v: number) => (Number.isNaN(v) ? "–" : v.toFixed(1));
  const pm = (vs: number[]) => `${ms(quantile(vs, 0.5))} / ${ms(quantile(vs, 1))}`;
  const missed = p.hostZoneMs.filter(Number.isNaN).length;
  return table(
    [
      "peers",
      "mesh formed (s)",
      "names",
      "one host's zone has it (ms), p50 / p99",
      "every zone has it (ms), p50 / max",
      "every DNS server answered (ms), p50 / max",
      "misses",
    ],
    [[
      String(p.n),
      p.meshS.toFixed(1),
      String(p.trials),
      `${ms(quantile(p.hostZoneMs, 0.5))} / ${ms(quantile(p.hostZoneMs, 0.99))}`,
      pm(p.lastZoneMs),
      pm(p.allResolvedMs),
      `${missed} not in zone, ${p.failures} DNS answers wrong or missing`,
    ]],
  );
}

function machine(): string {
  const load = Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  return `machine: nproc ${navigator.hardwareConcurrency}, kernel ${Deno.osRelease()}, ` +
    `Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), load average at start ${load}\n`;
}

async function dnsperfVersion(): Promise<string> {
  try {
    const cmd = new Deno.Command("dnsperf", { args: ["-h"], stdout: "piped", stderr: "piped" });
    const out = await cmd.output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return /Version (\S+)/.exec(text)?.[1] ?? "?";
  } catch {
    return "not installed";
  }
}

async function main(): Promise<void> {
  const o = parseArgs(Deno.args);
  writeOut(`command: deno run -A bench/dns.ts ${Deno.args.join(" ")}`.trimEnd() + "\n");
  writeOut(machine().trimEnd() + `, dnsperf ${await dnsperfVersion()}\n\n`);
  const load = await loadRuns(o);
  writeOut(`### Queries (dnsperf -l ${o.seconds} -c/-q as shown, ${NAMES} names round-robin)\n\n`);
  writeOut(loadTable(load) + "\n");
  writeErr(`propagation: ${o.peers} peers, ${o.trials} names …\n`);
  const p = await measurePropagation(o.peers, o.trials, 120_000);
  writeOut(`### A new name on every host (${o.peers} MeshRouters over TCP)\n\n`);
  writeOut(propagationTable(p));
}

if (import.meta.main) {
  await main();
  Deno.exit(0);
}
