/**
 * The fault campaign's results as markdown rows (pure): one row per check, with what was tried,
 * what was seen and whether it held.
 *
 * @module
 */
import type { KillStormResult } from "../tests/faults/kill_storm.ts";
import type { PartitionResult } from "../tests/faults/partitions.ts";
import type { SoakResult } from "../tests/faults/soak.ts";

/** One row: part, what was tried, the check, what was seen, whether it held. */
export type Row = [string, string, string, string, string];

const MIB = 1024 * 1024;
const ok = (held: boolean) => held ? "yes" : "**NO**";
const names = (ms: number | null) =>
  ms === null
    ? "not all within the wait"
    : `all within ${(ms / 1000).toFixed(1)} s of the storm's end`;
const first = (xs: readonly string[]) => xs.length ? ` (${xs.slice(0, 3).join("; ")})` : "";

/** Rows of the kill -9 part. */
export function killRows(r: KillStormResult): Row[] {
  const c = r.counts;
  const tried =
    `${r.kills} × kill -9 in ${r.seconds.toFixed(0)} s; ${c.allocations} allocations, ` +
    `${c.releases} releases, ${c.names} names answered, ${c.unanswered} cut by a kill`;
  return [
    [
      "kill -9",
      tried,
      "restarts survived",
      `${r.restarts} of ${r.kills}${first(r.failedRestarts)}`,
      ok(r.restarts === r.kills),
    ],
    [
      "",
      "",
      "answered addresses lost",
      `${r.lostAfterRestart.length + r.final.lost.length}${
        first([...r.lostAfterRestart, ...r.final.lost])
      }`,
      ok(r.lostAfterRestart.length + r.final.lost.length === 0),
    ],
    [
      "",
      "",
      "addresses owned twice",
      `${r.final.doubles.length}${first(r.final.doubles)}`,
      ok(r.final.doubles.length === 0),
    ],
    [
      "",
      "",
      "answered names not resolving",
      `${r.final.unresolved.length} of ${r.final.lookups} lookups; ${names(r.namesMs)}${
        first(r.final.unresolved)
      }`,
      ok(r.final.unresolved.length === 0),
    ],
    [
      "",
      "",
      "damaged files reported",
      `${r.damaged.length}${first(r.damaged)}`,
      ok(r.damaged.length === 0),
    ],
    ["", "", "kill to API answering again", `max ${(r.maxRestartMs / 1000).toFixed(1)} s`, "–"],
  ];
}

/** Rows of the partition part. */
export function partitionRows(r: PartitionResult, hosts: number): Row[] {
  const c = r.counts;
  const healed = r.healMs.filter((m): m is number => m !== null);
  const tried = `${hosts} hosts, ${r.rounds} splits (${r.splits.join("; ")}), ` +
    `connections down at heal: ${r.downAtHeal.join(", ")}; ${c.allocations} allocations, ` +
    `${c.releases} releases, ${c.names} names`;
  const heal = healed.length ? `${healed.map((m) => (m / 1000).toFixed(1)).join(", ")} s` : "none";
  return [
    [
      "partitions",
      tried,
      "healed (connections and one ring)",
      `${healed.length} of ${r.rounds}: ${heal}${first(r.notes)}`,
      ok(healed.length === r.rounds),
    ],
    ["", "", "rings at the end", String(r.rings), ok(r.rings === 1)],
    [
      "",
      "",
      "addresses owned twice",
      `${r.final.doubles.length}${first(r.final.doubles)}`,
      ok(r.final.doubles.length === 0),
    ],
    [
      "",
      "",
      "answered addresses lost",
      `${r.final.lost.length}${first(r.final.lost)}`,
      ok(r.final.lost.length === 0),
    ],
    [
      "",
      "",
      "names not resolving everywhere",
      `${r.final.unresolved.length} of ${r.final.lookups} lookups; ${names(r.namesMs)}${
        first(r.final.unresolved)
      }`,
      ok(r.final.unresolved.length === 0),
    ],
  ];
}

/** Rows of the soak part. */
export function soakRows(r: SoakResult, restartEveryS: number): Row[] {
  const c = r.counts;
  const tried = `${(r.seconds / 60).toFixed(1)} min, a peer killed and relaunched every ` +
    `${restartEveryS} s (${r.restarts} times); ${c.allocations} allocations, ${c.releases} releases`;
  const use = (u: { host: number; rss: number; fds: number }[]) =>
    u.map((x) => `h${x.host} ${(x.rss / MIB).toFixed(0)} MiB/${x.fds} fds`).join(", ");
  const gossip = r.gossipBytesPerS.map((g) => `h${g.host} ${(g.rate / 1024).toFixed(1)} KiB/s`);
  return [
    [
      "soak",
      tried,
      "restarts survived",
      `${r.restarts}${first(r.failedRestarts)}`,
      ok(r.failedRestarts.length === 0),
    ],
    ["", "", "RSS / open fds, start → end", `${use(r.start)} → ${use(r.end)}`, "–"],
    ["", "", "control traffic sent (TCP 6783)", gossip.join(", "), "–"],
    [
      "",
      "",
      "lost / owned twice / not resolving",
      `${r.final.lost.length} / ${r.final.doubles.length} / ${r.final.unresolved.length}`,
      ok(r.final.lost.length + r.final.doubles.length + r.final.unresolved.length === 0),
    ],
  ];
}

/** The markdown table of `rows`. */
export function formatRows(rows: readonly Row[]): string {
  const head = "| part | tried | check | seen | held |\n| --- | --- | --- | --- | --- |\n";
  return head +
    rows.map((r) => `| ${r.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |\n`).join("");
}
