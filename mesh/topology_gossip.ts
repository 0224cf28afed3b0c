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
import { decodeTopology, encodeTopology } from "./topology_codec.ts";
import type { TopologyEntry } from "./topology_types.ts";

/** Turns topology entries into a gossip payload and back. */
export interface TopologyCodec {
  /** Encodes entries as one payload (one gob stream). */
  encode(entries: TopologyEntry[]): Uint8Array;
  /** Decodes one payload; throws on malformed input. */
  decode(bytes: Uint8Array): TopologyEntry[];
}

/** The gob codec of `topology_codec.ts`, used unless another one is injected. */
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

  /** Data describing `names`, read from `peers` when encoded. */
  constructor(peers: Peers, names: Iterable<PeerName>, codec: TopologyCodec = GOB_TOPOLOGY_CODEC) {
    this.#peers = peers;
    this.#codec = codec;
    this.names = new Set(names);
  }

  /** One payload holding the current entries of the named peers still known. */
  encode(): Uint8Array[] {
    return [this.#codec.encode(this.#peers.encodeEntries(this.names))];
  }

  /** New data for the union of both name sets. */
  merge(other: GossipData): GossipData {
    if (!(other instanceof TopologyGossipData)) {
      throw new TypeError(`Cannot merge topology gossip data: other data is of another channel`);
    }
    return new TopologyGossipData(this.#peers, [...this.names, ...other.names], this.#codec);
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

  /** A gossiper applying received topology to `peers`. */
  constructor(peers: Peers, hooks: TopologyGossiperHooks, opts: TopologyGossiperOptions = {}) {
    this.#peers = peers;
    this.#hooks = hooks;
    this.#codec = opts.codec ?? GOB_TOPOLOGY_CODEC;
  }

  /** Data describing the named peers (e.g. ourselves after a local change). */
  dataFor(names: Iterable<PeerName>): TopologyGossipData {
    return new TopologyGossipData(this.#peers, names, this.#codec);
  }

  /** Topology never travels by unicast: throws, so the connection is closed (as Go). */
  onGossipUnicast(sender: PeerName, message: Uint8Array): void {
    throw new Error(
      `Cannot handle topology gossip unicast from ${
        formatPeerName(sender)
      }: unexpected ${message.length}-byte message`,
    );
  }

  /** Applies a broadcast update; relays every peer it described (null if none). */
  onGossipBroadcast(_origin: PeerName, update: Uint8Array): TopologyGossipData | null {
    const { received } = this.#apply(update);
    return received.length === 0 ? null : this.dataFor(received);
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
