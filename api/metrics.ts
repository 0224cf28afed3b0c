/**
 * `GET /metrics`: Prometheus text exposition format 0.0.4 built from the
 * report, with the names, HELP texts and label sets of Weave Net 2.8.1's
 * collector (including its double space in the unreachable-percentage HELP),
 * plus a few `process_*` metrics.
 *
 * As client_golang does, families are sorted by name, labels by name, series
 * by label values, and values use Go's shortest `'g'` float form
 * (`1.048576e+06`). `weave_connections` has one pair of series (encryption
 * `""` and `"yes"`) for every (state, overlay type) that occurs.
 *
 * @module
 */
import { compareBytes, formatFloat } from "../lib/go/fmt.ts";
import { summariseIpamOwners } from "./render_status.ts";
import type { WeaveReport } from "./report.ts";

/** Content type of the exposition format we write. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Process figures read from `/proc` (each optional: left out when unknown). */
export interface ProcessStats {
  cpuSecondsTotal?: number;
  openFds?: number;
  maxFds?: number;
  residentMemoryBytes?: number;
  virtualMemoryBytes?: number;
  startTimeSeconds?: number;
}

interface Sample {
  labels: Record<string, string>;
  value: number;
}

interface Family {
  name: string;
  help: string;
  type: "gauge" | "counter";
  samples: Sample[];
}

/**
 * Renders all metrics for a report.
 *
 * @example
 * ```ts ignore
 * import { readProcessStats, renderMetrics } from "./metrics.ts";
 * const text = renderMetrics(report, readProcessStats());
 * ```
 */
export function renderMetrics(report: WeaveReport, process: ProcessStats = {}): string {
  const families = [...processFamilies(process), ...routerFamilies(report)];
  if (report.IPAM) families.push(...ipamFamilies(report));
  if (report.DNS) {
    const own = (report.DNS.Entries ?? [])
      .filter((e) => e.Tombstone === 0 && e.Origin === report.Router.Name).length;
    families.push(gauge("weave_dns_entries", "Number of DNS entries.", own));
  }
  const flows = fastdpFlowCount(report.Router.OverlayDiagnostics);
  if (flows !== undefined) families.push(gauge("weave_flows", "Number of FastDP flows.", flows));
  families.sort((a, b) => compareBytes(a.name, b.name));
  return families.map(renderFamily).join("");
}

function gauge(name: string, help: string, value: number, labels: Record<string, string> = {}) {
  return { name, help, type: "gauge", samples: [{ labels, value }] } satisfies Family;
}

function counter(name: string, help: string, value: number): Family {
  return { name, help, type: "counter", samples: [{ labels: {}, value }] };
}

function processFamilies(p: ProcessStats): Family[] {
  const families: Family[] = [];
  const add = (value: number | undefined, make: (v: number) => Family) => {
    if (value !== undefined && Number.isFinite(value)) families.push(make(value));
  };
  add(
    p.cpuSecondsTotal,
    (v) =>
      counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", v),
  );
  add(p.maxFds, (v) => gauge("process_max_fds", "Maximum number of open file descriptors.", v));
  add(p.openFds, (v) => gauge("process_open_fds", "Number of open file descriptors.", v));
  add(
    p.residentMemoryBytes,
    (v) => gauge("process_resident_memory_bytes", "Resident memory size in bytes.", v),
  );
  add(p.startTimeSeconds, (v) =>
    gauge(
      "process_start_time_seconds",
      "Start time of the process since unix epoch in seconds.",
      v,
    ));
  add(
    p.virtualMemoryBytes,
    (v) => gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", v),
  );
  return families;
}

function routerFamilies(report: WeaveReport): Family[] {
  const counts = new Map<string, { state: string; type: string; yes: number; no: number }>();
  for (const c of report.Router.Connections) {
    const name = c.Attrs?.name;
    const type = typeof name === "string" ? name : "unknown";
    const key = `${c.State}\0${type}`;
    const entry = counts.get(key) ?? { state: c.State, type, yes: 0, no: 0 };
    if (c.Attrs?.encrypted === true) entry.yes++;
    else entry.no++;
    counts.set(key, entry);
  }
  const samples: Sample[] = [];
  for (const { state, type, yes, no } of counts.values()) {
    samples.push({ labels: { state, type, encryption: "yes" }, value: yes });
    samples.push({ labels: { state, type, encryption: "" }, value: no });
  }
  return [
    {
      name: "weave_connections",
      help: "Number of peer-to-peer connections.",
      type: "gauge",
      samples,
    },
    counter(
      "weave_connection_terminations_total",
      "Number of peer-to-peer connections terminated.",
      report.Router.TerminationCount,
    ),
  ];
}

