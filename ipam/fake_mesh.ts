/**
 * An in-memory mesh for allocator tests: every node reaches every other
 * (unless cut off), and messages wait in one queue that is delivered in
 * random order, with random duplicates, as an unreliable gossip network may.
 * Errors a gossiper throws are recorded (a real mesh closes the connection).
 *
 * @module
 */
import type { PeerName } from "../lib/peer_name.ts";
import type { GossipData, Gossiper } from "../mesh/gossip_types.ts";
import type { AllocatorMesh, AllocatorPeer, IpamChannel } from "./allocator.ts";

/** A queued message. */
export interface Message {
  kind: "unicast" | "broadcast" | "gossip";
  from: PeerName;
  to: PeerName;
  payload: Uint8Array;
}

interface Node {
  name: PeerName;
  nickName: string;
  gossiper?: Gossiper;
  gone: ((name: PeerName) => void)[];
}

/** Delivery options. */
export interface DeliverOptions {
  /** Random source (default Math.random). */
  random?: () => number;
  /** Probability that a delivered message is delivered again later (default 0). */
  duplicates?: number;
}

const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** The fake mesh. */
export class FakeMesh {
  #nodes = new Map<PeerName, Node>();
  #cut = new Set<string>();
  #queue: Message[] = [];
  /** Errors thrown by receivers, with the message kind and ends. */
  readonly errors: { from: PeerName; to: PeerName; error: Error }[] = [];
  /** Messages delivered so far. */
  delivered = 0;
  /** Messages for which this returns true are lost instead of queued. */
  drop: ((m: Readonly<Message>) => boolean) | undefined;
  #sent = new Map<string, number>();

  /** Adds a node; returns the mesh view to `register` an allocator with. */
  join(name: PeerName, nickName: string): AllocatorMesh {
    const node: Node = { name, nickName, gone: [] };
    this.#nodes.set(name, node);
    const channel: IpamChannel = {
      gossipUnicast: (dst, payload) => this.#send("unicast", name, dst, payload),
      gossipBroadcast: (data: GossipData) => {
        for (const other of this.#nodes.keys()) {
          if (other === name) continue;
          for (const payload of data.encode()) this.#send("broadcast", name, other, payload);
        }
      },
    };
    return {
      newGossip: (_channel: string, gossiper: Gossiper) => {
        node.gossiper = gossiper;
        return channel;
      },
      onPeerGone: (fn) => void node.gone.push(fn),
    };
  }

  /** Removes a node (it died): its queued messages are dropped, others hear it is gone. */
  kill(name: PeerName): void {
    this.#nodes.delete(name);
    this.#queue = this.#queue.filter((m) => m.from !== name && m.to !== name);
    for (const n of this.#nodes.values()) for (const fn of n.gone) fn(name);
  }

  /** Cuts (or restores) the link between two nodes. */
  setLink(a: PeerName, b: PeerName, up: boolean): void {
    const k = a < b ? `${a}/${b}` : `${b}/${a}`;
    if (up) this.#cut.delete(k);
    else this.#cut.add(k);
  }

  #linked(a: PeerName, b: PeerName): boolean {
    return !this.#cut.has(a < b ? `${a}/${b}` : `${b}/${a}`);
  }

  /** The peers `name` sees (for the allocator's `peers` option). */
  peersOf(name: PeerName): () => AllocatorPeer[] {
    return () =>
      [...this.#nodes.values()].filter((n) => n.name !== name).map((n) => ({
        name: n.name,
        nickName: n.nickName,
        reachable: this.#linked(name, n.name),
      }));
  }

  #send(kind: Message["kind"], from: PeerName, to: PeerName, payload: Uint8Array): void {
    if (!this.#nodes.has(to) || !this.#linked(from, to)) return;
    const m = { kind, from, to, payload };
    if (this.drop?.(m)) return;
    const k = `${from}/${kind}`;
    this.#sent.set(k, (this.#sent.get(k) ?? 0) + 1);
    this.#queue.push(m);
  }

  /** Queues every node's periodic gossip to every linked node. */
  gossipAll(): void {
    for (const n of this.#nodes.values()) {
      const data = n.gossiper?.gossip();
      if (!data) continue;
      for (const other of this.#nodes.keys()) {
        if (other === n.name) continue;
        for (const payload of data.encode()) this.#send("gossip", n.name, other, payload);
      }
    }
  }

  /** Number of queued messages. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Queued messages of `kind` from `from`. */
  pendingFrom(from: PeerName, kind: Message["kind"]): number {
    return this.#queue.filter((m) => m.from === from && m.kind === kind).length;
  }

  /** Messages of `kind` from `from` queued so far (delivered or not, dropped ones left out). */
  sentFrom(from: PeerName, kind: Message["kind"]): number {
    return this.#sent.get(`${from}/${kind}`) ?? 0;
  }

  /** Lets pending saves and sends finish without delivering anything. */
  async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) await flush();
  }

  /** Delivers until nothing is queued (letting async saves finish in between). */
  async deliverAll(opts: DeliverOptions = {}): Promise<void> {
    const random = opts.random ?? Math.random;
    for (let steps = 0; steps < 20_000; steps++) {
      // Let saves finish and their sends arrive; now and then even while busy.
      if (this.#queue.length === 0 || steps % 16 === 0) await flush();
      if (this.#queue.length === 0) return;
      const [m] = this.#queue.splice(Math.floor(random() * this.#queue.length), 1);
      if ((opts.duplicates ?? 0) > random()) this.#queue.push(m);
      this.#deliver(m);
    }
    throw new Error("Cannot deliver all messages: still busy after 20000 steps");
  }

  #deliver(m: Message): void {
    const node = this.#nodes.get(m.to);
    if (!node?.gossiper || !this.#linked(m.from, m.to)) return;
    this.delivered++;
    try {
      if (m.kind === "unicast") node.gossiper.onGossipUnicast(m.from, m.payload);
      else if (m.kind === "broadcast") node.gossiper.onGossipBroadcast(m.from, m.payload);
      else node.gossiper.onGossip(m.payload);
    } catch (e) {
      this.errors.push({ from: m.from, to: m.to, error: e as Error });
    }
  }
}
