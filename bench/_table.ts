/**
 * Renders convergence results as a markdown table plus notes on runs that
 * did not converge.
 *
 * @module
 */
import type { RunResult, Spread } from "./_measure.ts";

const KIB = 1024, MIB = 1024 * 1024;

function secs(s: number | null, timeoutS: number): string {
  return s === null ? `did not converge in ${timeoutS} s` : s.toFixed(1);
}

function kib(s: Spread, scale = 1): string {
  return `${(s.mean * scale / KIB).toFixed(1)} / ${(s.max * scale / KIB).toFixed(1)}`;
}

function memory(r: RunResult): [string, string] {
  const m = r.memory;
  const total = (m.totalBytes / MIB).toFixed(0);
  if (r.mode === "processes") {
    return [
      total,
      `${(m.perRouterBytes / MIB).toFixed(1)} (max ${((m.maxRouterBytes ?? 0) / MIB).toFixed(1)})`,
    ];
  }
  const marginal = (m.totalBytes - (m.baselineBytes ?? 0)) / r.n / MIB;
  return [total, `${(m.perRouterBytes / MIB).toFixed(2)} (Δ ${marginal.toFixed(2)})`];
}

/** The markdown table, one row per result. */
export function formatTable(results: RunResult[]): string {
  const head = [
    "N",
    "mode",
    "peers known (s)",
    "full mesh (s)",
    "topology consistent (s)",
    "gossip KiB/router to convergence (mean / max)",
    "idle gossip KiB/router/10s (mean / max)",
    "RSS MiB total",
    "RSS MiB/router",
    "connections/router (min / mean / max)",
  ];
  const rows = results.map((r) => {
    const [total, per] = memory(r);
    const c = r.connections;
    return [
      String(r.n),
      r.mode,
      secs(r.peersKnownS, r.timeoutS),
      secs(r.fullMeshS, r.timeoutS),
      secs(r.convergedS, r.timeoutS),
      kib(r.sentToConvergence),
      r.sentIdle ? kib(r.sentIdle, 10 / r.idleS) : "–",
      total,
      per,
      `${c.min} / ${c.mean.toFixed(1)} / ${c.max}`,
    ];
  });
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n") + "\n";
}

/** Notes: partial state of runs that did not converge, and each run's own notes. */
export function formatNotes(results: RunResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    out.push(...r.notes);
    const a = r.last;
    if (r.convergedS === null) {
      out.push(
        `N=${r.n} ${r.mode}: did not converge in ${r.timeoutS} s — ${a.routersKnowingAll}/${r.n} ` +
          `routers knew all peers (fewest known: ${a.minPeersKnown}), ${a.routersFull}/${r.n} ` +
          `had ${Math.min(r.n - 1, r.connLimit || Infinity)} established connections, ` +
          `${a.staleViews} of ${r.n * r.n} (router, peer) views stale, ` +
          `${a.routersAtLimit} routers at the connection limit (${r.connLimit}).`,
      );
    } else if (r.consistentAfterIdle === false) {
      out.push(`N=${r.n} ${r.mode}: views were no longer consistent after the idle window.`);
    }
    if (a.routersAtLimit > 0) {
      out.push(`N=${r.n} ${r.mode}: ${a.routersAtLimit} routers hit the connection limit.`);
    }
    const m = r.memory;
    if (m.baselineBytes !== undefined) {
      const what = r.mode === "inprocess"
        ? "process RSS before the routers were built"
        : "sum of child RSS once listening, before connecting";
      const peak = m.peakBytes ? `; peak RSS ${(m.peakBytes / MIB).toFixed(0)} MiB` : "";
      out.push(
        `N=${r.n} ${r.mode}: baseline ${(m.baselineBytes / MIB).toFixed(0)} MiB (${what})${peak}.`,
      );
    }
  }
  return out.map((l) => `- ${l}`).join("\n") + (out.length ? "\n" : "");
}
