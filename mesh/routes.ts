/**
 * Unicast and broadcast routes computed from the topology table, after
 * weaveworks/mesh `routes.go` (`../shared/spec/weave-protocol.md` §2.3, §3).
 *
 * Two flavours of each: the data plane uses only connections that are
 * established at both ends (`unicast`, `broadcast`); gossip uses every
 * connection (`unicastAll`, `broadcastAll`). A broadcast from origin S is
 * relayed by us to our neighbours that S's own breadth-first search had not
 * reached before reaching us, so with a stable topology every peer gets each
 * broadcast exactly once. Broadcast hops are computed on first use for each
 * origin and cached until the next {@link Routes.recalculate}.
 *
 * @module
 */
import { formatPeerName, type PeerName, UNKNOWN_PEER_NAME } from "../lib/peer_name.ts";
import { connectedPeers, type PeerLookup, peerRoutes, type PeerView } from "./peer.ts";

/** What routes are computed from: satisfied by `Peers`. */
export interface RouteSource {
  /** Our own peer. */
  readonly ourself: PeerView;
  /** The peer with that name, if known. */
  get(name: PeerName): PeerView | undefined;
}

/** One row of the report's `UnicastRoutes`. */
export interface UnicastRouteRow {
  Dest: string;
  Via: string;
}

/** One row of the report's `BroadcastRoutes` (`Via` null when there are no hops). */
export interface BroadcastRouteRow {
  Source: string;
  Via: string[] | null;
}

/**
 * The route tables of the local peer.
 *
 * @example
 * ```ts
 * import { Peers } from "./peers.ts";
 * import { Routes } from "./routes.ts";
 * const peers = new Peers({ name: 1n, nickName: "a", uid: 7n, version: 0n, shortID: 5, hasShortID: true });
 * const routes = new Routes(peers);
 * routes.unicast(1n); // 0n: ourselves
 * ```
 */
export class Routes {
  #source: RouteSource | undefined;
  #unicast = new Map<PeerName, PeerName>();
  #unicastAll = new Map<PeerName, PeerName>();
  #broadcast = new Map<PeerName, PeerName[]>();
  #broadcastAll = new Map<PeerName, PeerName[]>();

  /** Creates the tables, computed at once when a source is given. */
  constructor(source?: RouteSource) {
    if (source !== undefined) this.recalculate(source);
  }

  /**
   * Recomputes every table from the table's current state (from `source`,
   * which is remembered, or the one given before) and drops cached
   * broadcast hops.
   */
  recalculate(source: RouteSource | undefined = this.#source): void {
    this.#source = source;
    this.#broadcast = new Map();
    this.#broadcastAll = new Map();
    if (source === undefined) {
      this.#unicast = new Map();
      this.#unicastAll = new Map();
      return;
    }
    const lookup: PeerLookup = (name) => source.get(name);
    this.#unicast = peerRoutes(source.ourself, lookup, { establishedAndSymmetric: true }).routes;
    this.#unicastAll =
      peerRoutes(source.ourself, lookup, { establishedAndSymmetric: false }).routes;
    this.broadcast(source.ourself.name);
    this.broadcastAll(source.ourself.name);
  }

  /**
   * Next hop towards `dst` over established, symmetric connections (data
   * plane); `UNKNOWN_PEER_NAME` (0n) for ourselves, undefined if unreachable.
   */
  unicast(dst: PeerName): PeerName | undefined {
    return this.#unicast.get(dst);
  }

  /** Next hop towards `dst` over any connection (gossip unicast); as {@link unicast}. */
  unicastAll(dst: PeerName): PeerName | undefined {
    return this.#unicastAll.get(dst);
  }

  /** Our next hops for a data broadcast from `origin` (sorted by name). */
  broadcast(origin: PeerName): PeerName[] {
    return this.#lookupOrCalculate(this.#broadcast, origin, true);
  }

  /** Our next hops for a gossip broadcast from `origin` (sorted by name). */
  broadcastAll(origin: PeerName): PeerName[] {
    return this.#lookupOrCalculate(this.#broadcastAll, origin, false);
  }

  /**
   * Neighbours to gossip to (mesh `randomNeighbours`): walks the entries of
   * the `unicastAll` table in random order, skipping ourselves and `except`,
   * collecting distinct next hops until there are ⌊log2(#entries)⌋ of them
   * (at least one) or none are left. A neighbour that is the next hop for
   * more destinations is therefore more likely to be picked.
   */
  randomNeighbours(except: PeerName, random: () => number = Math.random): PeerName[] {
    const hops = [...this.#unicastAll.values()].filter((h) =>
      h !== UNKNOWN_PEER_NAME && h !== except
    );
    const want = Math.max(1, floorLog2(this.#unicastAll.size));
    const picked = new Set<PeerName>();
    for (let end = hops.length; end > 0 && picked.size < want; end--) {
      const i = Math.min(end - 1, Math.floor(random() * end));
      picked.add(hops[i]);
      hops[i] = hops[end - 1];
    }
    return [...picked];
  }

  /** `UnicastRoutes` of the report: every reachable destination, ourselves first. */
  unicastTable(): UnicastRouteRow[] {
    return [...this.#unicast].map(([dest, via]) => ({
      Dest: formatPeerName(dest),
      Via: formatPeerName(via),
    }));
  }

  /** `BroadcastRoutes` of the report: each origin computed so far, ourselves first. */
  broadcastTable(): BroadcastRouteRow[] {
    return [...this.#broadcast].map(([source, hops]) => ({
      Source: formatPeerName(source),
      Via: hops.length === 0 ? null : hops.map(formatPeerName),
    }));
  }

  #lookupOrCalculate(
    cache: Map<PeerName, PeerName[]>,
    origin: PeerName,
    establishedAndSymmetric: boolean,
  ): PeerName[] {
    let hops = cache.get(origin);
    if (hops === undefined) {
      hops = this.#calculateBroadcast(origin, establishedAndSymmetric);
      cache.set(origin, hops);
    }
    return [...hops];
  }

  #calculateBroadcast(origin: PeerName, establishedAndSymmetric: boolean): PeerName[] {
    const source = this.#source;
    const start = source?.get(origin);
    if (source === undefined || start === undefined) return [];
    const lookup: PeerLookup = (name) => source.get(name);
    const us = source.ourself;
    const { found, routes: reached } = peerRoutes(start, lookup, {
      stopAt: us.name,
      establishedAndSymmetric,
    });
    if (!found) return [];
    return connectedPeers(us, lookup, establishedAndSymmetric, reached).map((p) => p.name);
  }
}

function floorLog2(n: number): number {
  return n < 1 ? 0 : 31 - Math.clz32(n);
}
