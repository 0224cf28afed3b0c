/**
 * Gossip channels and per-connection senders, after weaveworks/mesh
 * `gossip_channel.go` and `gossip.go`.
 *
 * Each channel has one {@link GossipSender} per connection. A sender holds one
 * pending gossip item and one pending broadcast item per originator; new data
 * is merged into what is pending, and everything is encoded only when the
 * sender flushes (so topology re-reads the live peer table). Our own
 * broadcasts go out first, then gossip, then the broadcasts we relay: what we
 * say of ourselves comes no later than what we pass on (see
 * {@link GossipChannel.beforeRelay}).
 *
 * Channels nobody registered get a surrogate gossiper that relays without
 * understanding, so that this node can sit between Go nodes.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import { formatPeerName, type PeerName } from "../lib/peer_name.ts";
import {
  encodeBroadcastBody,
  encodeGossipBody,
  encodeUnicastBody,
  type UnicastBody,
} from "./gossip_envelope.ts";
import type { GossipData, Gossiper } from "./gossip_types.ts";
import { ProtocolTag } from "./messages.ts";

/** A connection as the gossip layer needs it. */
export interface GossipConnection {
  send(tag: number, body: Uint8Array): void;
}

/** What channels need from the mesh router. */
export interface GossipMesh {
  readonly ourName: PeerName;
  readonly log: Logger;
  /** The connection to a direct neighbour (any state), if any. */
  connectionTo(name: PeerName): GossipConnection | undefined;
  /** Next hop towards `dst` over any connection. */
  unicastAllNextHop(dst: PeerName): PeerName | undefined;
  /** Next hops for a broadcast from `origin`, over any connection. */
  broadcastAllNextHops(origin: PeerName): PeerName[];
  /** A weighted random subset of neighbours, excluding `except`. */
  randomNeighbours(except: PeerName): PeerName[];
}

/**
 * Gossip data that can leave out what a given neighbour is known to have
 * already. Relays of received gossip use it; data without it goes whole.
 */
export interface NeighbourAwareGossipData extends GossipData {
  /** The part of this data worth relaying to `neighbour`, or null for none. */
  forNeighbour(neighbour: PeerName): GossipData | null;
}

function isNeighbourAware(data: GossipData): data is NeighbourAwareGossipData {
  return typeof (data as Partial<NeighbourAwareGossipData>).forNeighbour === "function";
}

/** Sends one channel's pending data down one connection. */
export class GossipSender {
  #pending: GossipData | null = null;
  #broadcasts = new Map<PeerName, GossipData>();
  #scheduled = false;
  #stopped = false;

  constructor(
    private readonly channel: string,
    private readonly ourName: PeerName,
    private readonly conn: GossipConnection,
  ) {}

  /** Queues gossip (tag 4), merging with what is pending. */
  gossip(data: GossipData): void {
    this.#pending = this.#pending ? this.#pending.merge(data) : data;
    this.#schedule();
  }

  /** Queues a broadcast (tag 6) from `origin`, merging with what is pending for it. */
  broadcast(origin: PeerName, data: GossipData): void {
    const old = this.#broadcasts.get(origin);
    this.#broadcasts.set(origin, old ? old.merge(data) : data);
    this.#schedule();
  }

  /** Drops pending data; nothing more is sent. */
  stop(): void {
    this.#stopped = true;
    this.#pending = null;
    this.#broadcasts.clear();
  }

  #schedule(): void {
    if (this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    setTimeout(() => this.flush(), 0);
  }

  /** Encodes and sends everything pending now. */
  flush(): void {
    this.#scheduled = false;
    if (this.#stopped) return;
    const pending = this.#pending;
    this.#pending = null;
    const broadcasts = [...this.#broadcasts];
    this.#broadcasts.clear();
    const own = broadcasts.filter(([origin]) => origin === this.ourName);
    for (const [origin, data] of own) this.#sendBroadcast(origin, data);
    if (pending) {
      for (const payload of pending.encode()) {
        const body = encodeGossipBody({ channel: this.channel, sender: this.ourName, payload });
        this.conn.send(ProtocolTag.Gossip, body);
      }
    }
    for (const [origin, data] of broadcasts) {
      if (origin !== this.ourName) this.#sendBroadcast(origin, data);
    }
  }

  #sendBroadcast(origin: PeerName, data: GossipData): void {
    for (const payload of data.encode()) {
      const body = encodeBroadcastBody({ channel: this.channel, origin, payload });
      this.conn.send(ProtocolTag.GossipBroadcast, body);
    }
  }
}

/** One named gossip channel. */
export class GossipChannel {
  #senders = new Map<GossipConnection, GossipSender>();
  /**
   * Called before received data is relayed to `neighbour` (gossip or
   * broadcast), with what goes to it: the owner may first queue data of its
   * own for that neighbour (e.g. {@link broadcastDown}, which goes out ahead).
   */
  beforeRelay?: (neighbour: PeerName, data: GossipData) => void;

