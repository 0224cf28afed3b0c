/**
 * The IPAM part of the status snapshot (Weave's `ipam/status.go`) and the
 * `Status:` line derived from it, built from plain data.
 *
 * @module
 */
import type { IpamReport } from "../api/report.ts";
import { type Cidr, formatCidr, formatIPv4 } from "../lib/cidr.ts";
import { formatPeerName, type PeerName } from "../lib/peer_name.ts";
import { cidrRange, rangeSize } from "./address/mod.ts";
import type { RangeInfo } from "./ring/mod.ts";
import type { OwnedAddress } from "./store/mod.ts";

/** Paxos figures while consensus is awaited. */
export interface PaxosReportInput {
  elector: boolean;
  knownNodes: number;
  quorum: number;
}

/** What the report is built from. */
export interface IpamReportInput {
  ourName: PeerName;
  universe: Cidr;
  defaultSubnet: Cidr;
  ranges: RangeInfo[];
  nickname(name: PeerName): string;
  isKnownPeer(name: PeerName): boolean;
  activeIPs: number;
  /** Present only while awaiting consensus. */
  paxos?: PaxosReportInput;
  pendingClaims: { ident: string; cidr: OwnedAddress }[];
  pendingAllocates: { ident: string; subnet: Cidr }[];
}

/** Status line texts (spec: cli-and-api.md §1.2). */
export const IPAM_STATUS = Object.freeze({
  ready: "ready",
  waiting: "waiting for IP(s) to become available",
  unreachable: "all IP ranges owned by unreachable peers - use 'rmpeer' if they are dead",
  priming: "priming",
  idle: "idle",
  awaiting: (quorum: number, known: number) =>
    `awaiting consensus (quorum: ${quorum}, known: ${known})`,
});

/**
 * Builds the report, `Status` included.
 *
 * @example
 * ```ts ignore
 * buildIpamReport(input).Status; // "ready"
 * ```
 */
export function buildIpamReport(input: IpamReportInput): IpamReport {
  const report: IpamReport = {
    Paxos: input.paxos
      ? {
        // Go sends a bool; our report type carries the elector's name ("" for an observer).
        Elector: input.paxos.elector ? formatPeerName(input.ourName) : "",
        KnownNodes: input.paxos.knownNodes,
        Quorum: input.paxos.quorum,
      }
      : null,
    Range: formatCidr(input.universe),
    RangeNumIPs: rangeSize(cidrRange(input.universe)),
    ActiveIPs: input.activeIPs,
    DefaultSubnet: formatCidr(input.defaultSubnet),
    Entries: input.ranges.map((r) => ({
      Token: formatIPv4(r.range.start),
      Size: rangeSize(r.range),
      Peer: formatPeerName(r.peer),
      Nickname: input.nickname(r.peer),
      IsKnownPeer: input.isKnownPeer(r.peer),
      Version: r.version,
    })),
    PendingClaims: input.pendingClaims.length === 0 ? null : input.pendingClaims.map((c) => ({
      Ident: c.ident,
      CIDR: `${formatIPv4(c.cidr.addr)}/${c.cidr.prefix}`,
    })),
    PendingAllocates: input.pendingAllocates.length === 0
      ? null
      : input.pendingAllocates.map((a) => `${a.ident} ${formatCidr(a.subnet)}`),
  };
  report.Status = ipamStatus(report, input.paxos);
  return report;
}

/** The `Status:` value, with Weave's template's precedence. */
export function ipamStatus(report: IpamReport, paxos?: PaxosReportInput): string {
  if (report.Entries.length > 0) {
    if (!report.Entries.some((e) => e.Size > 0 && e.IsKnownPeer)) return IPAM_STATUS.unreachable;
    if ((report.PendingAllocates?.length ?? 0) > 0) return IPAM_STATUS.waiting;
    return IPAM_STATUS.ready;
  }
  if (paxos) {
    return paxos.elector
      ? IPAM_STATUS.awaiting(paxos.quorum, paxos.knownNodes)
      : IPAM_STATUS.priming;
  }
  return IPAM_STATUS.idle;
}
