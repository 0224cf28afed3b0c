/**
 * The mesh router, after weaveworks/mesh `router.go` and `local_peer.go`: owns
 * the peer table, the routes, the gossip channels, the live connections and
 * the connection maker; accepts and dials TCP connections; applies the rules
 * for adding a connection (self, name collision, tie-break, limit) and keeps
 * the topology gossip flowing.
 *
 * State has one owner (this object) and is changed synchronously; sockets
 * are the only async edges.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import type { TimerId } from "../lib/timer.ts";
import { formatPeerName, type PeerName } from "../lib/peer_name.ts";
import { decodeGossipBody } from "./gossip_envelope.ts";
import { GossipChannel, type GossipConnection, type GossipMesh } from "./gossip.ts";
import type { GossipData, Gossiper } from "./gossip_types.ts";
import {
  ConnectionMaker,
  ConnectToSelfError,
  type MakerPeer,
  parsePeerAddress,
} from "./connection_maker.ts";
import {
  type ConnectionHost,
  LocalConnection,
  type LocalConnectionOptions,
  randomUint64,
  type RemotePeerInfo,
} from "./connection.ts";
import type { Overlay } from "./overlay.ts";
import { Peers, randomShortID, type TopologyUpdateResult } from "./peers.ts";
import { Routes } from "./routes.ts";
import { buildFeatures } from "./features.ts";
import { TopologyGossipData, TopologyGossiper } from "./topology_gossip.ts";
import { ipInSubnets, parseCidr } from "../lib/cidr.ts";
import { SurrogateGossiper } from "./surrogate_gossiper.ts";
import { ProtocolTag } from "./messages.ts";
import { type DialedStream, dialFrom } from "./node_dial.ts";
import { AcceptPacer } from "./accept_pacer.ts";
import { rateLimitedLogger } from "../lib/log_limit.ts";

/** A TCP stream from Deno's accept/connect or from {@link dialFrom}. */
type Stream = Deno.TcpConn | DialedStream;

/** Periodic full gossip (mesh `defaultGossipInterval`). */
export const GOSSIP_INTERVAL_MS = 30_000;
/** Coalescing of our own topology updates. */
export const TOPOLOGY_DEFER_MS = 1_000;
/** A burst of our own changes is sent at least every 4 to 16 defer times (see {@link topologySendTime}). */
export const TOPOLOGY_MAX_DEFER_FACTOR = 16;
/** Routes are recomputed at most every `peers² / 10` ms, and at least every this many ms. */
export const ROUTES_MAX_INTERVAL_MS = 1_000;

/**
 * The least time between two route computations for a table of `peers`
 * peers (ms): a computation costs O(peers × connections), so the interval
 * grows with the square of the table, e.g. 10 ms for 10 peers, 250 ms for
 * 50, 1 s from 100 on.
 */
export function routesInterval(peers: number): number {
  return Math.min(ROUTES_MAX_INTERVAL_MS, (peers * peers) / 10);
}
/**
 * Most channels relayed for names we do not implement (Weave's are topology, IPallocation and
 * nameserver; a plugin may add a few).
 */
export const MAX_SURROGATE_CHANNELS = 16;
/** How often the addresses of known peers (never paced) are collected again, at most (ms). */
const KNOWN_ADDRESSES_MAX_AGE_MS = 1_000;

/** Options of {@link MeshRouter}. */
export interface MeshRouterOptions {
  name: PeerName;
  nickName: string;
  /** Our UID (random by default; new at every start). */
  uid?: bigint;
  port: number;
  /** Listen address; default all. */
  host?: string;
  /**
   * An open listener to accept on instead of listening on `host:port` (its
   * port must be `port`): lets tests hand over a port they already hold, so
   * that nothing else can take it between choosing and listening.
   */
  listener?: Deno.TcpListener;
  password?: Uint8Array;
  trustedSubnets?: string[];
  /** 0 = unlimited. */
  connLimit: number;
  discovery: boolean;
  overlay: Overlay;
  log: Logger;
  gossipIntervalMs?: number;
  topologyDeferMs?: number;
  random?: () => number;
  /** Overrides of connection timings (tests). */
  connectionTimings?: Pick<
    LocalConnectionOptions,
    "heartbeatMs" | "readTimeoutMs" | "handshakeTimeoutMs"
  >;
}

