/**
 * The status snapshot: one plain, serialisable object built once by the router
 * (as mesh's `NewStatus` does) and rendered everywhere — `GET /report` (JSON with
 * Weave's field names), `GET /status*` text, `weave status*`, and `/metrics`.
 *
 * Field names and nesting follow Weave Net 2.8.1's `/report` JSON exactly
 * (`../shared/spec/samples/*\/h1-report.json`). 64-bit values (UIDs) are `bigint`
 * and are written as exact JSON integers.
 *
 * @module
 */

/** One connection of a peer, as the topology knows it. */
export interface PeerConnectionReport {
  Name: string;
  NickName: string;
  Address: string;
  Outbound: boolean;
  Established: boolean;
}

/** One peer of the topology. */
export interface PeerReport {
  Name: string;
  NickName: string;
  UID: bigint;
  ShortID: number;
  Version: bigint;
  Connections: PeerConnectionReport[];
}

/** One local connection or target, live (`pending`/`established`) or dialling. */
export interface ConnectionReport {
  /** `ip:port` of the remote end. */
  Address: string;
  Outbound: boolean;
  /** `connecting` | `failed` | `retrying` | `pending` | `established` (also `waiting`). */
  State: string;
  /**
   * Live: `[encrypted|unencrypted ]<overlay> <name>(<nick>)` — the first word only
   * when a password is set. Dialling: the error text (and `, retry: <when>`).
   */
  Info: string;
  /** Overlay attributes: `name` (overlay), `mtu`, `encrypted`; null for targets. */
  Attrs: Record<string, string | number | boolean> | null;
}

/** The router part of the report. */
export interface RouterReport {
  Protocol: "weave";
  ProtocolMinVersion: number;
  ProtocolMaxVersion: number;
  Encryption: boolean;
  PeerDiscovery: boolean;
  Name: string;
  NickName: string;
  Port: number;
  Peers: PeerReport[];
  UnicastRoutes: { Dest: string; Via: string }[];
  BroadcastRoutes: { Source: string; Via: string[] | null }[];
  Connections: ConnectionReport[];
  TerminationCount: number;
  /** Targets given on the command line or by `weave connect`; null when none. */
  Targets: string[] | null;
  OverlayDiagnostics: Record<string, unknown>;
  TrustedSubnets: string[];
  Interface?: string;
  CaptureStats?: Record<string, number>;
  MACs?: { Mac: string; Name: string; NickName: string; LastSeen: string }[];
}

/** IPAM part (filled by the IPAM issue; absent when IPAM is disabled). */
export interface IpamReport {
  Paxos: { Elector: string; KnownNodes: number; Quorum: number } | null;
  Range: string;
  RangeNumIPs: number;
  ActiveIPs: number;
  DefaultSubnet: string;
  Entries: {
    Token: string;
    Size: number;
    Peer: string;
    Nickname: string;
    IsKnownPeer: boolean;
    Version: number;
  }[];
  PendingClaims: { Ident: string; CIDR: string }[] | null;
  PendingAllocates: string[] | null;
  /** Not in Weave's JSON: the `Status:` line of `weave status` (e.g. `ready`). */
  Status?: string;
}

/** DNS part (filled by the DNS issue; absent when DNS is disabled). */
export interface DnsReport {
  Domain: string;
  Upstream: string[] | null;
  Address: string;
  TTL: number;
  Entries:
    | {
      Hostname: string;
      Origin: string;
      ContainerID: string;
      Address: string;
      Version: number;
      Tombstone: number;
    }[]
    | null;
}

/** The whole report, as `GET /report` returns it. */
export interface WeaveReport {
  Ready: boolean;
  Version: string;
  VersionCheck: { Enabled: boolean; Success: boolean; NewVersion: string; NextCheckAt: string };
  Router: RouterReport;
  IPAM?: IpamReport;
  DNS?: DnsReport;
  /** The Docker API proxy, when it runs (`docker/services.ts`). */
  Proxy?: { Addresses: string[] | null };
  /** The Docker network plugin, when it runs. */
  Plugin?: { Config: Record<string, unknown>; DriverName: string; MeshDriverName: string };
}
