/**
 * The fault campaign, part 1: hostile bytes on every socket of a router, with figures (kill -9,
 * partitions and the soak are `bench/faults.ts`).
 *
 *     deno run -A bench/faults_sockets.ts [--seed N] [--scale 1] [--settle-ms 70000] [--trim-ms 60000]
 *       [--only tcp-pre,tcp-post,sleeve,http] [--repeat 1]
 *
 * A victim router runs in its own process (`_faults_child.ts`: mesh, sleeve, network router,
 * control API on 127.0.0.1) and an honest peer in this one (127.0.0.2), connected to it. Each
 * part floods one socket (`_faults_attack.ts`, inputs from `_faults_inputs.ts`), while the
 * honest peer's connection and `GET /status` are watched; then the victim gets `--settle-ms`
 * (longer than its memory-trim interval) before its RSS is read again. Prints a markdown
 * table: inputs, crashes (the victim process exited), hangs, server errors, RSS before, at the
 * end of the flood and after settling, and how the honest peer fared. Not a test.
 *
 * @module
 */
import { discardLogger } from "../lib/log.ts";
import { prng } from "../tests/harness/prng.ts";
import { freePortOnAll, procMemory, readLines, writeErr, writeOut } from "./_host.ts";
import { startFaultNode } from "./_faults_node.ts";
import {
  attackHttp,
  type AttackResult,
  attackSleeve,
  attackTcpAfterHandshake,
  attackTcpBeforeHandshake,
  type VictimAddress,
  watchHonest,
} from "./_faults_attack.ts";

const VICTIM = 0x02000000f001n;
const HONEST = 0x02000000f002n;

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const seed = flag("seed", Date.now() % 1e9);
const scale = flag("scale", 1);
const settleMs = flag("settle-ms", 70_000);
const trimMs = flag("trim-ms", 60_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number | undefined) => bytes === undefined ? "–" : (bytes / 2 ** 20).toFixed(1);

const port = freePortOnAll(["127.0.0.1", "127.0.0.2"]);
const child = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    // The router's flags (router_v8_flags in ./weave).
    "--v8-flags=--max-semi-space-size=1,--single-threaded,--max-opt=2,--expose-gc",
    new URL("./_faults_child.ts", import.meta.url).pathname,
    "--name",
    VICTIM.toString(16).padStart(12, "0"),
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--trim-ms",
    String(trimMs),
  ],
  stdin: "piped",
  stdout: "piped",
  stderr: "inherit",
}).spawn();
let exited = false;
child.status.then(() => exited = true);
const childLines = readLines(child.stdout);
const ready = JSON.parse((await childLines.next()).value) as { api: string };
const childWriter = child.stdin.getWriter();
/** The victim's V8 heap and external memory (MiB), as `heap/external`. */
async function victimHeap(): Promise<string> {
  await childWriter.write(new TextEncoder().encode("mem\n"));
  const m = JSON.parse((await childLines.next()).value) as Deno.MemoryUsage;
  return `${mib(m.heapTotal)}/${mib(m.external)}`;
}
const victim: VictimAddress = { host: "127.0.0.1", port, name: VICTIM, api: ready.api };
const honest = await startFaultNode({
  name: HONEST,
  nickName: "honest",
  host: "127.0.0.2",
  port,
  log: discardLogger,
});
honest.mesh.connectionMaker.initiateConnections([`127.0.0.1:${port}`], false);
const established = () =>
  honest.mesh.connections().some((c) => c.remoteName === VICTIM && c.established);
while (!established()) await sleep(50);
await sleep(1_000);

const parts: [string, () => Promise<AttackResult>][] = [
  ["tcp-pre", () => attackTcpBeforeHandshake(victim, prng(seed), 2_000 * scale, 15_000)],
  ["tcp-post", () => attackTcpAfterHandshake(victim, prng(seed + 1), 400 * scale, 20)],
  ["sleeve", () => attackSleeve(victim, prng(seed + 2), 100_000 * scale, HONEST)],
  ["http", () => attackHttp(victim, prng(seed + 3), 2_000 * scale, 50)],
];
const only = Deno.args.includes("--only") ? Deno.args[Deno.args.indexOf("--only") + 1] : "";
const repeat = flag("repeat", 1);
const rows: string[] = [];
for (const [key, attack] of parts.flatMap((p) => Array(repeat).fill(p) as typeof parts)) {
  if (only && !only.split(",").includes(key)) continue;
  const before = procMemory(child.pid)?.rss;
  const started = performance.now();
  writeErr(`${key}: flooding\n`);
  const watch = watchHonest(established, victim.api);
  const result = await attack();
  const fared = await watch.stop();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const atEnd = procMemory(child.pid)?.rss;
  writeErr(`${key}: ${seconds} s; settling ${settleMs / 1000} s\n`);
  await sleep(settleMs);
  const after = procMemory(child.pid)?.rss;
  const heap = await victimHeap();
  rows.push(
    `| ${result.part} | ${result.inputs} (${seconds} s) | ${exited ? 1 : 0} | ${result.hangs} | ` +
      `${result.serverErrors} | ${mib(before)} / ${mib(atEnd)} / ${mib(after)} (${heap}) | ` +
      `${established() ? "yes" : "NO"}, longest outage ${fared.maxOutageMs.toFixed(0)} ms | ` +
      `${fared.maxStatusMs.toFixed(0)} ms |`,
  );
  if (exited) break;
}
await honest.stop();
await childWriter.close();
await child.status;

writeOut(
  [
    `\`deno run -A bench/faults_sockets.ts --seed ${seed} --scale ${scale} --settle-ms ${settleMs} ` +
    `--trim-ms ${trimMs}${repeat > 1 ? ` --repeat ${repeat}` : ""}${
      only ? ` --only ${only}` : ""
    }\` (nproc ${navigator.hardwareConcurrency}, Deno ${Deno.version.deno})`,
    "",
    "| socket | inputs (flood time) | crashes | hangs | 5xx | victim RSS MiB before / end of flood / settled (V8 heap/external) | honest peer connected | slowest GET /status |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n"),
);
