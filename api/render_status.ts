/**
 * The `GET /status*` texts (and so `weave status*`), rendered from the one
 * {@link WeaveReport} snapshot with the exact layouts of Weave Net 2.8.1's
 * templates: labels right-aligned to column 15, `%-21v` addresses, `%-37v`
 * peer names, `%-37v %8d IPs (%04.1f%% of total) %s` IPAM lines.
 *
 * Quirks kept on purpose because users' scripts see them: connection attributes
 * are concatenated without a separator (`encrypted=truemtu=1414`), a line whose
 * connection has no extra attributes ends with a space, and IPAM lines of
 * remote peers end with a space.
 *
 * @module
 */
import { compareBytes, goSprintf, goValueString } from "../lib/go/fmt.ts";
import type { ConnectionReport, DnsReport, IpamReport, WeaveReport } from "./report.ts";

/** The connection states in the order Weave counts them. */
export const CONNECTION_STATES = ["established", "pending", "retrying", "failed", "connecting"];

const line = (label: string, value: string | number) => `${label.padStart(15)}: ${value}\n`;
const onOff = (enabled: boolean) => (enabled ? "enabled" : "disabled");
const listOrNone = (list: string[] | null | undefined) =>
  list && list.length > 0 ? list.join(", ") : "none";

/**
 * The whole `weave status` text: version, router, then the ipam and dns
 * sections when the report has them.
 *
 * @example
 * ```ts ignore
 * import { renderStatus } from "./render_status.ts";
 * renderStatus(report).split("\n")[2]; // "        Service: router"
 * ```
 */
export function renderStatus(report: WeaveReport): string {
  let text = line("Version", `${report.Version} (${versionCheckText(report.VersionCheck)})`);
  text += "\n" + renderRouterSection(report);
  if (report.IPAM) text += "\n" + renderIpamSection(report.IPAM);
  if (report.DNS) text += "\n" + renderDnsSection(report.DNS);
  if (report.Proxy) {
    text += "\n" + line("Service", "proxy") + line("Address", listOrNone(report.Proxy.Addresses));
  }
  if (report.Plugin) {
    text += "\n" + line("Service", "plugin (legacy)") +
      line("DriverName", report.Plugin.DriverName);
  }
  return text;
}

/** The text in parentheses after the version. */
export function versionCheckText(check: WeaveReport["VersionCheck"]): string {
  if (!check.Enabled) return "version check update disabled";
  const when = formatCheckTime(check.NextCheckAt);
  if (!check.Success) return `failed to check latest version - see logs; next check at ${when}`;
  if (check.NewVersion !== "") return `version ${check.NewVersion} available - please upgrade!`;
  return `up to date; next check at ${when}`;
}

/** `2006-01-02T15:04:05Z` (RFC 3339) → `2006/01/02 15:04:05`. */
function formatCheckTime(rfc3339: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2}:\d{2})/.exec(rfc3339);
  return m ? `${m[1]}/${m[2]}/${m[3]} ${m[4]}` : rfc3339;
}

function renderRouterSection(report: WeaveReport): string {
  const r = report.Router;
  const protocol = r.ProtocolMinVersion === r.ProtocolMaxVersion
    ? `${r.ProtocolMaxVersion}`
    : `${r.ProtocolMinVersion}..${r.ProtocolMaxVersion}`;
  const connCounts = countsText(connectionStateCounts(r.Connections), CONNECTION_STATES);
  const peerCounts = countsText(peerConnectionCounts(report), ["established", "pending"]);
  return line("Service", "router") +
    line("Protocol", `${r.Protocol} ${protocol}`) +
    line("Name", `${r.Name}(${r.NickName})`) +
    line("Encryption", onOff(r.Encryption)) +
    line("PeerDiscovery", onOff(r.PeerDiscovery)) +
    line("Targets", r.Targets?.length ?? 0) +
    line("Connections", `${r.Connections.length}${connCounts && ` (${connCounts})`}`) +
    line("Peers", `${r.Peers.length}${peerCounts && ` (with ${peerCounts} connections)`}`) +
    line("TrustedSubnets", listOrNone(r.TrustedSubnets));
}

function connectionStateCounts(connections: ConnectionReport[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of connections) counts.set(c.State, (counts.get(c.State) ?? 0) + 1);
  return counts;
}

