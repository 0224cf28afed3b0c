/**
 * Renders throughput results: the main markdown table (medians, ratio to the underlay measured
 * in the same run), the comparison with Weave Net 2.8.1's reference numbers, and notes.
 *
 * @module
 */
import type { Datapath } from "./_throughput_env.ts";
import type { DatapathResult, RunSample } from "./_throughput_run.ts";
import { median } from "./_throughput_parse.ts";

const MIB = 1024 * 1024;

/** Weave Net 2.8.1's own router on the same kind of machine (sleeve: no openvswitch module). */
export const WEAVE_281 = {
  underlayGbit: 12.5,
  vxlanGbit: 9.4,
  sleeveGbit: 0.18,
  sleeveEncGbit: 0.15,
  /** Fewest TCP retransmits per 10 s it showed (range 18k–44k). */
  retransmitsPer10s: 18_000,
  rssMib: { min: 61, max: 67 },
};

/** Targets of the issue. */
export const TARGETS = { fastdpVsVxlan: 0.9, sleeveShare: 0.03, rssMib: 66 };

/** Medians over the runs of one datapath. */
export interface Summary {
  tcp1: number;
  tcp4: number;
  udp: number;
  udpLoss: number;
  retr1: number;
  retr4: number;
  pingMs: number;
  cpu: number[];
  rssMib: number[];
}

/** Medians of `runs` (retransmits scaled to 10 s; RSS is the highest seen). */
export function summarise(runs: RunSample[]): Summary {
  const m = (f: (r: RunSample) => number) => median(runs.map(f));
  const routers = runs[0]?.cpuPercent.length ?? 0;
  return {
    tcp1: m((r) => r.tcp1.bitsPerSecond / 1e9),
    tcp4: m((r) => r.tcp4.bitsPerSecond / 1e9),
    udp: m((r) => r.udp.bitsPerSecond / 1e9),
    udpLoss: m((r) => r.udp.lostPercent),
    retr1: m((r) => r.tcp1.retransmits * 10 / r.tcp1.seconds),
    retr4: m((r) => r.tcp4.retransmits * 10 / r.tcp4.seconds),
    pingMs: m((r) => r.pingMs),
    cpu: Array.from({ length: routers }, (_, i) => m((r) => r.cpuPercent[i])),
    rssMib: Array.from(
      { length: routers },
      (_, i) => Math.max(...runs.map((r) => r.rssBytes[i])) / MIB,
    ),
  };
}

function summaries(results: DatapathResult[]): Map<Datapath, Summary> {
  const out = new Map<Datapath, Summary>();
  for (const r of results) if (r.runs.length > 0) out.set(r.datapath, summarise(r.runs));
  return out;
}

const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
const table = (head: string[], rows: string[][]) =>
  [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n") + "\n";

function gbit(v: number, base: number | undefined): string {
  const digits = v < 1 ? 3 : 2;
  return base ? `${v.toFixed(digits)} (×${(v / base).toFixed(3)})` : v.toFixed(digits);
}

function count(v: number): string {
  return v >= 10_000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0);
}

/** The main table: one row per datapath, medians of the runs. */
export function formatMain(results: DatapathResult[]): string {
  const sums = summaries(results);
  const base = sums.get("underlay");
  const rows = results.map((r) => {
    const s = sums.get(r.datapath);
    if (!s) return [r.datapath, `failed: ${r.error ?? "no runs"}`, "–", "–", "–", "–", "–", "–"];
    const weave = s.cpu.length > 0;
    return [
      r.datapath,
      gbit(s.tcp1, base?.tcp1),
      gbit(s.tcp4, base?.tcp4),
      `${s.udp.toFixed(s.udp < 1 ? 3 : 2)} (${s.udpLoss.toFixed(1)}%)`,
      `${count(s.retr1)} / ${count(s.retr4)}`,
      s.pingMs.toFixed(3),
      weave ? s.cpu.map((c) => c.toFixed(0)).join(" / ") : "–",
      weave ? s.rssMib.map((c) => c.toFixed(1)).join(" / ") : "–",
    ];
  });
  return table([
    "datapath",
    "TCP 1 stream Gbit/s (×underlay)",
    "TCP 4 streams Gbit/s (×underlay)",
    "UDP received Gbit/s (loss %)",
    "TCP retransmits/10 s (1 / 4 streams)",
    "ping RTT ms",
    "router CPU % during TCP×1 (h1 / h2)",
    "router RSS MiB, max (h1 / h2)",
  ], rows);
}

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
const yes = (ok: boolean) => ok ? "yes" : "**no**";

