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
  /** How many peers there are, ourselves included (lets searches end early). */
  readonly size?: number;
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
    const total = source.size;
    this.#unicast =
      peerRoutes(source.ourself, lookup, { establishedAndSymmetric: true, total }).routes;
    this.#unicastAll =
      peerRoutes(source.ourself, lookup, { establishedAndSymmetric: false, total }).routes;
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
    return hopsAsNeighbourOf(start, us, lookup, establishedAndSymmetric) ??
      searchHops(start, us, lookup, establishedAndSymmetric);
  }
}

/**
 * Our broadcast hops for `origin` (mesh `calculateBroadcast`): our
 * neighbours that the search from origin, stopping at us, has not reached.
 * The search ends early once every neighbour of ours is reached (no hops
 * whatever follows), which in a well-connected mesh is within a level or two.
 */
function searchHops(
  origin: PeerView,
  us: PeerView,
  lookup: PeerLookup,
  establishedAndSymmetric: boolean,
): PeerName[] {
  const mine = connectedPeers(us, lookup, establishedAndSymmetric);
  const mineNames = new Set(mine.map((p) => p.name));
  const reached = new Map<PeerName, true>([[origin.name, true]]);
  let unreached = mine.length - (mineNames.has(origin.name) ? 1 : 0);
  let next: PeerView[] = [origin];
  while (next.length > 0 && unreached > 0) {
    const worklist = next.sort(byName);
    next = [];
    for (const cur of worklist) {
      if (cur.name === us.name) return mine.filter((p) => !reached.has(p.name)).map((p) => p.name);
      for (const remote of connectedPeers(cur, lookup, establishedAndSymmetric, reached)) {
        next.push(remote);
        reached.set(remote.name, true);
        if (mineNames.has(remote.name) && --unreached === 0) return [];
      }
    }
  }
  return [];
}

function byName(a: PeerView, b: PeerView): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Our broadcast hops for `origin` when we are one of origin's neighbours
 * (undefined otherwise), without the search. The search from origin then
 * reaches all of origin's neighbours, and stops at us after visiting those
 * that sort before us; so a neighbour of ours is already reached if it is
 * origin, one of origin's neighbours, or a neighbour of one of those that
 * sort before us. The usual case in a (nearly) full mesh, where the search
 * would cost O(peers × connections) for every origin after every change.
 */
function hopsAsNeighbourOf(
  origin: PeerView,
  us: PeerView,
  lookup: PeerLookup,
  establishedAndSymmetric: boolean,
): PeerName[] | undefined {
  if (!follows(origin, us, lookup, establishedAndSymmetric)) return undefined;
  let before: PeerView[] | undefined; // origin's neighbours that sort before us, if needed
  const hops: PeerName[] = [];
  for (const name of us.connections.keys()) {
    const mine = lookup(name);
    if (mine === undefined || !lists(us, mine, establishedAndSymmetric)) continue;
    if (name === origin.name || follows(origin, mine, lookup, establishedAndSymmetric)) continue;
    before ??= neighboursBefore(origin, us.name, lookup, establishedAndSymmetric);
    if (!before.some((c) => lists(c, mine, establishedAndSymmetric))) hops.push(name);
  }
  return hops.sort((a, b) => a < b ? -1 : a > b ? 1 : 0);
}

/** Whether the search from `from` goes on to `to` (a known peer it lists, under the filter). */
function follows(
  from: PeerView,
  to: PeerView,
  lookup: PeerLookup,
  establishedAndSymmetric: boolean,
): boolean {
  return lookup(to.name) !== undefined && lists(from, to, establishedAndSymmetric);
}

/** The neighbours of `origin` (under the filter) whose names sort before `name`. */
function neighboursBefore(
  origin: PeerView,
  name: PeerName,
  lookup: PeerLookup,
  establishedAndSymmetric: boolean,
): PeerView[] {
  const out: PeerView[] = [];
  for (const remoteName of origin.connections.keys()) {
    if (remoteName >= name) continue;
    const remote = lookup(remoteName);
    if (remote !== undefined && lists(origin, remote, establishedAndSymmetric)) out.push(remote);
  }
  return out;
}

/** Whether `from` has a connection to `to` that the search would follow. */
function lists(from: PeerView, to: PeerView, establishedAndSymmetric: boolean): boolean {
  const conn = from.connections.get(to.name);
  if (conn === undefined) return false;
  if (!establishedAndSymmetric) return true;
  return conn.established && to.connections.get(from.name)?.established === true;
}

function floorLog2(n: number): number {
  return n < 1 ? 0 : 31 - Math.clz32(n);
}
