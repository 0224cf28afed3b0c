/**
 * One peer as the local topology table knows it, after weaveworks/mesh
 * `peer.go`: its own summary (name, nickname, UID, version, short ID) plus
 * the connections it lists, and the deterministic breadth-first search that
 * every route in the mesh is derived from (`../shared/spec/weave-protocol.md`
 * §2.4, §3).
 *
 * The search must give the same answer on every peer holding the same data,
 * so each level's worklist is visited in ascending name order; that property
 * is what makes broadcast trees consistent across the mesh.
 *
 * @module
 */
import { type PeerName, UNKNOWN_PEER_NAME } from "../lib/peer_name.ts";
import type { ConnectionSummary, PeerSummary, TopologyEntry } from "./topology_types.ts";

/** Number of bits in a short ID (fastdp carries it in the VXLAN VNI). */
export const SHORT_ID_BITS = 12;

/** Number of distinct short IDs: 4096. */
export const SHORT_ID_COUNT = 1 << SHORT_ID_BITS;

/** A read-only view of a {@link Peer}, as the table hands it out. */
export interface PeerView extends Readonly<PeerSummary> {
  /** The connections this peer lists, keyed by remote name. */
  readonly connections: ReadonlyMap<PeerName, Readonly<ConnectionSummary>>;
  /** Local holders that keep the peer from garbage collection. */
  readonly localRefCount: number;
  /** A copy of the peer's own record. */
  summary(): PeerSummary;
  /** The peer as one topology update entry. */
  entry(): TopologyEntry;
}

/**
 * A peer in the topology table. Mutated only by the owning `Peers` table.
 *
 * @example
 * ```ts
 * import { Peer } from "./peer.ts";
 * const p = Peer.placeholder(1n);
 * p.summary().uid; // 0n
 * ```
 */
export class Peer implements PeerView {
  /** The peer's name (fixed). */
  readonly name: PeerName;
  /** Free text, the hostname by default. */
  nickName: string;
  /** Random per process start; 0n for a placeholder. */
  uid: bigint;
  /** Bumped by the peer on every change to its own state. */
  version: bigint;
  /** 12-bit short ID, meaningful only when {@link hasShortID}. */
  shortID: number;
  /** False for placeholders and peers that predate short IDs. */
  hasShortID: boolean;
  /** The connections this peer lists, keyed by remote name. */
  connections: Map<PeerName, ConnectionSummary>;
  /** Local holders (ourselves, registered connections) that keep it from GC. */
  localRefCount = 0;

  /** Builds a peer from its summary and (optionally) its connection list. */
  constructor(summary: PeerSummary, connections: Iterable<ConnectionSummary> = []) {
    this.name = summary.name;
    this.nickName = summary.nickName;
    this.uid = summary.uid;
    this.version = summary.version;
    this.shortID = summary.shortID;
    this.hasShortID = summary.hasShortID;
    this.connections = new Map();
    for (const c of connections) this.connections.set(c.name, { ...c });
  }

  /** A peer we only know by name from someone's connection list (UID 0, no short ID). */
  static placeholder(name: PeerName): Peer {
    return new Peer({ name, nickName: "", uid: 0n, version: 0n, shortID: 0, hasShortID: false });
  }

  /** A copy of the peer's own record. */
  summary(): PeerSummary {
    const { name, nickName, uid, version, shortID, hasShortID } = this;
    return { name, nickName, uid, version, shortID, hasShortID };
  }

  /** The peer as one topology update entry (summary plus connection copies). */
  entry(): TopologyEntry {
    return {
      peer: this.summary(),
      connections: [...this.connections.values()].map((c) => ({ ...c })),
    };
  }
}

