/**
 * An in-memory gossip network for IPAM benchmarks with many peers: every
 * node is directly connected to every other, and gossip goes through the
 * real {@link GossipChannel}s (so per-connection coalescing, envelope
 * encoding and decoding are as in a {@link MeshRouter}); only TCP, framing
 * and topology gossip are left out. Messages travel through one FIFO queue
 * that is drained in macrotasks, so timers (the allocator's tick, saves)
 * interleave with delivery as they would with sockets.
 *
 * Unlike `ipam/fake_mesh.ts` (random order, manual delivery, for tests)
 * this one delivers on its own, in order, without a step limit.
 *
 * @module
 */
import { discardLogger, type Logger } from "../lib/log.ts";
import type { PeerName } from "../lib/peer_name.ts";
import type { TimerId } from "../lib/timer.ts";
import type { AllocatorPeer } from "../ipam/allocator.ts";
import { GossipChannel, type GossipConnection, type GossipMesh } from "../mesh/gossip.ts";
import { decodeGossipBody } from "../mesh/gossip_envelope.ts";
import type { Gossiper } from "../mesh/gossip_types.ts";
import { ProtocolTag } from "../mesh/messages.ts";

/** Messages delivered per macrotask before timers get a turn. */
const BATCH = 512;

interface Delivery {
  to: MemoryNode;
  from: PeerName;
  tag: number;
  body: Uint8Array;
}

/** The network: nodes, the delivery queue and traffic counters. */
export class MemoryGossipNetwork {
  readonly nodes = new Map<PeerName, MemoryNode>();
  /** Errors thrown by receivers (a real mesh would close the connection). */
  readonly errors: Error[] = [];
  /** Gossip bodies sent and their bytes (envelope included). */
  messages = 0;
  bytes = 0;
  #queue: Delivery[] = [];
  #head = 0;
  #scheduled = false;
  #stopped = false;
  #timers: TimerId[] = [];

  /** Adds a node named `name`. */
  join(name: PeerName, nickName: string): MemoryNode {
    const node = new MemoryNode(this, name, nickName);
    this.nodes.set(name, node);
    return node;
  }

  /** Gossips every node's state to ⌊log2 N⌋ random neighbours every `ms` (mesh's periodic gossip). */
  startPeriodicGossip(ms: number): void {
    for (const node of this.nodes.values()) {
      this.#timers.push(setInterval(() => node.periodicGossip(), ms));
    }
  }

  /** Stops delivering, the periodic gossip and every gossip sender (nothing more is encoded). */
  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    for (const node of this.nodes.values()) node.close();
    this.#queue = [];
    this.#head = 0;
  }

  /** Queues one message. */
  send(from: PeerName, to: MemoryNode, tag: number, body: Uint8Array): void {
    if (this.#stopped) return;
    this.messages++;
    this.bytes += body.length;
    this.#queue.push({ to, from, tag, body });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    setTimeout(() => this.#drain(), 0);
  }

  #drain(): void {
    this.#scheduled = false;
    for (let i = 0; i < BATCH && this.#head < this.#queue.length && !this.#stopped; i++) {
      const d = this.#queue[this.#head++];
      try {
        d.to.receive(d.tag, d.body);
      } catch (e) {
        this.errors.push(e as Error);
      }
    }
    if (this.#head >= this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else this.#schedule();
  }
}

/** A connection from one node to another: `send` queues on the network. */
class MemoryConnection implements GossipConnection {
  constructor(
    private readonly net: MemoryGossipNetwork,
    private readonly from: PeerName,
    private readonly to: MemoryNode,
  ) {}

  send(tag: number, body: Uint8Array): void {
    this.net.send(this.from, this.to, tag, body);
  }
}

/** One node: the mesh side an allocator or nameserver registers with. */
export class MemoryNode implements GossipMesh {
  readonly ourName: PeerName;
  readonly nickName: string;
  readonly log: Logger = discardLogger;
  #net: MemoryGossipNetwork;
  #channels = new Map<string, GossipChannel>();
  #conns = new Map<PeerName, MemoryConnection>();

  constructor(net: MemoryGossipNetwork, name: PeerName, nickName: string) {
    this.#net = net;
    this.ourName = name;
    this.nickName = nickName;
  }

  /** Registers a gossip channel. */
  newGossip(name: string, gossiper: Gossiper): GossipChannel {
    const channel = new GossipChannel(name, gossiper, this);
    this.#channels.set(name, channel);
    return channel;
  }

  /** Nobody ever leaves this network. */
  onPeerGone(_fn: (name: PeerName) => void): void {}

  /** Every node, all reachable (the allocator's `peers` option). */
  peers(): AllocatorPeer[] {
    return [...this.#net.nodes.values()].map((n) => ({
      name: n.ourName,
      nickName: n.nickName,
      reachable: true,
    }));
  }

  connectionTo(name: PeerName): GossipConnection | undefined {
    const to = this.#net.nodes.get(name);
    if (!to || name === this.ourName) return undefined;
    let conn = this.#conns.get(name);
    if (!conn) {
      conn = new MemoryConnection(this.#net, this.ourName, to);
      this.#conns.set(name, conn);
    }
    return conn;
  }

  unicastAllNextHop(dst: PeerName): PeerName | undefined {
    return this.#net.nodes.has(dst) ? dst : undefined;
  }

  broadcastAllNextHops(origin: PeerName): PeerName[] {
    if (origin !== this.ourName) return [];
    return [...this.#net.nodes.keys()].filter((n) => n !== this.ourName);
  }

  randomNeighbours(except: PeerName): PeerName[] {
    const others = [...this.#net.nodes.keys()].filter((n) => n !== this.ourName && n !== except);
    const want = Math.max(1, Math.floor(Math.log2(this.#net.nodes.size)));
    for (let i = others.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [others[i], others[j]] = [others[j], others[i]];
    }
    return others.slice(0, want);
  }

  /** Drops every connection from every channel (their pending data is never encoded). */
  close(): void {
    for (const channel of this.#channels.values()) {
      for (const conn of this.#conns.values()) channel.dropConnection(conn);
    }
  }

  /** One round of periodic gossip on every channel. */
  periodicGossip(): void {
    for (const channel of this.#channels.values()) {
      const data = channel.gossiper.gossip();
      if (data) channel.gossipNeighbourSubset(data);
    }
  }

  /** Dispatches a received gossip body as `MeshRouter.handleGossip` does. */
  receive(tag: number, body: Uint8Array): void {
    if (tag === ProtocolTag.Gossip) {
      const msg = decodeGossipBody(4, body);
      this.#channels.get(msg.channel)?.deliverGossip(msg.sender, msg.payload);
    } else if (tag === ProtocolTag.GossipBroadcast) {
      const msg = decodeGossipBody(6, body);
      this.#channels.get(msg.channel)?.deliverBroadcast(msg.origin, msg.payload);
    } else {
      const msg = decodeGossipBody(5, body);
      this.#channels.get(msg.channel)?.deliverUnicast(msg, body);
    }
  }
}
