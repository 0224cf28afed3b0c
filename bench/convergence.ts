/**
 * Mesh convergence benchmark: for each N, start N routers on 127.0.0.1…N
 * (one shared port, NullOverlay, discovery on, connection limit 200 as
 * Weave), give each ONE peer to start from (chain: router i−1; star: router
 * 1), and measure how long until every router knows all N peers, holds a
 * full mesh, and sees every peer's connection list as that peer lists it;
 * the mesh bytes each router sent until then and in a following idle
 * window; and memory. See bench/README.md.
 *
 *     deno run -A bench/convergence.ts [--sizes 25,50,100,200]
 *       [--mode inprocess|processes] [--topology chain|star]
 *       [--timeout 180] [--idle 10] [--conn-limit 200] [--max-old-space-mb M]
 *
 * In-process mode runs every size in a fresh `deno run bench/_inprocess.ts`
 * process so that RSS and leftovers of one size do not leak into the next.
 *
 * @module
 */
import { formatNotes, formatTable } from "./_table.ts";
import { measure, type RunResult } from "./_measure.ts";
import { ProcessFleet } from "./_processes.ts";
import { openFileLimit, readLines, writeErr, writeOut } from "./_host.ts";

/** Parsed command line. */
export interface BenchOptions {
  sizes: number[];
  mode: "inprocess" | "processes";
  topology: "chain" | "star";
  timeoutS: number;
  idleS: number;
  connLimit: number;
  maxOldSpaceMb?: number;
}

/** Parses the command line into {@link BenchOptions}. */
export function parseArgs(args: string[]): BenchOptions {
  const opts: BenchOptions = {
    sizes: [25, 50, 100, 200],
    mode: "inprocess",
    topology: "chain",
    timeoutS: 180,
    idleS: 10,
    connLimit: 200,
  };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (value === undefined) throw new TypeError(`Cannot parse "${flag}": missing value`);
    if (flag === "--sizes") opts.sizes = value.split(",").map(Number);
    else if (flag === "--mode" && (value === "inprocess" || value === "processes")) {
      opts.mode = value;
    } else if (flag === "--topology" && (value === "chain" || value === "star")) {
      opts.topology = value;
    } else if (flag === "--timeout") opts.timeoutS = Number(value);
    else if (flag === "--idle") opts.idleS = Number(value);
    else if (flag === "--conn-limit") opts.connLimit = Number(value);
    else if (flag === "--max-old-space-mb") opts.maxOldSpaceMb = Number(value);
    else throw new TypeError(`Cannot parse "${flag} ${value}": unknown flag or value`);
  }
  for (const n of opts.sizes) {
    if (!Number.isInteger(n) || n < 2 || n > 254) {
      throw new RangeError(`Cannot run size ${n}: expected an integer in 2..254`);
    }
  }
  return opts;
}

let current: { kill(): void } | undefined;

async function runInProcess(n: number, o: BenchOptions): Promise<RunResult> {
  const script = new URL("./_inprocess.ts", import.meta.url).pathname;
  const v8 = o.maxOldSpaceMb ? [`--v8-flags=--max-old-space-size=${o.maxOldSpaceMb}`] : [];
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...v8,
      script,
      "--n",
      String(n),
      "--topology",
      o.topology,
      "--conn-limit",
      String(o.connLimit),
      "--timeout",
      String(o.timeoutS),
      "--idle",
      String(o.idleS),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  current = { kill: () => child.kill("SIGKILL") };
  const hardLimit = setTimeout(() => child.kill("SIGKILL"), (o.timeoutS + o.idleS + 120) * 1000);
  try {
    let json = "";
    for await (const line of readLines(child.stdout)) json += line;
    const status = await child.status;
    if (!status.success || json === "") {
      throw new Error(`Cannot run N=${n} in-process: runner exited with code ${status.code}`);
    }
    return JSON.parse(json) as RunResult;
  } finally {
    clearTimeout(hardLimit);
    current = undefined;
  }
}

async function runProcesses(n: number, o: BenchOptions): Promise<RunResult> {
  const fleet = await ProcessFleet.start({ n, topology: o.topology, connLimit: o.connLimit });
  current = { kill: () => fleet.pids().forEach((pid) => Deno.kill(pid, "SIGKILL")) };
  try {
    return await measure(fleet, {
      mode: "processes",
      topology: o.topology,
      connLimit: o.connLimit,
      timeoutMs: o.timeoutS * 1000,
      idleMs: o.idleS * 1000,
      pollMs: 500,
    });
  } finally {
    await fleet.stop();
    current = undefined;
  }
}

function machine(): string {
  const mem = Deno.systemMemoryInfo();
  return `machine: nproc ${navigator.hardwareConcurrency}, ` +
    `${(mem.total / 1024 ** 3).toFixed(1)} GiB RAM, Linux ${Deno.osRelease()}, ` +
    `Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), open-file limit ${openFileLimit()}\n`;
}

async function main(): Promise<void> {
  const o = parseArgs(Deno.args);
  const onSignal = () => {
    try {
      current?.kill();
    } catch { /* gone */ }
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  writeOut(`command: deno run -A bench/convergence.ts ${Deno.args.join(" ")}\n`);
  writeOut(machine());
  writeOut(
    `topology ${o.topology}, conn limit ${o.connLimit}, timeout ${o.timeoutS} s, ` +
      `idle window ${o.idleS} s, discovery on, NullOverlay\n\n`,
  );
  const results: RunResult[] = [];
  for (const n of o.sizes) {
    writeErr(`running N=${n} (${o.mode})…\n`);
    try {
      results.push(o.mode === "inprocess" ? await runInProcess(n, o) : await runProcesses(n, o));
    } catch (e) {
      writeErr(`N=${n}: ${(e as Error).message}\n`);
    }
  }
  writeOut(formatTable(results) + "\n" + formatNotes(results));
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
}

if (import.meta.main) await main();
