/**
 * The topology table, after weaveworks/mesh `peers.go` and `local_peer.go`:
 * every peer we know (ourselves included) with the connections it lists, an
 * index from short ID to peers, the rules for merging received topology
 * updates, and garbage collection of peers we can no longer reach
 * (`../shared/spec/weave-protocol.md` §2.4, §2.5).
 *
 * Pure: no sockets, no timers, no clock. Randomness (short ID choice) is
 * injected. The caller (the mesh runtime) owns scheduling and broadcasting:
 * after a local mutation it broadcasts ourselves, after `applyUpdate` it
 * relays `changed`, and whenever `ourselfChanged` is reported it broadcasts
 * ourselves, as Go's `unlockAndNotify` does.
 *
 * @module
 */
import { formatPeerName, type PeerName } from "../lib/peer_name.ts";
import { isNewerThan, Peer, peerRoutes, type PeerView, SHORT_ID_COUNT } from "./peer.ts";
import type { ConnectionSummary, PeerSummary, TopologyEntry } from "./topology_types.ts";

/** Options of {@link Peers}. */
export interface PeersOptions {
  /** Uniform random in [0, 1); used to pick a new short ID. Default `Math.random`. */
  random?: () => number;
  /**
   * Called (after the table is consistent) when the short ID → peer mapping
   * changed in a way fastdp must notice (mesh `OnInvalidateShortIDs`).
   */
  onShortIDsInvalidated?: () => void;
}

/** What {@link Peers.applyUpdate} did. */
export interface TopologyUpdateResult {
  /** Every peer whose summary was in the update (what `OnGossipBroadcast` relays). */
  received: PeerName[];
  /** Received peers that were new to us or superseded our record, less those GC'd. */
  changed: PeerName[];
  /** Names added to the table (received or placeholders), less those GC'd. */
  newPeers: PeerName[];
  /** Peers garbage-collected at the end of the update. */
  removed: PeerName[];
  /** Our version or short ID changed: the caller must broadcast ourselves. */
  ourselfChanged: boolean;
}

interface ShortIDEntry {
  /** The owner of the ID (lowest name on collision); null once freed. */
  principal: Peer | null;
  /** Other peers claiming the same ID. */
  others: Peer[];
}

const MAX_RANDOM_SHORT_ID_TRIES = 10;

/**
 * Picks a uniformly random 12-bit short ID, as a peer does at start.
 *
 * @example
 * ```ts
 * import { randomShortID } from "./peers.ts";
 * randomShortID(() => 0.5); // 2048
 * ```
 */
export function randomShortID(random: () => number = Math.random): number {
  return randomIndex(random, SHORT_ID_COUNT);
}

/**
 * The table of known peers. Owns `ourself` (fixed name and UID).
 *
 * @example
 * ```ts
 * import { Peers } from "./peers.ts";
 * const peers = new Peers({ name: 1n, nickName: "a", uid: 7n, version: 0n, shortID: 5, hasShortID: true });
 * peers.addLocalConnection({ name: 2n, remoteTCPAddr: "10.0.0.2:6783", outbound: true, established: false });
 * peers.ourself.version; // 1n
 * ```
 */
export class Peers {
  #byName = new Map<PeerName, Peer>();
  #byShortID = new Map<number, ShortIDEntry>();
  #ourself: Peer;
  #random: () => number;
  #onShortIDsInvalidated: () => void;
  #invalidated = false;
  /**
   * False only while every peer is known to be reachable from us or locally
   * referenced, so a collection would remove nothing and can be skipped.
   * Set by whatever may break that: a new peer, a dropped connection, a
   * released reference.
   */
  #mayHaveUnreachable = false;
  #generation = 0;

  /** Creates the table holding only ourselves. */
  constructor(ourself: PeerSummary, opts: PeersOptions = {}) {
    if (ourself.uid === 0n) {
      throw new RangeError(`Cannot create peer table: our UID must be non-zero`);
    }
    this.#random = opts.random ?? Math.random;
    this.#onShortIDsInvalidated = opts.onShortIDsInvalidated ?? (() => {});
    this.#ourself = new Peer(ourself);
    this.#ourself.localRefCount = 1;
    this.#insert(this.#ourself);
    this.#invalidated = false;
  }