/**
 * Whether `received` supersedes `ours` (§2.4): a higher version; at equal
 * version a higher UID; at equal version and UID, `received` has a short ID
 * while `ours` has none.
 *
 * @example
 * ```ts
 * import { isNewerThan } from "./peer.ts";
 * const base = { name: 1n, nickName: "", uid: 5n, version: 3n, shortID: 0, hasShortID: true };
 * isNewerThan({ ...base, version: 4n }, base); // true
 * isNewerThan(base, base); // false
 * ```
 */
export function isNewerThan(received: PeerSummary, ours: PeerSummary): boolean {
  if (received.version !== ours.version) return received.version > ours.version;
  if (received.uid !== ours.uid) return received.uid > ours.uid;
  return received.hasShortID && !ours.hasShortID;
}

/** Finds a peer by name in some table. */
export type PeerLookup = (name: PeerName) => PeerView | undefined;

/** Options of {@link peerRoutes}. */
export interface RouteSearchOptions {
  /** Stop as soon as this peer is taken off a worklist. */
  stopAt?: PeerName;
  /** Count a connection only if established and listed back as established. */
  establishedAndSymmetric: boolean;
  /**
   * How many peers there are in all (e.g. the table's size): the search ends
   * once it has reached that many, since nothing more can be added. Without
   * `stopAt` the result is the same; in a full mesh the search then costs
   * O(peers) instead of O(peers × connections).
   */
  total?: number;
}

/** Result of {@link peerRoutes}. */
export interface RouteSearchResult {
  /** True when `stopAt` was reached. */
  found: boolean;
  /** Destination → next hop from the start; the start maps to `UNKNOWN_PEER_NAME`. */
  routes: Map<PeerName, PeerName>;
}

/**
 * Breadth-first search from `start` (mesh `Peer.routes`): every reached peer
 * gets its next hop, i.e. itself for direct neighbours of `start`, otherwise
 * the next hop of the peer it was reached through. Insertion order of
 * `routes` is the order peers were reached.
 *
 * @example
 * ```ts
 * import { Peer, peerRoutes } from "./peer.ts";
 * const a = Peer.placeholder(1n);
 * peerRoutes(a, () => undefined, { establishedAndSymmetric: false }).routes.get(1n); // 0n
 * ```
 */
export function peerRoutes(
  start: PeerView,
  lookup: PeerLookup,
  opts: RouteSearchOptions,
): RouteSearchResult {
  const routes = new Map<PeerName, PeerName>([[start.name, UNKNOWN_PEER_NAME]]);
  let next: PeerView[] = [start];
  const total = opts.stopAt === undefined ? opts.total ?? Infinity : Infinity;
  while (next.length > 0 && routes.size < total) {
    const worklist = next.sort(byName);
    next = [];
    for (const cur of worklist) {
      if (routes.size >= total) break;
      if (cur.name === opts.stopAt) return { found: true, routes };
      for (const remote of connectedPeers(cur, lookup, opts.establishedAndSymmetric, routes)) {
        next.push(remote);
        routes.set(remote.name, cur === start ? remote.name : routes.get(cur.name)!);
      }
    }
  }
  return { found: false, routes };
}

/**
 * The peers `peer` is connected to (mesh `forEachConnectedPeer`), leaving out
 * names in `exclude` and, in established-and-symmetric mode, connections
 * that are not established at both ends. Sorted by name.
 */
export function connectedPeers(
  peer: PeerView,
  lookup: PeerLookup,
  establishedAndSymmetric: boolean,
  exclude: ReadonlyMap<PeerName, unknown> = new Map(),
): PeerView[] {
  const out: PeerView[] = [];
  for (const [remoteName, conn] of peer.connections) {
    if (exclude.has(remoteName)) continue;
    if (establishedAndSymmetric && !conn.established) continue;
    const remote = lookup(remoteName);
    if (remote === undefined) continue;
    if (establishedAndSymmetric && remote.connections.get(peer.name)?.established !== true) {
      continue;
    }
    out.push(remote);
  }
  return out.sort(byName);
}

function byName(a: PeerView, b: PeerView): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
