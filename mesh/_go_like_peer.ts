/**
 * A test double of a Go Weave Net 2.8.1 router's mesh, as its peers see it on
 * the wire (weaveworks/mesh `router.go`, `local_peer.go`, `gossip_channel.go`,
 * `peers.go`): one TCP connection, the real intro and framing, and the
 * topology channel only. What it does as Go does:
 *
 * - on a new connection it sends its whole table down it (`sendAllGossipDown`),
 *   then its own entry with the new remote (`broadcastPeerUpdate`), as tag-4
 *   gossip to its neighbours (`GossipNeighbourSubset`), never as a broadcast;
 *   the same again when the connection is established;
 * - a received update is applied and garbage-collected at once (`applyUpdate`:
 *   a peer the update leaves unreachable is dropped then and there);
 * - it relays what it learns only to the neighbours its routes give, other
 *   than the sender (`RandomNeighbours`): with its one connection, nothing.
 *
 * No overlay: the connection counts as established once added (mesh's
 * `NullOverlay`). Used by the mesh router's tests to hold our router to what a
 * Go neighbour does, which our own routers (broadcasting their own entries to
 * every neighbour, garbage-collecting a second later) do not.
 *
 * @module
 */
import { formatPeerName, type PeerName } from "../lib/peer_name.ts";
import { decodeFeatures, encodeFeatures, parseFeatures } from "./features.ts";
import { decodeGossipBody, encodeGossipBody } from "./gossip_envelope.ts";
import { performHandshake } from "./handshake.ts";
import { decodeMessage, encodeMessage, ProtocolTag } from "./messages.ts";
import { Peers } from "./peers.ts";
import { decodeTopology, encodeTopology } from "./topology_codec/codec.ts";
import type { FrameReader, FrameWriter } from "./framing.ts";

/** Options of {@link GoLikePeer}. */
export interface GoLikePeerOptions {
  name: PeerName;
  nickName: string;
  uid: bigint;
  shortID: number;
}

/**
 * One Go-like mesh peer with at most one connection.
 *
 * @example
 * ```ts ignore
 * const go = new GoLikePeer({ name: 0x020000000003n, nickName: "go3", uid: 33n, shortID: 3 });
 * await go.dial("127.0.0.1:6783");
 * go.peers.get(0x020000000001n)?.uid; // what it learnt of peer 1
 * go.close();
 * ```
 */
export class GoLikePeer {
  /** Its topology table (garbage-collected on every update, as Go's). */
  readonly peers: Peers;
  /** Topology messages received: tag and the names they carried. */
  readonly received: { tag: number; names: PeerName[] }[] = [];
  readonly #opts: GoLikePeerOptions;
  #conn?: Deno.Conn;
  #writer?: FrameWriter;
  #remote?: PeerName;
  #closed = false;

  constructor(opts: GoLikePeerOptions) {
    this.#opts = opts;
    this.peers = new Peers({
      name: opts.name,
      nickName: opts.nickName,
      uid: opts.uid,
      version: 0n,
      shortID: opts.shortID,
      hasShortID: true,
    });
  }

  /** Dials `addr` (`host:port`) and runs the connection until {@link close}. */
  async dial(addr: string): Promise<void> {
    const [hostname, port] = addr.split(":");
    await this.#run(await Deno.connect({ hostname, port: Number(port) }), true);
  }

  /** Accepts one connection on `listener` and runs it until {@link close}. */
  async accept(listener: Deno.Listener): Promise<void> {
    await this.#run(await listener.accept(), false);
  }

  /** Whether the connection is up and its remote added to the table. */
  get connected(): boolean {
    return this.#remote !== undefined && !this.#closed;
  }

  /** Ends the connection. */
  close(): void {
    this.#closed = true;
    try {
      this.#conn?.close();
    } catch { /* closed */ }
  }

  async #run(conn: Deno.Conn, outbound: boolean): Promise<void> {
    this.#conn = conn;
    const o = this.#opts;
    const hs = await performHandshake(conn, {
      outbound,
      features: encodeFeatures({
        PeerNameFlavour: "mac",
        Name: formatPeerName(o.name),
        NickName: o.nickName,
        ShortID: String(o.shortID),
        UID: String(o.uid),
        ConnID: String(1000n + o.uid),
      }),
    });
    this.#writer = hs.writer;
    const remote = parseFeatures(decodeFeatures(hs.remoteFeatures));
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.peers.addRef({
      name: remote.name,
      nickName: remote.nickName,
      uid: remote.uid,
      version: 0n,
      shortID: remote.shortID ?? 0,
      hasShortID: remote.shortID !== undefined,
    });
    this.peers.addLocalConnection({
      name: remote.name,
      remoteTCPAddr: `${addr.hostname}:${addr.port}`,
      outbound,
      established: false,
    });
    this.#remote = remote.name;
    // handleAddConnection: the whole table down the new connection, then our news.
    this.#gossip(this.peers.names());
    this.#gossip([o.name, remote.name]);
    // handleConnectionEstablished (at once: no overlay), and our news again.
    this.peers.establishLocalConnection(remote.name);
    this.#gossip([o.name]);
    await this.#receive(conn, hs.reader);
  }

  #gossip(names: Iterable<PeerName>): void {
    const payload = encodeTopology(this.peers.encodeEntries(names));
    const body = encodeGossipBody({ channel: "topology", sender: this.#opts.name, payload });
    this.#write(encodeMessage(ProtocolTag.Gossip, body));
  }

  #write(message: Uint8Array): void {
    const frame = this.#writer!.frame(message);
    this.#conn!.write(frame).catch(() => this.close());
  }

  async #receive(conn: Deno.Conn, reader: FrameReader): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    while (!this.#closed) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      reader.push(buf.subarray(0, n));
      for (let frame = reader.next(); frame !== null; frame = reader.next()) this.#handle(frame);
    }
    this.#closed = true;
  }

  #handle(frame: Uint8Array): void {
    const msg = decodeMessage(frame);
    if (msg?.tag !== ProtocolTag.Gossip && msg?.tag !== ProtocolTag.GossipBroadcast) return;
    const body = decodeGossipBody(msg.tag === ProtocolTag.Gossip ? 4 : 6, msg.body);
    if (body.channel !== "topology") return;
    const entries = decodeTopology(body.payload);
    this.received.push({ tag: msg.tag, names: entries.map((e) => e.peer.name) });
    // Go's applyUpdate GCs in the same step; the delta would be relayed to
    // RandomNeighbours(sender), and the sender is our only neighbour.
    this.peers.applyUpdate(entries);
  }
}