  /** Our own peer (live view: its version moves as the table changes). */
  get ourself(): PeerView {
    return this.#ourself;
  }

  /**
   * A counter that moves whenever an entry may have changed (any mutating
   * call), so that an encoding of some entries can be reused while it stays.
   */
  get generation(): number {
    return this.#generation;
  }

  /** Number of peers in the table, ourselves included. */
  get size(): number {
    return this.#byName.size;
  }

  /** The peer with that name, if known. */
  get(name: PeerName): PeerView | undefined {
    return this.#byName.get(name);
  }

  /** Every known peer, ourselves included, in insertion order. */
  all(): PeerView[] {
    return [...this.#byName.values()];
  }

  /** Every known peer name. */
  names(): PeerName[] {
    return [...this.#byName.keys()];
  }

  /** The peer owning a short ID (on collision, the one with the lowest name). */
  byShortID(id: number): PeerView | undefined {
    return this.#byShortID.get(id)?.principal ?? undefined;
  }

  /**
   * Registers the remote of a new connection after its handshake (mesh
   * `fetchWithDefault`): uses the known peer of that name or adds `remote`,
   * and holds a reference that keeps it from GC until {@link release}.
   * Resolves a short-ID collision it causes (no report: the connection add
   * that follows is broadcast anyway).
   */
  addRef(remote: PeerSummary): PeerView {
    this.#generation++;
    if (remote.name === this.#ourself.name) {
      throw new Error(`Cannot register peer ${formatPeerName(remote.name)}: it is ourselves`);
    }
    let peer = this.#byName.get(remote.name);
    if (peer === undefined) {
      peer = new Peer(remote);
      this.#insert(peer);
    }
    peer.localRefCount++;
    this.#resolveCollision();
    this.#notify();
    return peer;
  }

  /** Drops a reference taken by {@link addRef} (on connection shutdown). */
  release(name: PeerName): void {
    const peer = this.#byName.get(name);
    if (peer !== undefined && peer.localRefCount > 0 && peer !== this.#ourself) {
      peer.localRefCount--;
      if (peer.localRefCount === 0) this.#mayHaveUnreachable = true;
    }
  }

  /**
   * Records a local connection (not yet established, typically) and bumps
   * our version. An unknown remote is added as a placeholder. Replaces any
   * connection to the same remote (tie-breaking is the caller's job).
   */
  addLocalConnection(c: ConnectionSummary): void {
    this.#generation++;
    if (c.name === this.#ourself.name) {
      throw new Error(`Cannot add connection to ${formatPeerName(c.name)}: it is ourselves`);
    }
    if (!this.#byName.has(c.name)) this.#insert(Peer.placeholder(c.name));
    this.#ourself.connections.set(c.name, { ...c });
    this.#ourself.version++;
  }

  /** Removes our connection to `name` and bumps our version; false if there was none. */
  deleteLocalConnection(name: PeerName): boolean {
    this.#generation++;
    if (!this.#ourself.connections.delete(name)) return false;
    this.#ourself.version++;
    this.#mayHaveUnreachable = true;
    return true;
  }

  /** Marks our connection to `name` established and bumps our version; false if none. */
  establishLocalConnection(name: PeerName): boolean {
    this.#generation++;
    const conn = this.#ourself.connections.get(name);
    if (conn === undefined) return false;
    conn.established = true;
    this.#ourself.version++;
    return true;
  }

  /**
   * Merges a received topology update (§2.4; mesh `applyUpdate`): adds
   * unknown peers (placeholders for names only seen in connection lists),
   * replaces records the update supersedes, bumps our version past an old
   * incarnation of ourselves, then garbage-collects and resolves a short-ID
   * collision. Throws, changing nothing, on a malformed update.
   */
  applyUpdate(entries: readonly TopologyEntry[]): TopologyUpdateResult {
    const maps = validateUpdate(entries);
    const created = new Set<Peer>();
    for (const { peer } of entries) {
      if (!this.#byName.has(peer.name)) created.add(this.#insert(new Peer(peer)));
    }
    for (const { connections } of entries) {
      for (const c of connections) {
        if (!this.#byName.has(c.name)) created.add(this.#insert(Peer.placeholder(c.name)));
      }
    }
    let ourselfChanged = false;
    const changed = new Set<PeerName>();
    entries.forEach((entry, i) => {
      const peer = this.#byName.get(entry.peer.name)!;
      if (peer === this.#ourself) {
        ourselfChanged = this.#versionBeyond(entry.peer) || ourselfChanged;
      } else if (created.has(peer)) {
        peer.connections = maps[i];
        changed.add(peer.name);
      } else if (this.#supersede(peer, entry.peer, maps[i])) {
        changed.add(peer.name);
      }
    });
    const removed = this.#collect();
    if (created.size + changed.size + removed.length > 0) this.#generation++;
    for (const name of removed) changed.delete(name);
    ourselfChanged = this.#resolveCollision() || ourselfChanged;
    if (ourselfChanged) this.#generation++;
    this.#notify();
    return {
      received: entries.map((e) => e.peer.name),
      changed: [...changed],
      newPeers: [...created].map((p) => p.name).filter((n) => this.#byName.has(n)),
      removed,
      ourselfChanged,
    };
  }

  /**
   * Removes every peer not reachable from us over any connection (whatever
   * its state) and not referenced locally; returns their names. Follow with
   * {@link checkShortIDCollision}, since removals may free short IDs.
   */
  garbageCollect(): PeerName[] {
    this.#generation++;
    const removed = this.#collect();
    this.#notify();
    return removed;
  }

  /**
   * If another peer with a lower name owns our short ID, picks a free one
   * (10 random tries, then a uniform choice among the free IDs) and bumps
   * our version. Returns true if our short ID changed (broadcast ourselves).
   */
  checkShortIDCollision(): boolean {
    this.#generation++;
    const changed = this.#resolveCollision();
    this.#notify();
    return changed;
  }

  /**
   * The topology entries of the named peers (all when omitted), read from
   * the live table; unknown names are skipped and duplicates dropped.
   */
  encodeEntries(names?: Iterable<PeerName>): TopologyEntry[] {
    const out: TopologyEntry[] = [];
    for (const name of new Set(names ?? this.#byName.keys())) {
      const peer = this.#byName.get(name);
      if (peer !== undefined) out.push(peer.entry());
    }
    return out;
  }

  #insert(peer: Peer): Peer {
    this.#byName.set(peer.name, peer);
    this.#mayHaveUnreachable = true;
    this.#indexAdd(peer);
    return peer;
  }

  #versionBeyond(received: PeerSummary): boolean {
    const us = this.#ourself;
    if (received.uid === us.uid || received.version < us.version) return false;
    us.version = received.version + 1n;
    return true;
  }

  #supersede(
    peer: Peer,
    next: PeerSummary,
    connections: Map<PeerName, ConnectionSummary>,
  ): boolean {
    if (!isNewerThan(next, peer)) return false;
    peer.version = next.version;
    peer.uid = next.uid;
    peer.nickName = next.nickName;
    for (const name of peer.connections.keys()) {
      if (!connections.has(name)) {
        this.#mayHaveUnreachable = true;
        break;
      }
    }
    peer.connections = connections;
    if (next.shortID !== peer.shortID || next.hasShortID !== peer.hasShortID) {
      this.#indexDelete(peer);
      peer.shortID = next.shortID;
      peer.hasShortID = next.hasShortID;
      this.#indexAdd(peer);
    }
    return true;
  }

  #collect(): PeerName[] {
    if (!this.#mayHaveUnreachable) return [];
    this.#mayHaveUnreachable = false;
    const lookup = (name: PeerName) => this.#byName.get(name);
    const { routes: reached } = peerRoutes(this.#ourself, lookup, {
      establishedAndSymmetric: false,
      total: this.#byName.size,
    });
    const removed: PeerName[] = [];
    for (const [name, peer] of this.#byName) {
      if (reached.has(name) || peer.localRefCount > 0) continue;
      this.#byName.delete(name);
      this.#indexDelete(peer);
      removed.push(name);
    }
    return removed;
  }

  #resolveCollision(): boolean {
    const us = this.#ourself;
    if (!us.hasShortID || this.#byShortID.get(us.shortID)?.principal === us) return false;
    const id = this.#chooseShortID();
    if (id === undefined) return false;
    this.#indexDelete(us);
    us.shortID = id;
    us.version++;
    this.#indexAdd(us);
    return true;
  }

  #chooseShortID(): number | undefined {
    const isFree = (id: number) => !this.#byShortID.get(id)?.principal;
    for (let i = 0; i < MAX_RANDOM_SHORT_ID_TRIES; i++) {
      const id = randomIndex(this.#random, SHORT_ID_COUNT);
      if (isFree(id)) return id;
    }
    let used = 0;
    for (const entry of this.#byShortID.values()) if (entry.principal !== null) used++;
    const available = SHORT_ID_COUNT - used;
    if (available === 0) return undefined;
    let n = randomIndex(this.#random, available);
    for (let id = 0; id < SHORT_ID_COUNT; id++) {
      if (isFree(id) && n-- === 0) return id;
    }
    return undefined;
  }

  #indexAdd(peer: Peer): void {
    if (!peer.hasShortID) return;
    const entry = this.#byShortID.get(peer.shortID);
    if (entry === undefined) {
      this.#byShortID.set(peer.shortID, { principal: peer, others: [] });
    } else if (entry.principal === null) {
      entry.principal = peer; // a freed ID in use again: mapping changed
      this.#invalidated = true;
    } else if (peer.name < entry.principal.name) {
      entry.others.push(entry.principal);
      entry.principal = peer;
      this.#invalidated = true;
    } else {
      entry.others.push(peer);
    }
  }

  #indexDelete(peer: Peer): void {
    if (!peer.hasShortID) return;
    const entry = this.#byShortID.get(peer.shortID);
    if (entry === undefined) return;
    if (entry.principal !== peer) {
      const i = entry.others.indexOf(peer);
      if (i >= 0) entry.others.splice(i, 1);
      return;
    }
    if (entry.others.length === 0) {
      entry.principal = null; // kept, to notice when the ID is reused
      return;
    }
    let lowest = 0;
    for (let i = 1; i < entry.others.length; i++) {
      if (entry.others[i].name < entry.others[lowest].name) lowest = i;
    }
    entry.principal = entry.others.splice(lowest, 1)[0];
    this.#invalidated = true;
  }

  #notify(): void {
    if (!this.#invalidated) return;
    this.#invalidated = false;
    this.#onShortIDsInvalidated();
  }
}

/**
 * Checks an update before anything is applied, and returns each entry's
 * connections as a map by remote name. The maps hold the entries' own
 * summaries (no copies: a received update is decoded for this table alone,
 * and only our own connections are ever changed in place).
 */
function validateUpdate(entries: readonly TopologyEntry[]): Map<PeerName, ConnectionSummary>[] {
  const seen = new Set<PeerName>();
  return entries.map(({ peer, connections }) => {
    if (seen.has(peer.name)) {
      throw new Error(
        `Cannot apply topology update: peer ${formatPeerName(peer.name)} appears twice`,
      );
    }
    seen.add(peer.name);
    const map = new Map<PeerName, ConnectionSummary>();
    for (const c of connections) {
      if (c.name === peer.name) {
        throw new Error(
          `Cannot apply topology update: peer ${
            formatPeerName(peer.name)
          } lists a connection to itself`,
        );
      }
      if (map.has(c.name)) {
        throw new Error(
          `Cannot apply topology update: peer ${formatPeerName(peer.name)} lists ${
            formatPeerName(c.name)
          } twice`,
        );
      }
      map.set(c.name, c);
    }
    return map;
  });
}

function randomIndex(random: () => number, n: number): number {
  return Math.min(n - 1, Math.max(0, Math.floor(random() * n)));
}
