/**
 * Data-plane throughput benchmark: iperf3 between two hosts' namespaces (underlay), over a plain
 * kernel VXLAN made with `ip` (no weave), and container to container over weave's fast datapath,
 * sleeve and encrypted sleeve — TCP 1 and 4 streams and UDP, `--runs` times each, medians and
 * ratio to the underlay measured in the same run; plus ping RTT and the routers' CPU and RSS.
 * Every datapath gets a fresh two-host TestNet, disposed afterwards. See bench/README.md.
 *
 *     deno run -A bench/throughput.ts [--seconds 5] [--runs 3]
 *       [--only underlay,vxlan,fastdp,sleeve,sleeve-enc]
 *
 * Needs root, iproute2, iperf3 and ping. The table goes to stdout, progress to stderr.
 *
 * @module
 */
import { netnsSkipReason, TestNet } from "../tests/harness/netns.ts";
import { type Datapath, DATAPATHS, setUp } from "./_throughput_env.ts";
import { type DatapathResult, measure } from "./_throughput_run.ts";
import { formatComparison, formatMain, formatNotes } from "./_throughput_table.ts";
import { writeErr, writeOut } from "./_host.ts";

/** Parsed command line. */
export interface ThroughputOptions {
  seconds: number;
  runs: number;
  only: Datapath[];
}

/** Parses the command line into {@link ThroughputOptions}. */
export function parseArgs(args: string[]): ThroughputOptions {
  const opts: ThroughputOptions = { seconds: 5, runs: 3, only: [...DATAPATHS] };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (value === undefined) throw new TypeError(`Cannot parse "${flag}": missing value`);
    if (flag === "--seconds") opts.seconds = Number(value);
    else if (flag === "--runs") opts.runs = Number(value);
    else if (flag === "--only") {
      const names = value.split(",");
      const bad = names.find((n) => !(DATAPATHS as readonly string[]).includes(n));
      if (bad !== undefined) {
        throw new RangeError(
          `Cannot run datapath "${bad}": expected one of ${DATAPATHS.join(",")}`,
        );
      }
      opts.only = DATAPATHS.filter((d) => names.includes(d));
    } else throw new TypeError(`Cannot parse "${flag} ${value}": unknown flag`);
  }
  for (const [name, v] of [["--seconds", opts.seconds], ["--runs", opts.runs]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 600) {
      throw new RangeError(`Cannot use ${name} ${v}: expected an integer in 1..600`);
    }
  }
  return opts;
}

/** The network being measured, so that Ctrl-C can still remove it. */
let current: TestNet | undefined;

async function runDatapath(d: Datapath, o: ThroughputOptions): Promise<DatapathResult> {
  const result: DatapathResult = { datapath: d, runs: [], retries: [] };
  const started = performance.now();
  writeErr(`${d}: setting up\n`);
  try {
    await using net = await TestNet.create({ hosts: 2 });
    current = net;
    const env = await setUp(net, d);
    writeErr(`${d}: ready after ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    await measure(net, env, result, {
      seconds: o.seconds,
      runs: o.runs,
      log: (l) => writeErr(`${l}\n`),
    });
  } catch (e) {
    result.error = (e instanceof Error ? e.message : String(e)).split("\n")[0].replace(
      /[:;]\s*$/,
      "",
    );
    writeErr(`${d}: failed: ${e instanceof Error ? e.stack : e}\n`);
  } finally {
    current = undefined;
  }
  writeErr(`${d}: done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  return result;
}

async function iperfVersion(): Promise<string> {
  const out = await new Deno.Command("iperf3", { args: ["--version"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n")[0].split(" (")[0].trim();
}

/** The 1-minute load average: other work on this machine skews every number. */
function loadAverage(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ")[0];
}

async function main(): Promise<void> {
  const o = parseArgs(Deno.args);
  const skip = netnsSkipReason();
  if (skip) throw new Error(`Cannot run the throughput benchmark: ${skip}`);
  Deno.addSignalListener("SIGINT", async () => {
    writeErr("interrupted: removing the test network\n");
    await current?.[Symbol.asyncDispose]().catch(() => {});
    Deno.exit(130);
  });
  const started = performance.now();
  const loadBefore = loadAverage();
  const results: DatapathResult[] = [];
  for (const d of o.only) results.push(await runDatapath(d, o));
  const minutes = (performance.now() - started) / 60_000;
  const command = ["deno", "run", "-A", "bench/throughput.ts", ...Deno.args].join(" ");
  writeOut(
    `Command: \`${command}\`\n\n` +
      `Machine: ${navigator.hardwareConcurrency} CPUs (nproc), Linux ${Deno.osRelease()}, ` +
      `Deno ${Deno.version.deno}, ${await iperfVersion()}; ${o.runs} runs × ${o.seconds} s ` +
      `per test, medians; total ${minutes.toFixed(1)} min; load average (1 min) ` +
      `${loadBefore} before, ${loadAverage()} after\n\n` +
      formatMain(results) + "\n" + formatComparison(results) + "\n" + formatNotes(results),
  );
  if (results.some((r) => r.error)) Deno.exitCode = 1;
}

if (import.meta.main) await main();
