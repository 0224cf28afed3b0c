/**
 * The `topology` gossip channel, after weaveworks/mesh `router.go`
 * (`topologyGossipData` and the Router's Gossiper methods;
 * `../shared/spec/weave-protocol.md` §2.4).
 *
 * Pending data is only a set of peer names: merging is a union, and the
 * summaries and connection lists are read from the live table when the data
 * is encoded, so a queued update always carries the newest state.
 *
 * @module
 */
import { formatPeerName, type PeerName } from "../lib/peer_name.ts";
import type { GossipData, Gossiper } from "./gossip_types.ts";
import type { Peers, TopologyUpdateResult } from "./peers.ts";
import { decodeTopology, encodeTopology } from "./topology_codec/codec.ts";
import type { TopologyEntry } from "./topology_types.ts";

/** Turns topology entries into a gossip payload and back. */
export interface TopologyCodec {
  /** Encodes entries as one payload (one gob stream). */
  encode(entries: TopologyEntry[]): Uint8Array;
  /** Decodes one payload; throws on malformed input. */
  decode(bytes: Uint8Array): TopologyEntry[];
}

/** The gob codec of `topology_codec/`, used unless another one is injected. */
export const GOB_TOPOLOGY_CODEC: TopologyCodec = {
  encode: encodeTopology,
  decode: decodeTopology,
};

/**
 * Topology data waiting to be sent: the names of the peers to describe.
 *
 * @example
 * ```ts
 * import { Peers } from "./peers.ts";
 * import { TopologyGossipData } from "./topology_gossip.ts";
 * const peers = new Peers({ name: 1n, nickName: "a", uid: 7n, version: 0n, shortID: 5, hasShortID: true });
 * const data = new TopologyGossipData(peers, [1n]);
 * data.encode().length; // 1
 * ```
 */
export class TopologyGossipData implements GossipData {
  /** Names of the peers this data describes. */
  readonly names: ReadonlySet<PeerName>;
  readonly #peers: Peers;
  readonly #codec: TopologyCodec;
  #encoded?: { generation: number; payloads: Uint8Array[] };

  readonly #broadcasters: ReadonlySet<PeerName>;

  /**
   * Data describing `names`, read from `peers` when encoded. `broadcasters`
   * are the peers known to broadcast their own changes to every neighbour
   * (see {@link forNeighbour}).
   */
  constructor(
    peers: Peers,
    names: Iterable<PeerName>,
    codec: TopologyCodec = GOB_TOPOLOGY_CODEC,
    broadcasters: ReadonlySet<PeerName> = new Set(),
  ) {
    this.#peers = peers;
    this.#codec = codec;
    this.#broadcasters = broadcasters;
    this.names = new Set(names);
  }

