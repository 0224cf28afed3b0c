/**
 * Fault campaign: what the routers keep when they are killed, partitioned and churned (hostile
 * bytes on every socket are `bench/faults_sockets.ts`). Three parts, each on a fresh network of
 * hosts in network namespaces (needs root):
 *
 * - `kill`: an allocation and DNS storm on 3 hosts while, at seeded random moments, one router
 *   is killed with SIGKILL and launched again (`tests/faults/kill_storm.ts`);
 * - `partition`: a 5-host mesh split and healed while containers come and go
 *   (`tests/faults/partitions.ts`);
 * - `soak`: churn on 3 hosts while one peer restarts every interval; RSS, open fds and control
 *   traffic of the others (`tests/faults/soak.ts`).
 *
 * Prints the command and a markdown table of what it tried and what held; progress on stderr.
 *
 *     deno run -A bench/faults.ts [--parts kill,partition,soak] [--seed 1] [--kills 20] \
 *       [--rounds 3] [--split-s 90] [--soak-min 30] [--restart-every-s 60]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { netnsSkipReason, TestNet } from "../tests/harness/netns.ts";
import { killStorm } from "../tests/faults/kill_storm.ts";
import { partitionStorm } from "../tests/faults/partitions.ts";
import { soak } from "../tests/faults/soak.ts";
import { writeErr, writeOut } from "./_host.ts";
import { formatRows, killRows, partitionRows, type Row, soakRows } from "./_faults_table.ts";

/** Command-line options. */
export interface FaultsOptions {
  parts: Set<string>;
  seed: number;
  kills: number;
  rounds: number;
  splitS: number;
  soakMin: number;
  restartEveryS: number;
}

const PARTS = ["kill", "partition", "soak"];

/** Parses the command line; throws on a bad flag or value. */
export function parseFaultsArgs(args: string[]): FaultsOptions {
  const { values } = parseArgs({
    args,
    options: {
      parts: { type: "string", default: PARTS.join(",") },
      seed: { type: "string", default: "1" },
      kills: { type: "string", default: "20" },
      rounds: { type: "string", default: "3" },
      "split-s": { type: "string", default: "90" },
      "soak-min": { type: "string", default: "30" },
      "restart-every-s": { type: "string", default: "60" },
    },
    strict: true,
  });
  const num = (flag: string, text: string) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) {
      throw new RangeError(`--${flag} wants a positive number, got "${text}"`);
    }
    return n;
  };
  const parts = new Set(values.parts.split(",").filter(Boolean));
  for (const p of parts) {
    if (!PARTS.includes(p)) {
      throw new RangeError(`--parts: unknown part "${p}" (want ${PARTS.join(", ")})`);
    }
  }
  return {
    parts,
    seed: num("seed", values.seed),
    kills: num("kills", values.kills),
    rounds: num("rounds", values.rounds),
    splitS: num("split-s", values["split-s"]),
    soakMin: num("soak-min", values["soak-min"]),
    restartEveryS: num("restart-every-s", values["restart-every-s"]),
  };
}

async function main(): Promise<void> {
  const skip = netnsSkipReason();
  if (skip) throw new Error(`Cannot run the fault campaign: ${skip}`);
  const o = parseFaultsArgs(Deno.args);
  writeOut(`command: deno run -A bench/faults.ts ${Deno.args.join(" ")}`.trimEnd() + "\n");
  writeOut(`seed ${o.seed}; ${navigator.hardwareConcurrency} CPUs; Deno ${Deno.version.deno}\n\n`);
  const rows: Row[] = [];
  if (o.parts.has("kill")) {
    writeErr(`kill: ${o.kills} kills on 3 hosts …\n`);
    await using net = await TestNet.create({ hosts: 3 });
    rows.push(...killRows(await killStorm(net, { kills: o.kills, seed: o.seed })));
  }
  if (o.parts.has("partition")) {
    writeErr(`partition: ${o.rounds} rounds of up to ${o.splitS} s on 5 hosts …\n`);
    await using net = await TestNet.create({ hosts: 5 });
    const r = await partitionStorm(net, {
      rounds: o.rounds,
      seed: o.seed,
      maxSplitMs: o.splitS * 1000,
      healTimeoutMs: 120_000,
    });
    rows.push(...partitionRows(r, 5));
  }
  if (o.parts.has("soak")) {
    writeErr(`soak: ${o.soakMin} min, a restart every ${o.restartEveryS} s …\n`);
    await using net = await TestNet.create({ hosts: 3 });
    const r = await soak(net, {
      durationMs: o.soakMin * 60_000,
      restartEveryMs: o.restartEveryS * 1000,
      seed: o.seed,
    });
    rows.push(...soakRows(r, o.restartEveryS));
  }
  writeOut(formatRows(rows));
}

if (import.meta.main) {
  await main();
  Deno.exit(0);
}