function ipamFamilies(report: WeaveReport): Family[] {
  const ipam = report.IPAM!;
  let unreachable = 0;
  let unreachableIps = 0;
  for (const stats of summariseIpamOwners(ipam).values()) {
    if (!stats.reachable) {
      unreachable++;
      unreachableIps = (unreachableIps + stats.ips) >>> 0;
    }
  }
  return [
    gauge("weave_ips", "Number of IP addresses.", ipam.ActiveIPs, { state: "local-used" }),
    gauge("weave_max_ips", "Size of IP address space used by allocator.", ipam.RangeNumIPs),
    gauge("weave_ipam_unreachable_count", "Number of unreachable peers.", unreachable),
    gauge(
      "weave_ipam_unreachable_percentage",
      "Percentage of IP addresses owned  by unreachable peers.",
      unreachableIps * 100 / ipam.RangeNumIPs,
    ),
    gauge(
      "weave_ipam_pending_allocates",
      "Number of pending allocates.",
      ipam.PendingAllocates?.length ?? 0,
    ),
    gauge(
      "weave_ipam_pending_claims",
      "Number of pending claims.",
      ipam.PendingClaims?.length ?? 0,
    ),
  ];
}

/** Number of fastdp flows when the fastdp overlay reports diagnostics. */
function fastdpFlowCount(diagnostics: Record<string, unknown>): number | undefined {
  const fastdp = diagnostics?.fastdp as { Flows?: unknown } | null | undefined;
  if (!fastdp || typeof fastdp !== "object") return undefined;
  return Array.isArray(fastdp.Flows) ? fastdp.Flows.length : undefined;
}

function renderFamily(family: Family): string {
  let text = `# HELP ${family.name} ${
    escapeHelp(family.help)
  }\n# TYPE ${family.name} ${family.type}\n`;
  const rows = family.samples.map((s) => {
    const names = Object.keys(s.labels).sort(compareBytes);
    return { values: names.map((n) => s.labels[n]), names, value: s.value };
  });
  rows.sort((a, b) => {
    for (let i = 0; i < Math.min(a.values.length, b.values.length); i++) {
      const c = compareBytes(a.values[i], b.values[i]);
      if (c !== 0) return c;
    }
    return a.values.length - b.values.length;
  });
  for (const row of rows) {
    const labels = row.names.map((n, i) => `${n}="${escapeLabelValue(row.values[i])}"`).join(",");
    text += `${family.name}${labels ? `{${labels}}` : ""} ${formatSampleValue(row.value)}\n`;
  }
  return text;
}

/** A sample value as client_golang writes it (Go `'g'` shortest, `+Inf`, `NaN`). */
export function formatSampleValue(value: number): string {
  return formatFloat(value, "g");
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/**
 * Reads this process's figures from `/proc/self` (Linux); fields that cannot
 * be read are left out. Assumes 100 clock ticks per second and 4 KiB pages,
 * the values on every Linux platform we run on.
 */
export function readProcessStats(procRoot = "/proc"): ProcessStats {
  const stats: ProcessStats = {};
  const tryRead = (fn: () => void) => {
    try {
      fn();
    } catch {
      // Leave the figure out, as client_golang does when /proc is unreadable.
    }
  };
  tryRead(() => {
    const stat = Deno.readTextFileSync(`${procRoot}/self/stat`);
    // Fields after the parenthesised command name, which may itself hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = 100;
    stats.cpuSecondsTotal = (Number(fields[11]) + Number(fields[12])) / ticks;
    stats.virtualMemoryBytes = Number(fields[20]);
    stats.residentMemoryBytes = Number(fields[21]) * 4096;
    const btime = /^btime (\d+)$/m.exec(Deno.readTextFileSync(`${procRoot}/stat`));
    if (btime) stats.startTimeSeconds = Number(btime[1]) + Number(fields[19]) / ticks;
  });
  tryRead(() => {
    let open = 0;
    for (const _ of Deno.readDirSync(`${procRoot}/self/fd`)) open++;
    stats.openFds = open;
  });
  tryRead(() => {
    const limits = Deno.readTextFileSync(`${procRoot}/self/limits`);
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (m && m[1] !== "unlimited") stats.maxFds = Number(m[1]);
  });
  return stats;
}