  /**
   * This data less the peers that `neighbour` has heard from directly: a
   * broadcaster sends each change of its own to every peer it is connected
   * to, so relaying its entry to one of those only repeats it. (Go peers
   * gossip their changes to a few neighbours and count on relays: their
   * entries always go.) Null when nothing is left.
   */
  forNeighbour(neighbour: PeerName): TopologyGossipData | null {
    const names = [...this.names].filter((name) =>
      !this.#broadcasters.has(name) || !this.#peers.get(name)?.connections.has(neighbour)
    );
    if (names.length === this.names.size) return this;
    return names.length === 0
      ? null
      : new TopologyGossipData(this.#peers, names, this.#codec, this.#broadcasters);
  }

  /**
   * One payload holding the current entries of the named peers still known.
   * The payload is kept while the table does not change: a change of our own
   * goes to every neighbour, and is encoded once for all of them.
   */
  encode(): Uint8Array[] {
    const generation = this.#peers.generation;
    if (this.#encoded?.generation !== generation) {
      const payloads = [this.#codec.encode(this.#peers.encodeEntries(this.names))];
      this.#encoded = { generation, payloads };
    }
    return this.#encoded.payloads;
  }

  /** New data for the union of both name sets. */
  merge(other: GossipData): TopologyGossipData {
    if (!(other instanceof TopologyGossipData)) {
      throw new TypeError(`Cannot merge topology gossip data: other data is of another channel`);
    }
    return new TopologyGossipData(
      this.#peers,
      [...this.names, ...other.names],
      this.#codec,
      this.#broadcasters,
    );
  }
}

/** What the topology gossiper tells the mesh runtime. */
export interface TopologyGossiperHooks {
  /**
   * Called after an update changed the table (something `changed`, was
   * added or removed, or `ourselfChanged`): recalculate routes, refresh the
   * connection maker, run GC hooks for `removed`, broadcast ourselves when
   * `ourselfChanged`.
   */
  onChange(result: TopologyUpdateResult): void;
}

/** Options of {@link TopologyGossiper}. */
export interface TopologyGossiperOptions {
  /** Payload codec; the gob codec by default. */
  codec?: TopologyCodec;
}

/**
 * The Gossiper of the `topology` channel.
 *
 * @example
 * ```ts
 * import { Peers } from "./peers.ts";
 * import { TopologyGossiper } from "./topology_gossip.ts";
 * const peers = new Peers({ name: 1n, nickName: "a", uid: 7n, version: 0n, shortID: 5, hasShortID: true });
 * const gossiper = new TopologyGossiper(peers, { onChange() {} });
 * gossiper.gossip().names.has(1n); // true
 * ```
 */
export class TopologyGossiper implements Gossiper {
  readonly #peers: Peers;
  readonly #hooks: TopologyGossiperHooks;
  readonly #codec: TopologyCodec;
  readonly #broadcasters = new Set<PeerName>();

  /** A gossiper applying received topology to `peers`. */
  constructor(peers: Peers, hooks: TopologyGossiperHooks, opts: TopologyGossiperOptions = {}) {
    this.#peers = peers;
    this.#hooks = hooks;
    this.#codec = opts.codec ?? GOB_TOPOLOGY_CODEC;
  }

  /** Data describing the named peers (e.g. ourselves after a local change). */
  dataFor(names: Iterable<PeerName>): TopologyGossipData {
    return new TopologyGossipData(this.#peers, names, this.#codec, this.#broadcasters);
  }

  /** Peers seen broadcasting their own entry (tag 6): they tell every neighbour themselves. */
  get broadcasters(): ReadonlySet<PeerName> {
    return this.#broadcasters;
  }

  /** Forgets what was learnt about peers removed from the table. */
  forgetPeers(names: Iterable<PeerName>): void {
    for (const name of names) this.#broadcasters.delete(name);
  }

  /** Topology never travels by unicast: throws, so the connection is closed (as Go). */
  onGossipUnicast(sender: PeerName, message: Uint8Array): void {
    throw new Error(
      `Cannot handle topology gossip unicast from ${
        formatPeerName(sender)
      }: unexpected ${message.length}-byte message`,
    );
  }

  /**
   * Applies a broadcast update; relays the peers that changed (null if none).
   * Go relays every peer received, changed or not: along a broadcast tree
   * that all peers compute alike, nobody gets a broadcast twice. But while
   * connections come and go the peers' trees disagree, copies arrive by
   * several paths, and relaying each copy again floods the mesh. A copy that
   * brings nothing new was relayed when its first copy came.
   */
  onGossipBroadcast(origin: PeerName, update: Uint8Array): TopologyGossipData | null {
    const { changed, received } = this.#apply(update);
    if (received.includes(origin)) this.#broadcasters.add(origin);
    return changed.length === 0 ? null : this.dataFor(changed);
  }

  /** Our whole table, for periodic gossip and new connections. */
  gossip(): TopologyGossipData {
    return this.dataFor(this.#peers.names());
  }

  /** Applies a gossiped update; passes on the peers that changed (null if none). */
  onGossip(update: Uint8Array): TopologyGossipData | null {
    const { changed } = this.#apply(update);
    return changed.length === 0 ? null : this.dataFor(changed);
  }

  #apply(update: Uint8Array): TopologyUpdateResult {
    const result = this.#peers.applyUpdate(this.#codec.decode(update));
    const { changed, newPeers, removed, ourselfChanged } = result;
    if (changed.length + newPeers.length + removed.length > 0 || ourselfChanged) {
      this.#hooks.onChange(result);
    }
    return result;
  }
}
