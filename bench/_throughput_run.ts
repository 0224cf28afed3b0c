/**
 * Measures one datapath set up by `_throughput_env.ts`: an iperf3 server in the server
 * namespace, then per run a ping (20 × 50 ms) and three iperf3 client tests — TCP 1 stream,
 * TCP 4 streams, UDP at full rate — while the weave routers' CPU ticks and RSS are read from
 * `/proc`.
 *
 * @module
 */
import type { TestNet } from "../tests/harness/netns.ts";
import { type BenchEnv, type Datapath, pathMtu } from "./_throughput_env.ts";
import {
  parseIperfTcp,
  parseIperfUdp,
  parsePingAvg,
  parseRssBytes,
  parseStatTicks,
  type TcpResult,
  type UdpResult,
} from "./_throughput_parse.ts";

/** The iperf3 server port (fixed; every namespace is fresh). */
const IPERF_PORT = 5201;
/** Pause between two tests, so queues drained by one do not weigh on the next. */
const PAUSE_MS = 500;
/** A failed iperf3 test (say "control socket has closed unexpectedly") is tried again once. */
const MAX_RETRIES = 1;

/** One run of the three tests plus ping. */
export interface RunSample {
  tcp1: TcpResult;
  tcp4: TcpResult;
  udp: UdpResult;
  pingMs: number;
  /** CPU % of each router (h1, h2) during the TCP 1-stream test; empty without weave. */
  cpuPercent: number[];
  /** Highest VmRSS of each router (h1, h2) seen after any test of the run. */
  rssBytes: number[];
}

/** Everything measured for one datapath, or why it failed. */
export interface DatapathResult {
  datapath: Datapath;
  runs: RunSample[];
  /** MTU of the client's interface towards the server. */
  mtu?: number;
  /** VmRSS of each router (h1, h2) once the datapath is up, before any test. */
  idleRssBytes?: number[];
  /** UDP payload size used (MTU − 28, at most 1400). */
  udpLength?: number;
  /** iperf3 tests that failed and were repeated, with why. */
  retries: string[];
  error?: string;
}

/** Options of {@link measure}. */
export interface MeasureOptions {
  seconds: number;
  runs: number;
  /** Progress lines (to stderr). */
  log: (line: string) => void;
}

const clockTicks = await (async () => {
  const out = await new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped" }).output()
    .catch(() => undefined);
  const n = Number(new TextDecoder().decode(out?.stdout ?? new Uint8Array()).trim());
  return n > 0 ? n : 100;
})();

/** Runs `opts.runs` rounds of ping + TCP×1 + TCP×4 + UDP over `env`; fills `result.runs`. */
export async function measure(
  net: TestNet,
  env: BenchEnv,
  result: DatapathResult,
  opts: MeasureOptions,
): Promise<void> {
  result.idleRssBytes = env.routerPids.map(readRss);
  result.mtu = await pathMtu(net, env.clientNs, env.target);
  const udpLength = result.udpLength = Math.min(1400, result.mtu - 28);
  const server = new Deno.Command("ip", {
    args: ["netns", "exec", env.serverNs, "iperf3", "-s", "-p", String(IPERF_PORT)],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitListening(net, env.serverNs);
    for (let run = 1; run <= opts.runs; run++) {
      const pingMs = parsePingAvg(
        await inNs(net, env.clientNs, [
          ...["ping", "-q", "-c", "20", "-i", "0.05", env.target],
        ], 20_000),
      );
      const rss = env.routerPids.map(() => 0);
      const iperf = async <T>(extra: string[], parse: (text: string) => T) => {
        for (let attempt = 1;; attempt++) {
          await new Promise((r) => setTimeout(r, PAUSE_MS));
          const before = cpuSnapshot(env.routerPids);
          try {
            const value = parse(
              await inNs(net, env.clientNs, [
                ...["iperf3", "-c", env.target, "-p", String(IPERF_PORT)],
                ...["-t", String(opts.seconds), "--connect-timeout", "5000", "--json", ...extra],
              ], (opts.seconds + 30) * 1000),
            );
            const cpu = cpuSince(env.routerPids, before);
            env.routerPids.forEach((pid, i) => rss[i] = Math.max(rss[i], readRss(pid)));
            return { value, cpu };
          } catch (e) {
            if (attempt > MAX_RETRIES) throw e;
            result.retries.push(`run ${run} iperf3 ${extra.join(" ")}: ${firstLine(e)}`);
            opts.log(`  run ${run}: iperf3 ${extra.join(" ")} failed, retrying: ${firstLine(e)}`);
          }
        }
      };
      const first = await iperf([], parseIperfTcp);
      const tcp1 = first.value;
      const cpuPercent = first.cpu;
      const tcp4 = (await iperf(["-P", "4"], parseIperfTcp)).value;
      const udp = (await iperf(["-u", "-b", "0", "-l", String(udpLength)], parseIperfUdp)).value;
      result.runs.push({ tcp1, tcp4, udp, pingMs, cpuPercent, rssBytes: rss });
      opts.log(
        `  run ${run}: TCP×1 ${gbit(tcp1.bitsPerSecond)} (${tcp1.retransmits} retr), ` +
          `TCP×4 ${gbit(tcp4.bitsPerSecond)}, UDP ${gbit(udp.bitsPerSecond)} ` +
          `(${udp.lostPercent.toFixed(1)}% lost), ping ${pingMs.toFixed(3)} ms` +
          (cpuPercent.length
            ? `, router CPU ${cpuPercent.map((c) => c.toFixed(0)).join("/")}%`
            : ""),
      );
    }
  } finally {
    try {
      server.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await server.status;
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}

function gbit(bps: number): string {
  return `${(bps / 1e9).toFixed(3)} Gbit/s`;
}

async function inNs(net: TestNet, ns: string, cmd: string[], timeoutMs: number): Promise<string> {
  const r = await net.inContainer(ns, cmd, { timeoutMs });
  if (r.code !== 0) {
    throw new Error(
      `Cannot run "${cmd.join(" ")}" in ${ns}: exit ${r.code}: ${(r.stderr || r.stdout).trim()}`,
    );
  }
  return r.stdout;
}

async function waitListening(net: TestNet, ns: string): Promise<void> {
  for (const deadline = Date.now() + 5_000; Date.now() < deadline;) {
    const ss = await net.inContainer(ns, ["ss", "-H", "-ltn", `sport = :${IPERF_PORT}`]);
    if (ss.stdout.trim() !== "") return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Cannot start iperf3 in ${ns}: nothing listens on TCP ${IPERF_PORT} after 5 s`);
}

function readRss(pid: number): number {
  return parseRssBytes(Deno.readTextFileSync(`/proc/${pid}/status`));
}

interface CpuSnapshot {
  at: number;
  ticks: number[];
}

function cpuSnapshot(pids: number[]): CpuSnapshot {
  const ticks = pids.map((pid) => parseStatTicks(Deno.readTextFileSync(`/proc/${pid}/stat`)));
  return { at: performance.now(), ticks };
}

/** CPU % (100 = one core) of each process since `before`. */
function cpuSince(pids: number[], before: CpuSnapshot): number[] {
  const now = cpuSnapshot(pids);
  const seconds = (now.at - before.at) / 1000;
  return now.ticks.map((t, i) => (t - before.ticks[i]) / clockTicks / seconds * 100);
}
