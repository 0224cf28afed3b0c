/**
 * Pure parsers for the throughput benchmark: iperf3's `--json` report, ping's summary line,
 * `/proc/<pid>/stat` CPU ticks and `/proc/<pid>/status` memory, plus the median.
 *
 * @module
 */

/** One TCP iperf3 test: receiver-side throughput and the sender's retransmits. */
export interface TcpResult {
  bitsPerSecond: number;
  retransmits: number;
  seconds: number;
}

/** One UDP iperf3 test: throughput that arrived and the share of datagrams lost. */
export interface UdpResult {
  bitsPerSecond: number;
  lostPercent: number;
}

type Json = Record<string, unknown>;

function section(report: unknown, key: string): Json {
  const end = (report as Json | null)?.end as Json | undefined;
  const value = end?.[key];
  if (typeof value !== "object" || value === null) {
    const error = (report as Json | null)?.error;
    const why = typeof error === "string" ? `iperf3 said "${error}"` : `no "end.${key}"`;
    throw new SyntaxError(`Cannot read the iperf3 report: ${why}`);
  }
  return value as Json;
}

function num(obj: Json, key: string): number {
  const v = obj[key];
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new SyntaxError(`Cannot read the iperf3 report: "${key}" is ${JSON.stringify(v)}`);
  }
  return v;
}

/** Reads a TCP client report (`iperf3 -c … --json`). */
export function parseIperfTcp(text: string): TcpResult {
  const report = JSON.parse(text);
  const sent = section(report, "sum_sent");
  const received = section(report, "sum_received");
  return {
    bitsPerSecond: num(received, "bits_per_second"),
    retransmits: num(sent, "retransmits"),
    seconds: num(sent, "seconds"),
  };
}

/** Reads a UDP client report (`iperf3 -c … -u --json`, iperf3 ≥ 3.12 with `sum_received`). */
export function parseIperfUdp(text: string): UdpResult {
  const received = section(JSON.parse(text), "sum_received");
  return {
    bitsPerSecond: num(received, "bits_per_second"),
    lostPercent: num(received, "lost_percent"),
  };
}

/** The average RTT in ms from ping's `rtt min/avg/max/mdev = a/b/c/d ms` line. */
export function parsePingAvg(text: string): number {
  const m = /= [\d.]+\/([\d.]+)\/[\d.]+\/[\d.]+ ms/.exec(text);
  if (!m) {
    throw new SyntaxError(`Cannot read the ping summary: no rtt line in ${JSON.stringify(text)}`);
  }
  return Number(m[1]);
}

/** utime + stime (clock ticks) from the text of `/proc/<pid>/stat`. */
export function parseStatTicks(text: string): number {
  // The command name (field 2) may hold spaces and parentheses: fields restart after the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // Field 3 (state) is fields[0], so utime (14) and stime (15) are fields[11] and fields[12].
  const utime = Number(fields[11]), stime = Number(fields[12]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime)) {
    throw new SyntaxError(`Cannot read CPU ticks: bad /proc stat line ${JSON.stringify(text)}`);
  }
  return utime + stime;
}

/** `VmRSS` in bytes from the text of `/proc/<pid>/status`. */
export function parseRssBytes(text: string): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(text);
  if (!m) throw new SyntaxError("Cannot read VmRSS: no such line in /proc status");
  return Number(m[1]) * 1024;
}

/** The median of `values` (mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