function peerConnectionCounts(report: WeaveReport): Map<string, number> {
  const counts = new Map<string, number>();
  for (const peer of report.Router.Peers) {
    for (const c of peer.Connections) {
      const key = c.Established ? "established" : "pending";
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/** `2 established, 1 failed`: only the given keys that occur, in that order. */
function countsText(counts: Map<string, number>, order: string[]): string {
  return order.filter((k) => counts.has(k)).map((k) => `${counts.get(k)} ${k}`).join(", ");
}

function renderIpamSection(ipam: IpamReport): string {
  return line("Service", "ipam") +
    line("Status", ipam.Status ?? ipamStatusText(ipam)) +
    line("Range", ipam.Range) +
    line("DefaultSubnet", ipam.DefaultSubnet);
}

/**
 * The IPAM `Status:` value Weave derives from the IPAM report, used when the
 * report does not carry `Status` itself.
 */
export function ipamStatusText(ipam: IpamReport): string {
  if (ipam.Entries.length > 0) {
    if (!ipam.Entries.some((e) => e.Size > 0 && e.IsKnownPeer)) {
      return "all IP ranges owned by unreachable peers - use 'rmpeer' if they are dead";
    }
    if ((ipam.PendingAllocates?.length ?? 0) > 0) return "waiting for IP(s) to become available";
    return "ready";
  }
  if (ipam.Paxos) {
    if (!ipam.Paxos.Elector) return "priming";
    return `awaiting consensus (quorum: ${ipam.Paxos.Quorum}, known: ${ipam.Paxos.KnownNodes})`;
  }
  return "idle";
}

function renderDnsSection(dns: DnsReport): string {
  const live = (dns.Entries ?? []).filter((e) => e.Tombstone === 0).length;
  return line("Service", "dns") +
    line("Domain", dns.Domain) +
    line("Upstream", listOrNone(dns.Upstream)) +
    line("TTL", dns.TTL) +
    line("Entries", live);
}

/** `weave status connections`: one line per local connection or target. */
export function renderConnections(report: WeaveReport): string {
  return report.Router.Connections.map((c) => {
    // As Weave: sorted, glued `k=v` (`encrypted=truemtu=1414`); then our `why`, set apart.
    const attrs = Object.keys(c.Attrs ?? {}).filter((k) => k !== "name" && k !== "why")
      .sort(compareBytes).map((k) => `${k}=${goValueString(c.Attrs![k])}`).join("");
    const why = c.Attrs?.why === undefined ? "" : ` (${goValueString(c.Attrs.why)})`;
    const dir = c.Outbound ? "->" : "<-";
    return `${dir} ${goSprintf("%-21v %-11v", c.Address, c.State)} ${c.Info} ${attrs}${why}\n`;
  }).join("");
}

/** `weave status peers`: every known peer, then its connections. */
export function renderPeers(report: WeaveReport): string {
  let text = "";
  for (const peer of report.Router.Peers) {
    text += `${peer.Name}(${peer.NickName})\n`;
    for (const c of peer.Connections) {
      const dir = c.Outbound ? "->" : "<-";
      const state = c.Established ? "established" : "pending";
      text += `   ${dir} ${
        goSprintf("%-21v %-37v", c.Address, `${c.Name}(${c.NickName})`)
      } ${state}\n`;
    }
  }
  return text;
}

/** `weave status targets`: one target per line. */
export function renderTargets(report: WeaveReport): string {
  return (report.Router.Targets ?? []).map((t) => `${t}\n`).join("");
}

interface OwnerStats {
  nickname: string;
  reachable: boolean;
  ips: number;
}

/** Sums IPAM ring entries per owning peer (first entry decides nickname and reachability). */
export function summariseIpamOwners(ipam: IpamReport): Map<string, OwnerStats> {
  const owners = new Map<string, OwnerStats>();
  for (const entry of ipam.Entries) {
    let stats = owners.get(entry.Peer);
    if (!stats) {
      stats = { nickname: entry.Nickname, reachable: entry.IsKnownPeer, ips: 0 };
      owners.set(entry.Peer, stats);
    }
    stats.ips = (stats.ips + entry.Size) >>> 0;
  }
  return owners;
}

/**
 * `weave status ipam`: addresses owned per peer, local peer first with its
 * active count, then the others (Weave prints those in map order; we print
 * them in ring order).
 */
export function renderIpam(report: WeaveReport): string {
  const ipam = report.IPAM;
  if (!ipam) return "";
  const owners = summariseIpamOwners(ipam);
  const ownLine = (name: string, s: OwnerStats, info: string) => {
    // Weave computes the share in float32.
    const share = Math.fround(
      Math.fround(Math.fround(s.ips) * 100) / Math.fround(ipam.RangeNumIPs),
    );
    return goSprintf(
      "%-37v %8d IPs (%04.1f%% of total) %s\n",
      `${name}(${s.nickname})`,
      s.ips,
      share,
      info,
    );
  };
  const ours = report.Router.Name;
  let text = "";
  const own = owners.get(ours);
  if (own) text += ownLine(ours, own, `(${ipam.ActiveIPs} active)`);
  for (const [name, stats] of owners) {
    if (name !== ours) text += ownLine(name, stats, stats.reachable ? "" : "- unreachable!");
  }
  return text;
}

/** `weave status dns`: live entries as `%-12v %-15v %12.12v %v`. */
export function renderDns(report: WeaveReport): string {
  const dns = report.DNS;
  if (!dns) return "";
  const suffix = `.${dns.Domain}`;
  return (dns.Entries ?? []).filter((e) => e.Tombstone === 0).map((e) => {
    const host = e.Hostname.endsWith(suffix) ? e.Hostname.slice(0, -suffix.length) : e.Hostname;
    return goSprintf("%-12v %-15v %12.12v %v\n", host, e.Address, e.ContainerID, e.Origin);
  }).join("");
}