/** The comparison with Weave 2.8.1's reference numbers and the issue's targets. */
export function formatComparison(results: DatapathResult[]): string {
  const sums = summaries(results);
  const base = sums.get("underlay")?.tcp1;
  const share = (d: Datapath) => {
    const v = sums.get(d)?.tcp1;
    return v !== undefined && base ? v / base : undefined;
  };
  const ours = (d: Datapath) => {
    const v = sums.get(d)?.tcp1;
    return v === undefined ? "–" : v.toFixed(v < 1 ? 3 : 2);
  };
  const shown = (v: number | undefined) => v === undefined ? "–" : pct(v);
  const W = WEAVE_281;
  const rows: string[][] = [
    [
      "underlay",
      ours("underlay"),
      shown(share("underlay")),
      `${W.underlayGbit}`,
      "100%",
      "the limit",
      "–",
    ],
    [
      "vxlan",
      ours("vxlan"),
      shown(share("vxlan")),
      `${W.vxlanGbit}`,
      pct(W.vxlanGbit / W.underlayGbit),
      "the kernel's own cost",
      "–",
    ],
  ];
  const fast = sums.get("fastdp")?.tcp1, vx = sums.get("vxlan")?.tcp1;
  rows.push([
    "fastdp",
    ours("fastdp"),
    shown(share("fastdp")),
    "n/a (ran sleeve: no openvswitch)",
    "–",
    `≥ ${TARGETS.fastdpVsVxlan}× plain VXLAN` +
    (fast && vx ? ` (is ${(fast / vx).toFixed(3)}×)` : ""),
    fast && vx ? yes(fast / vx >= TARGETS.fastdpVsVxlan) : "–",
  ]);
  for (const [d, theirs] of [["sleeve", W.sleeveGbit], ["sleeve-enc", W.sleeveEncGbit]] as const) {
    const s = share(d), retr = sums.get(d)?.retr1;
    rows.push([
      d,
      ours(d),
      shown(s),
      `${theirs}`,
      pct(theirs / W.underlayGbit),
      `≥ ${pct(TARGETS.sleeveShare)} of underlay, < ${count(W.retransmitsPer10s)} retr/10 s` +
      (retr === undefined ? "" : ` (is ${count(retr)})`),
      s === undefined || retr === undefined
        ? "–"
        : yes(s >= TARGETS.sleeveShare && retr < W.retransmitsPer10s),
    ]);
  }
  const rss = [...sums.values()].flatMap((s) => s.rssMib);
  const maxRss = rss.length ? Math.max(...rss) : undefined;
  rows.push([
    "router RSS MiB (max)",
    maxRss === undefined ? "–" : maxRss.toFixed(1),
    "–",
    `${W.rssMib.min}–${W.rssMib.max}`,
    "–",
    `≤ ${TARGETS.rssMib}`,
    maxRss === undefined ? "–" : yes(maxRss <= TARGETS.rssMib),
  ]);
  return table([
    "datapath",
    "ours TCP×1 Gbit/s",
    "ours share of underlay",
    "Weave 2.8.1 Gbit/s",
    "Weave 2.8.1 share",
    "target",
    "met",
  ], rows);
}

/** Per-datapath notes: MTU, UDP payload, spread of TCP×1 over the runs, failures. */
export function formatNotes(results: DatapathResult[]): string {
  const out = results.map((r) => {
    if (r.runs.length === 0) return `- ${r.datapath}: failed: ${r.error ?? "no runs"}`;
    const tcp1 = r.runs.map((s) => (s.tcp1.bitsPerSecond / 1e9).toFixed(3)).join(", ");
    const failed = r.error ? `; then failed: ${r.error}` : "";
    const retried = r.retries.length ? `; repeated after a failure: ${r.retries.join("; ")}` : "";
    const idle = r.idleRssBytes?.length
      ? `; router RSS idle ${r.idleRssBytes.map((b) => (b / MIB).toFixed(1)).join(" / ")} MiB`
      : "";
    return `- ${r.datapath}: MTU ${r.mtu}, UDP payload ${r.udpLength} B; ` +
      `TCP×1 runs ${tcp1} Gbit/s${idle}${retried}${failed}`;
  });
  return out.join("\n") + "\n";
}
