/**
 * Runs `dnsperf` (Debian package `dnsperf`) against a server and reads its
 * report: the summary (sent, completed, lost, queries per second) and, from
 * the per-query lines `-v` prints (`> NOERROR name A 0.000210`), latency
 * percentiles that the summary does not give.
 *
 * @module
 */

/** A load run. */
export interface DnsperfSpec {
  server: string;
  port: number;
  /** Query names, asked for type A round-robin. */
  names: string[];
  seconds: number;
  /** Sockets (`-c`). */
  clients: number;
  /** Queries outstanding at most (`-q`). */
  outstanding: number;
  /** Offered load limit in queries/s (`-Q`); none when left out. */
  maxQps?: number;
}

/** What dnsperf reported. */
export interface DnsperfResult {
  sent: number;
  completed: number;
  lost: number;
  qps: number;
  /** Response codes line, e.g. `NOERROR 1000 (100.00%)`. */
  rcodes: string;
  /** Latency percentiles over the answered queries, in ms. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function field(text: string, label: string): string {
  const m = new RegExp(`^\\s*${label}:\\s+(.*)$`, "m").exec(text);
  if (!m) throw new SyntaxError(`Cannot parse dnsperf output: no "${label}" line`);
  return m[1].trim();
}

/** Parses dnsperf's stdout (run with `-v`). */
export function parseDnsperf(text: string): DnsperfResult {
  const latencies: number[] = [];
  for (const m of text.matchAll(/^> \S+ \S+ \S+ ([0-9.]+)$/gm)) latencies.push(Number(m[1]) * 1000);
  latencies.sort((a, b) => a - b);
  const pick = (q: number) =>
    latencies.length
      ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]
      : NaN;
  return {
    sent: parseInt(field(text, "Queries sent")),
    completed: parseInt(field(text, "Queries completed")),
    lost: parseInt(field(text, "Queries lost")),
    qps: Number(field(text, "Queries per second")),
    rcodes: field(text, "Response codes"),
    p50Ms: pick(0.5),
    p99Ms: pick(0.99),
    maxMs: latencies.at(-1) ?? NaN,
  };
}

/** Runs dnsperf once (asynchronously: the server under test may live in this process). */
export async function runDnsperf(spec: DnsperfSpec): Promise<DnsperfResult> {
  const file = await Deno.makeTempFile({ prefix: "weave-dnsperf-", suffix: ".txt" });
  try {
    await Deno.writeTextFile(file, spec.names.map((n) => `${n} A\n`).join(""));
    const args = ["-s", spec.server, "-p", String(spec.port), "-d", file, "-l"];
    args.push(String(spec.seconds), "-c", String(spec.clients), "-q", String(spec.outstanding));
    if (spec.maxQps) args.push("-Q", String(spec.maxQps));
    args.push("-t", "2", "-v");
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command("dnsperf", { args, stdout: "piped", stderr: "piped" }).output();
    } catch (e) {
      throw new Error(
        `Cannot run dnsperf: ${(e as Error).message} (install it: apt-get install dnsperf)`,
        { cause: e },
      );
    }
    const text = new TextDecoder().decode(out.stdout);
    if (!out.success) {
      throw new Error(
        `Cannot run dnsperf: exit ${out.code}: ${new TextDecoder().decode(out.stderr)}`,
      );
    }
    return parseDnsperf(text);
  } finally {
    await Deno.remove(file);
  }
}