  constructor(
    readonly name: string,
    readonly gossiper: Gossiper,
    private readonly mesh: GossipMesh,
  ) {}

  /** Sends `payload` to peer `dst` (tag 5), relayed by intermediate peers. */
  gossipUnicast(dst: PeerName, payload: Uint8Array): void {
    const body = encodeUnicastBody({
      channel: this.name,
      source: this.mesh.ourName,
      destination: dst,
      payload,
    });
    this.#relayUnicast(dst, body);
  }

  /** Broadcasts our own data to every peer (tag 6). */
  gossipBroadcast(data: GossipData): void {
    this.#relayBroadcast(this.mesh.ourName, data);
  }

  /** Gossips data to a random subset of neighbours (tag 4). */
  gossipNeighbourSubset(data: GossipData): void {
    this.#relay(this.mesh.ourName, data);
  }

  /** Sends data down one connection (used for a new connection's full state). */
  sendDown(conn: GossipConnection, data: GossipData): void {
    this.#senderFor(conn).gossip(data);
  }

  /**
   * Sends our own data as a broadcast (tag 6, origin ourselves) down one
   * connection: {@link gossipBroadcast} to a set of connections chosen by the
   * caller (e.g. every live one, before the routes know of the newest).
   */
  broadcastDown(conn: GossipConnection, data: GossipData): void {
    this.#senderFor(conn).broadcast(this.mesh.ourName, data);
  }

  /** Forgets a closed connection. */
  dropConnection(conn: GossipConnection): void {
    this.#senders.get(conn)?.stop();
    this.#senders.delete(conn);
  }

  /** Handles received gossip (tag 4) from the neighbour `sender`. */
  deliverGossip(sender: PeerName, payload: Uint8Array): void {
    const delta = this.gossiper.onGossip(payload);
    if (delta) this.#relay(sender, delta, isNeighbourAware(delta));
  }

  /** Handles a received broadcast (tag 6) that started at `origin`. */
  deliverBroadcast(origin: PeerName, payload: Uint8Array): void {
    const data = this.gossiper.onGossipBroadcast(origin, payload);
    if (data) this.#relayBroadcast(origin, data);
  }

  /** Handles a received unicast (tag 5): ours, or relayed unchanged (`rawBody`). */
  deliverUnicast(msg: UnicastBody, rawBody: Uint8Array): void {
    if (msg.destination === this.mesh.ourName) {
      this.gossiper.onGossipUnicast(msg.source, msg.payload);
    } else {
      this.#relayUnicast(msg.destination, rawBody);
    }
  }

  #relayUnicast(dst: PeerName, body: Uint8Array): void {
    const hop = this.mesh.unicastAllNextHop(dst);
    const conn = hop === undefined ? undefined : this.mesh.connectionTo(hop);
    if (!conn) {
      this.mesh.log.warn(
        `[gossip ${this.name}] unknown relay destination: ${formatPeerName(dst)}`,
      );
      return;
    }
    conn.send(ProtocolTag.GossipUnicast, body);
  }

  #relayBroadcast(origin: PeerName, data: GossipData): void {
    const relayed = origin !== this.mesh.ourName;
    for (const hop of this.mesh.broadcastAllNextHops(origin)) {
      const conn = this.mesh.connectionTo(hop);
      if (!conn) continue;
      if (relayed) this.beforeRelay?.(hop, data);
      this.#senderFor(conn).broadcast(origin, data);
    }
  }

  #relay(except: PeerName, data: GossipData, trim = false): void {
    const relayed = except !== this.mesh.ourName;
    for (const hop of this.mesh.randomNeighbours(except)) {
      const conn = this.mesh.connectionTo(hop);
      const part = trim ? (data as NeighbourAwareGossipData).forNeighbour(hop) : data;
      if (!conn || !part) continue;
      if (relayed) this.beforeRelay?.(hop, part);
      this.#senderFor(conn).gossip(part);
    }
  }

  #senderFor(conn: GossipConnection): GossipSender {
    let sender = this.#senders.get(conn);
    if (!sender) {
      sender = new GossipSender(this.name, this.mesh.ourName, conn);
      this.#senders.set(conn, sender);
    }
    return sender;
  }
}