/** The local peer's mesh: connections, topology and gossip. */
export class MeshRouter implements ConnectionHost, GossipMesh {
  readonly ourName: PeerName;
  readonly ourNickName: string;
  readonly ourUID: bigint;
  readonly port: number;
  readonly log: Logger;
  readonly overlay: Overlay;
  readonly password?: Uint8Array;
  readonly peers: Peers;
  readonly routes: Routes;
  readonly connectionMaker: ConnectionMaker;
  readonly discovery: boolean;
  readonly trustedSubnets: string[];
  /** Connections that ended after being added (Weave's `TerminationCount`). */
  terminationCount = 0;
  /** Bytes sent and received by connections that have ended (live ones count their own). */
  #closedBytesSent = 0;
  #closedBytesReceived = 0;

  #opts: MeshRouterOptions;
  #trusted: ReturnType<typeof parseCidr>[];
  #connections = new Map<PeerName, LocalConnection>();
  #live = new Set<LocalConnection>();
  #channels = new Map<string, GossipChannel>();
  #topology: GossipChannel;
  #topologyGossiper: TopologyGossiper;
  #listener?: Deno.Listener;
  #gossipTimer?: TimerId;
  #topologyTimer?: TimerId;
  #topologyFirstChange = 0;
  #topologyLastChange = 0;
  #gcTimer?: TimerId;
  #routesTimer?: TimerId;
  /** When the routes were last recomputed (ms since the epoch). */
  #routesAt = 0;
  #stopped = false;
  readonly #pacer: AcceptPacer<Deno.TcpConn>;
  /** Lines a stranger causes per connection or message (accepts, refusals, unknown channels). */
  readonly #floodLog: Logger;
  #knownAddresses = new Set<string>();
  #knownAddressesAt = -Infinity;
  /** Channels created by {@link #channelFor} for names we do not implement. */
  #surrogates = 0;
  #random: () => number;
  #fresh = new WeakMap<LocalConnection, "new" | "restarted">();
  /** Fresh connections that get our whole topology (see {@link registerRemote}). */
  #topologyDown = new WeakSet<LocalConnection>();
  #onPeerGone: ((name: PeerName) => void)[] = [];
  /** Peers whose connection to us was added or established since our entry last went out. */
  #unsentConnections = new Set<PeerName>();
  /** Our version last added to a relay to each neighbour since our entry last went out. */
  #ownRelayedTo = new Map<PeerName, bigint>();

