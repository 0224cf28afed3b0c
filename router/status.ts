/**
 * Builds the status snapshot (`WeaveReport`) from the live router, once per
 * request, as mesh's `NewStatus` does; `/report`, `/status*`, `weave status`
 * and `/metrics` all render from it.
 *
 * @module
 */
import type {
  ConnectionReport,
  DnsReport,
  IpamReport,
  PeerReport,
  RouterReport,
  WeaveReport,
} from "../api/report.ts";
import { formatPeerName, type PeerName } from "../lib/peer_name.ts";
import { VERSION } from "../lib/version.ts";
import type { MeshRouter } from "../mesh/router.ts";
import { PROTOCOL_MAX_VERSION, PROTOCOL_MIN_VERSION } from "../mesh/protocol_header.ts";

/** What the router's other parts add to the mesh's status. */
export interface ReportParts {
  /** The capture port as Weave reports its interface, e.g. `vethwe-pcap (via tap)`. */
  interface?: string;
  /** MACs the network router learned. */
  macs?: RouterReport["MACs"];
  /** Absent when IPAM is disabled. */
  ipam?: IpamReport;
  /** Absent when weaveDNS is disabled. */
  dns?: DnsReport;
}

/** Builds the router part of the report. */
export function routerReport(mesh: MeshRouter, parts: ReportParts = {}): RouterReport {
  const nick = (name: PeerName) => mesh.peers.get(name)?.nickName ?? "";
  const live = new Map(mesh.connections().map((c) => [c.remote!.name, c]));
  const peers: PeerReport[] = [...mesh.peers.all()]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((p) => ({
      Name: formatPeerName(p.name),
      NickName: p.nickName,
      UID: p.uid,
      ShortID: p.shortID,
      Version: p.version,
      Connections: [...p.connections.values()].map((c) => ({
        Name: formatPeerName(c.name),
        NickName: nick(c.name),
        Address: c.remoteTCPAddr,
        Outbound: c.outbound,
        Established: p.name === mesh.ourName
          ? (live.get(c.name)?.established ?? c.established)
          : c.established,
      })),
    }));
  return {
    Protocol: "weave",
    ProtocolMinVersion: PROTOCOL_MIN_VERSION,
    ProtocolMaxVersion: PROTOCOL_MAX_VERSION,
    Encryption: mesh.password !== undefined,
    PeerDiscovery: mesh.discovery,
    Name: formatPeerName(mesh.ourName),
    NickName: mesh.ourNickName,
    Port: mesh.port,
    Peers: peers,
    UnicastRoutes: mesh.routes.unicastTable(),
    BroadcastRoutes: mesh.routes.broadcastTable(),
    Connections: connectionReports(mesh),
    TerminationCount: mesh.terminationCount,
    Targets: nullIfEmpty(mesh.connectionMaker.directPeers()),
    OverlayDiagnostics: mesh.overlay.diagnostics(),
    TrustedSubnets: mesh.trustedSubnets,
    ...(parts.interface !== undefined ? { Interface: parts.interface } : {}),
    ...(parts.macs ? { MACs: parts.macs } : {}),
  };
}

function connectionReports(mesh: MeshRouter): ConnectionReport[] {
  const out: ConnectionReport[] = [];
  for (const c of mesh.connections()) {
    const attrs = c.overlayConn?.attrs() ?? {};
    const overlayName = typeof attrs.name === "string" ? attrs.name : "none";
    let info = `${overlayName.padEnd(6)} ${c.remoteDisplay}`;
    if (mesh.password) info = `${(c.untrusted ? "encrypted" : "unencrypted").padEnd(11)} ${info}`;
    out.push({
      Address: c.remoteTCPAddr,
      Outbound: c.outbound,
      State: c.established ? "established" : "pending",
      Info: info,
      Attrs: Object.keys(attrs).length ? attrs : null,
    });
  }
  for (const t of mesh.connectionMaker.status()) {
    out.push({ Address: t.address, Outbound: true, State: t.state, Info: t.info, Attrs: null });
  }
  return out;
}

function nullIfEmpty<T>(xs: T[]): T[] | null {
  return xs.length ? xs : null;
}

/** The whole report, built once from the mesh and `parts`. */
export function buildReport(
  mesh: MeshRouter,
  ready: boolean,
  parts: ReportParts = {},
): WeaveReport {
  return {
    Ready: ready,
    Version: VERSION,
    VersionCheck: {
      Enabled: false,
      Success: false,
      NewVersion: "",
      NextCheckAt: "0001-01-01T00:00:00Z",
    },
    Router: routerReport(mesh, parts),
    ...(parts.ipam ? { IPAM: parts.ipam } : {}),
    ...(parts.dns ? { DNS: parts.dns } : {}),
  };
}