  constructor(opts: MeshRouterOptions) {
    this.#opts = opts;
    this.ourName = opts.name;
    this.ourNickName = opts.nickName;
    this.ourUID = opts.uid ?? randomUint64();
    this.port = opts.port;
    this.log = opts.log;
    this.overlay = opts.overlay;
    this.password = opts.password;
    this.discovery = opts.discovery;
    this.trustedSubnets = opts.trustedSubnets ?? [];
    this.#trusted = this.trustedSubnets.map(parseCidr);
    this.#random = opts.random ?? Math.random;
    this.peers = new Peers({
      name: opts.name,
      nickName: opts.nickName,
      uid: this.ourUID,
      version: 0n,
      shortID: randomShortID(this.#random),
      hasShortID: true,
    }, {
      random: this.#random,
      // Short IDs moved: the overlay (fastdp's VNIs) must follow (Weave's InvalidateShortIDs).
      onShortIDsInvalidated: () =>
        (this.overlay as { invalidateRoutes?: () => void }).invalidateRoutes?.(),
    });
    this.routes = new Routes(this.peers);
    this.#topologyGossiper = new TopologyGossiper(this.peers, {
      onChange: (r) => this.#onTopologyChange(r),
    });
    this.#topology = this.newGossip("topology", this.#topologyGossiper);
    this.#topology.beforeRelay = (neighbour, data) => this.#ownEntryBeforeRelay(neighbour, data);
    this.connectionMaker = new ConnectionMaker({
      ourName: opts.name,
      port: opts.port,
      discovery: opts.discovery,
      peers: () => this.#makerPeers(),
      dial: (address, acceptNewPeer) => this.#dial(address, acceptNewPeer),
      random: this.#random,
    });
    this.#floodLog = rateLimitedLogger(opts.log);
    this.#pacer = new AcceptPacer<Deno.TcpConn>({
      isKnown: (ip) => this.#isKnownAddress(ip),
      start: (conn) => this.#startConnection(conn, false, true),
      refuse: (conn, reason) => {
        this.#floodLog.info(`->[${addrString(conn.remoteAddr)}] connection refused: ${reason}`);
        closeQuietly(conn);
      },
    });
  }

  /** Registers a gossip channel (IPAM, DNS, ...). */
  newGossip(name: string, gossiper: Gossiper): GossipChannel {
    const channel = new GossipChannel(name, gossiper, this);
    this.#channels.set(name, channel);
    return channel;
  }

  /** Calls `fn` with the name of every peer removed from the topology. */
  onPeerGone(fn: (name: PeerName) => void): void {
    this.#onPeerGone.push(fn);
  }

  /** Starts listening and gossiping. */
  start(): void {
    const given = this.#opts.listener;
    if (given && given.addr.port !== this.port) {
      throw new RangeError(
        `Cannot start the mesh router: listener port is ${given.addr.port}, expected ${this.port}`,
      );
    }
    this.#listener = given ??
      Deno.listen({ hostname: this.#opts.host ?? "0.0.0.0", port: this.port });
    this.#acceptLoop(this.#listener);
    // Every interval, but the first after a random 1/2 to 3/2 of it: routers started
    // together (a whole cluster booting) do not all send their full state at once.
    const interval = this.#opts.gossipIntervalMs ?? GOSSIP_INTERVAL_MS;
    this.#gossipTimer = setTimeout(() => {
      this.#gossipTimer = setInterval(() => this.#periodicGossip(), interval);
      this.#periodicGossip();
    }, interval / 2 + Math.floor(this.#random() * interval));
  }

  /** The local TCP address we listen on. */
  get listenAddr(): Deno.NetAddr | undefined {
    return this.#listener?.addr as Deno.NetAddr | undefined;
  }

  /** Stops everything: listener, dialling, connections, timers. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.connectionMaker.stop();
    try {
      this.#listener?.close();
    } catch { /* closed */ }
    clearTimeout(this.#gossipTimer);
    clearInterval(this.#gossipTimer);
    clearTimeout(this.#topologyTimer);
    clearTimeout(this.#gcTimer);
    clearTimeout(this.#routesTimer);
    for (const conn of this.#pacer.stop()) closeQuietly(conn);
    for (const c of [...this.#connections.values(), ...this.#live]) c.shutdown();
  }

  /** Inbound connections waiting for their address's accept token. */
  get acceptsWaiting(): number {
    return this.#pacer.waiting;
  }

  /** Total mesh TCP traffic since start, in bytes (after the intro). */
  trafficStats(): { sent: number; received: number } {
    let sent = this.#closedBytesSent, received = this.#closedBytesReceived;
    for (const c of this.#live) {
      sent += c.bytesSent;
      received += c.bytesReceived;
    }
    return { sent, received };
  }

  /** Live connections that were added (pending or established). */
  connections(): LocalConnection[] {
    return [...this.#connections.values()];
  }

  // --- ConnectionHost ---

  localFeatures(remoteIP: string, connID: bigint): Record<string, string> {
    const f = buildFeatures({
      name: this.ourName,
      nickName: this.ourNickName,
      shortID: this.peers.ourself.shortID,
      uid: this.ourUID,
      connID,
      trusted: this.trusts(remoteIP),
    });
    this.overlay.addFeaturesTo(f);
    return f;
  }

  trusts(remoteIP: string): boolean {
    return ipInSubnets(remoteIP, this.#trusted);
  }

  registerRemote(conn: LocalConnection, remote: RemotePeerInfo): void {
    if (remote.name === this.ourName) {
      if (remote.uid === this.ourUID) throw new ConnectToSelfError();
      throw new Error(
        `local "${this.#ourDisplay()}" and remote "${conn.remoteDisplay}" peer names collision`,
      );
    }
    const existing = this.peers.get(remote.name);
    if (!existing && conn.outbound && !conn.acceptNewPeer) {
      throw new Error(
        `Found unknown remote name: ${formatPeerName(remote.name)} at ${conn.remoteTCPAddr}`,
      );
    }
    if (!existing) this.#fresh.set(conn, "new");
    else if (existing.uid !== remote.uid) this.#fresh.set(conn, "restarted");
    // A peer we know only from others' connection lists (UID 0) counts as restarted, as
    // in Go, but it is connected to them and learns the topology from them: it is not
    // sent our whole table (O(N²) bytes, for each such connection of a forming mesh).
    if (!existing || (existing.uid !== remote.uid && existing.uid !== 0n)) {
      this.#topologyDown.add(conn);
    }
    this.peers.addRef({
      name: remote.name,
      nickName: remote.nickName,
      uid: remote.uid,
      version: 0n,
      shortID: remote.shortID ?? 0,
      hasShortID: remote.shortID !== undefined,
    });
    conn.refTaken = true;
  }

  addConnection(conn: LocalConnection): void {
    const name = conn.remote!.name;
    const dup = this.#connections.get(name);
    if (dup) {
      const msg = `Multiple connections to ${conn.remoteDisplay} added to ${this.#ourDisplay()}`;
      if (dup.connUID < conn.connUID) throw new Error(msg);
      dup.shutdown(new Error(msg));
      if (dup.connUID === conn.connUID) throw new Error(msg);
      this.#removeConnection(dup);
    }
    const limit = this.#opts.connLimit;
    if (limit > 0 && this.#connections.size >= limit) {
      throw new Error(`Connection limit reached (${limit})`);
    }
    this.#connections.set(name, conn);
    this.peers.addLocalConnection({
      name,
      remoteTCPAddr: conn.remoteTCPAddr,
      outbound: conn.outbound,
      established: conn.established,
    });
    this.connectionMaker.connectionCreated(conn);
    this.#unsentConnections.add(name);
    const fresh = this.#fresh.get(conn);
    conn.logAdded(fresh ?? "known");
    if (fresh) this.#sendAllGossipDown(conn);
    this.#scheduleRoutes();
    this.#scheduleTopologyUpdate();
  }

  connectionEstablished(conn: LocalConnection): void {
    if (this.#connections.get(conn.remote!.name) !== conn) return;
    this.peers.establishLocalConnection(conn.remote!.name);
    this.#unsentConnections.add(conn.remote!.name);
    this.#scheduleRoutes();
    this.#scheduleTopologyUpdate();
  }

  handleGossip(conn: LocalConnection, tag: number, body: Uint8Array): void {
    if (tag === ProtocolTag.Gossip) {
      const msg = decodeGossipBody(4, body);
      this.#channelFor(msg.channel, conn)?.deliverGossip(msg.sender, msg.payload);
    } else if (tag === ProtocolTag.GossipBroadcast) {
      const msg = decodeGossipBody(6, body);
      this.#channelFor(msg.channel, conn)?.deliverBroadcast(msg.origin, msg.payload);
    } else {
      const msg = decodeGossipBody(5, body);
      this.#channelFor(msg.channel, conn)?.deliverUnicast(msg, body);
    }
  }

  /**
   * The channel `name`; for a name we do not implement, a surrogate that relays it (as Go),
   * but at most {@link MAX_SURROGATE_CHANNELS} of them: channels are never removed, and a
   * peer could otherwise make up a new one with every message.
   */
  #channelFor(name: string, from: LocalConnection): GossipChannel | undefined {
    const channel = this.#channels.get(name);
    if (channel) return channel;
    if (this.#surrogates >= MAX_SURROGATE_CHANNELS) {
      this.#floodLog.warn(
        `${from.remoteDisplay}: dropping gossip on unknown channel ${JSON.stringify(name)}: ` +
          `already relaying ${MAX_SURROGATE_CHANNELS} channels we do not implement`,
      );
      return undefined;
    }
    this.#surrogates++;
    return this.newGossip(name, new SurrogateGossiper());
  }

  /** Gossip channels, surrogates included (for tests: they must not grow without bound). */
  get channelCount(): number {
    return this.#channels.size;
  }

  connectionClosed(conn: LocalConnection, error: Error | undefined): void {
    this.#live.delete(conn);
    this.#closedBytesSent += conn.bytesSent;
    this.#closedBytesReceived += conn.bytesReceived;
    for (const ch of this.#channels.values()) ch.dropConnection(conn);
    const wasAdded = conn.remote && this.#connections.get(conn.remote.name) === conn;
    if (wasAdded) this.#removeConnection(conn);
    if (conn.refTaken) this.peers.release(conn.remote!.name);
    this.connectionMaker.connectionTerminated(conn, error);
    if (wasAdded || conn.added) this.#scheduleGC();
  }

  #removeConnection(conn: LocalConnection): void {
    const name = conn.remote!.name;
    if (this.#connections.get(name) !== conn) return;
    this.#connections.delete(name);
    this.peers.deleteLocalConnection(name);
    this.terminationCount++;
    conn.logDeleted();
    this.#scheduleRoutes();
    this.#scheduleTopologyUpdate();
  }

  // --- GossipMesh ---

  connectionTo(name: PeerName): GossipConnection | undefined {
    return this.#connections.get(name);
  }

  unicastAllNextHop(dst: PeerName): PeerName | undefined {
    return this.routes.unicastAll(dst);
  }

  broadcastAllNextHops(origin: PeerName): PeerName[] {
    return this.routes.broadcastAll(origin);
  }

  randomNeighbours(except: PeerName): PeerName[] {
    return this.routes.randomNeighbours(except, this.#random);
  }

  // --- internals ---

  #ourDisplay(): string {
    return `${formatPeerName(this.ourName)}(${this.ourNickName})`;
  }

  *#makerPeers(): Iterable<MakerPeer> {
    for (const p of this.peers.all()) {
      yield { name: p.name, connections: p.connections.values(), version: p.version, uid: p.uid };
    }
  }

  #sendAllGossipDown(conn: LocalConnection): void {
    for (const channel of this.#channels.values()) {
      if (channel === this.#topology && !this.#topologyDown.has(conn)) continue;
      const data = channel.gossiper.gossip();
      if (data) channel.sendDown(conn, data);
    }
  }

  /**
   * Every channel's full state to a random subset of neighbours (Go's periodic
   * gossip), except topology: ours goes to one random neighbour. Every change
   * of an entry is broadcast by its owner to all its neighbours, so this is
   * only the safety net; sent to ⌊log2 N⌋ neighbours it costs each peer
   * O(N²) bytes to decode per neighbour every 30 s.
   */
  #periodicGossip(): void {
    for (const channel of this.#channels.values()) {
      const data = channel.gossiper.gossip();
      if (!data) continue;
      if (channel !== this.#topology) channel.gossipNeighbourSubset(data);
      else {
        const conns = [...this.#connections.values()];
        const pick = conns[Math.min(conns.length - 1, Math.floor(this.#random() * conns.length))];
        if (pick) channel.sendDown(pick, data);
      }
    }
  }

  /** Broadcasts our own entry when {@link topologySendTime} says, to every neighbour. */
  #scheduleTopologyUpdate(): void {
    if (this.#stopped) return;
    const now = Date.now();
    this.#topologyLastChange = now;
    if (this.#topologyTimer !== undefined) return;
    this.#topologyFirstChange = now;
    this.#topologyTimer = setTimeout(() => this.#topologyUpdateDue(), this.#topologyDeferMs);
  }

  #topologyUpdateDue(): void {
    this.#topologyTimer = undefined;
    const sendBy = topologySendTime(
      this.#topologyFirstChange,
      this.#topologyLastChange,
      this.#topologyDeferMs,
      this.#connections.size,
    );
    const wait = sendBy - Date.now();
    if (wait > 0) {
      this.#topologyTimer = setTimeout(() => this.#topologyUpdateDue(), wait);
      return;
    }
    // Go gossips our own changes (tag 4) to ⌊log2 N⌋ random neighbours, and every
    // receiver that learns something gossips it on to as many: each peer receives
    // each change about log2 N times, and decodes it whole each time. We broadcast
    // them instead (tag 6, which Go accepts and relays for topology too) to every
    // direct neighbour, and receivers relay along the broadcast tree: each peer gets
    // each change once, and in a full mesh nobody relays at all.
    const data = this.#topologyGossiper.dataFor([this.ourName]);
    for (const conn of this.#connections.values()) this.#topology.broadcastDown(conn, data);
    this.#unsentConnections.clear();
    this.#ownRelayedTo.clear();
  }

  /**
   * Sends `neighbour` our own entry (a broadcast from us, which goes out
   * ahead of what we relay) when the topology we are about to relay to it
   * names a peer whose connection to us is news (our entry waits for
   * {@link topologySendTime}) and that `neighbour` is not connected to. With
   * it, `neighbour` reaches that peer through us at once; without it, Go
   * neighbours (and ours) garbage-collect the peer's entry, and keep only a
   * placeholder, without a route, until periodic gossip. Once per version of
   * our entry and neighbour; as a broadcast, receivers pass it on only along
   * our broadcast tree (in a full mesh: nowhere), not as news to their own
   * neighbours.
   */
  #ownEntryBeforeRelay(neighbour: PeerName, data: GossipData): void {
    if (this.#unsentConnections.size === 0 || !(data instanceof TopologyGossipData)) return;
    const version = this.peers.ourself.version;
    if (this.#ownRelayedTo.get(neighbour) === version) return;
    const linked = (a: PeerName, b: PeerName) =>
      this.peers.get(a)?.connections.has(b) === true ||
      this.peers.get(b)?.connections.has(a) === true;
    const news = [...data.names].some((n) =>
      this.#unsentConnections.has(n) && !linked(n, neighbour)
    );
    const conn = this.#connections.get(neighbour);
    if (!news || !conn) return;
    this.#ownRelayedTo.set(neighbour, version);
    this.#topology.broadcastDown(conn, this.#topologyGossiper.dataFor([this.ourName]));
  }

  get #topologyDeferMs(): number {
    return this.#opts.topologyDeferMs ?? TOPOLOGY_DEFER_MS;
  }

  /**
   * Recomputes the routes once the current burst of changes is over, at most
   * once per {@link routesInterval} (Go's `Routes.Recalculate` also
   * coalesces requests while one runs): each is O(peers × connections), and
   * a busy router applies hundreds of updates a second. Until then lookups
   * see the previous tables, as in Go.
   */
  #scheduleRoutes(): void {
    if (this.#routesTimer !== undefined || this.#stopped) return;
    const wait = Math.max(0, this.#routesAt + routesInterval(this.peers.size) - Date.now());
    this.#routesTimer = setTimeout(() => {
      this.#routesTimer = undefined;
      this.#routesAt = Date.now();
      this.routes.recalculate();
    }, wait);
  }

  #scheduleGC(): void {
    if (this.#gcTimer !== undefined || this.#stopped) return;
    this.#gcTimer = setTimeout(() => {
      this.#gcTimer = undefined;
      const removed = this.peers.garbageCollect();
      this.#afterRemoval(removed);
      if (this.peers.checkShortIDCollision()) this.#scheduleTopologyUpdate();
      this.#scheduleRoutes();
    }, 1_000);
  }

  #afterRemoval(removed: PeerName[]): void {
    this.#topologyGossiper.forgetPeers(removed);
    for (const name of removed) {
      this.log.info(`Removed unreachable peer ${formatPeerName(name)}`);
      for (const fn of this.#onPeerGone) fn(name);
    }
  }

  #onTopologyChange(r: TopologyUpdateResult): void {
    this.#scheduleRoutes();
    this.#afterRemoval(r.removed);
    if (r.ourselfChanged) this.#scheduleTopologyUpdate();
    this.connectionMaker.requestRefresh();
    this.#scheduleGC();
  }

  /**
   * Accepts connections as they come and hands them to the pacer (accept_pacer.ts), which
   * starts them now or when their address earns a token. Transient accept errors (e.g. out of
   * file descriptors) are logged and retried; only closing the listener ends the loop.
   */
  async #acceptLoop(listener: Deno.Listener): Promise<void> {
    while (!this.#stopped) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept() as Deno.TcpConn;
      } catch (e) {
        if (this.#stopped || e instanceof Deno.errors.BadResource) return;
        this.log.error(`Cannot accept a connection: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      this.#floodLog.info(`->[${addrString(conn.remoteAddr)}] connection accepted`);
      this.#pacer.admit((conn.remoteAddr as Deno.NetAddr).hostname, conn);
    }
  }

  /**
   * Whether `ip` is the address of a peer we know: one we have an established connection to,
   * one another peer lists a connection to, or a direct target. Collected at most once a
   * second. (Without a password anyone can become such a peer; this only keeps real peers
   * from queueing behind a stranger's flood.)
   */
  #isKnownAddress(ip: string): boolean {
    const now = Date.now();
    if (now - this.#knownAddressesAt >= KNOWN_ADDRESSES_MAX_AGE_MS) {
      this.#knownAddressesAt = now;
      const known = new Set<string>();
      for (const c of this.#connections.values()) {
        if (c.established) known.add(hostOf(c.remoteTCPAddr));
      }
      for (const p of this.peers.all()) {
        if (p.name === this.ourName) continue;
        for (const c of p.connections.values()) known.add(hostOf(c.remoteTCPAddr));
      }
      for (const peer of this.connectionMaker.directPeers()) {
        try {
          known.add(parsePeerAddress(peer).host.replace(/^\[(.*)\]$/, "$1"));
        } catch { /* not an address */ }
      }
      this.#knownAddresses = known;
    }
    return this.#knownAddresses.has(ip);
  }

  #dial(address: string, acceptNewPeer: boolean): void {
    const limit = this.#opts.connLimit;
    if (limit > 0 && this.#connections.size >= limit) {
      // As Go's createConnection: at the limit, fail the attempt without dialling.
      queueMicrotask(() =>
        this.connectionMaker.connectionAborted(
          address,
          new Error(`Connection limit reached (${limit})`),
        )
      );
      return;
    }
    this.log.info(`->[${address}] attempting connection`);
    const { host, port } = parsePeerAddress(address);
    const bind = this.#opts.host;
    const dialing: Promise<Stream> = bind && bind !== "0.0.0.0" && bind !== "::"
      ? dialFrom(host, port, bind) // as Go: outbound connections come from --host
      : Deno.connect({ hostname: host, port });
    dialing.then(
      (conn) => {
        if (this.#stopped) return conn.close();
        this.#startConnection(conn, true, acceptNewPeer, address);
      },
      (e) => {
        const err = new Error(goDialError(address, e as Error));
        this.log.info(`->[${address}] error during connection attempt: ${err.message}`);
        this.connectionMaker.connectionAborted(address, err);
      },
    );
  }

  #startConnection(
    stream: Stream,
    outbound: boolean,
    acceptNewPeer: boolean,
    targetAddress?: string,
  ): void {
    const remote = stream.remoteAddr as Deno.NetAddr;
    const local = stream.localAddr as Deno.NetAddr;
    if ("setNoDelay" in stream) {
      try {
        stream.setNoDelay(true);
      } catch { /* not TCP */ }
    }
    const conn = new LocalConnection(this, stream, {
      outbound,
      acceptNewPeer,
      remoteAddr: { hostname: remote.hostname, port: remote.port },
      localAddr: { hostname: local.hostname, port: local.port },
      targetAddress,
      ...this.#opts.connectionTimings,
    });
    this.#live.add(conn);
    conn.run();
  }
}

/**
 * When to send our own entry, changed first at `firstChange` and last at
 * `lastChange` (ms): once changes pause for `deferMs`, but no later than a
 * few `deferMs` after the first change still unsent — 4 of them, or one for
 * every 8 connections when that is more, up to 16, since each update goes
 * to every neighbour and each neighbour decodes all of it (O(connections²)
 * work across the mesh per update). A router making connections one after
 * another so sends an update every few seconds instead of every second, and
 * its last change still goes out `deferMs` after it.
 *
 * @example
 * ```ts
 * import { topologySendTime } from "./router.ts";
 * topologySendTime(0, 500, 1_000, 3); // 1500: the changes paused
 * topologySendTime(0, 3_900, 1_000, 3); // 4000: a burst, sent after 4 s anyway
 * topologySendTime(0, 9_000, 1_000, 99); // 10000: 99 neighbours, 12 s at most
 * ```
 */
export function topologySendTime(
  firstChange: number,
  lastChange: number,
  deferMs: number,
  connections: number,
): number {
  const factor = Math.min(TOPOLOGY_MAX_DEFER_FACTOR, Math.max(4, Math.ceil(connections / 8)));
  return Math.min(lastChange + deferMs, firstChange + deferMs * factor);
}

/** Go's dial error text, e.g. `dial tcp :0->192.0.2.131:6783: connect: network is unreachable`. */
export function goDialError(address: string, e: Error): string {
  const detail = e.message.replace(/\s*\(os error \d+\)\s*$/, "").replace(
    /^./,
    (c) => c.toLowerCase(),
  );
  return `dial tcp :0->${address}: connect: ${detail}`;
}

/** The host part of `host:port` (`[v6]:port` gives the bare v6 address). */
function hostOf(address: string): string {
  const i = address.lastIndexOf(":");
  const host = i < 0 ? address : address.slice(0, i);
  return host.startsWith("[") ? host.slice(1, -1) : host;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* closed */ }
}

function addrString(a: Deno.Addr): string {
  const n = a as Deno.NetAddr;
  return `${n.hostname}:${n.port}`;
}
