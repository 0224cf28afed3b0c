/**
 * The sleeve overlay (spec §4): one UDP socket on the mesh port number, and per TCP connection
 * a {@link SleeveForwarder} (forwarder.ts) that proves the path, measures it and carries frames.
 *
 * The socket is sys/udp.ts (FFI): non-DF by default, DF chosen per send, EMSGSIZE and
 * `IP_MTU` visible, and reading into one reused buffer. Data datagrams leave in trains
 * (train.ts: runs of equal datagrams to one peer in one segmented send, flushed in a
 * microtask after the burst that made them); heartbeats and probes leave at once, after the
 * train. The socket asks the kernel to coalesce what it receives (`UDP_GRO`). Datagrams are dispatched by their
 * 6-byte sender name (as a number, no bigint per datagram) to the confirmed forwarder of that
 * peer; others are counted and dropped. The overlay owns the buffers every forwarder shares —
 * sending, sealing and opening happen synchronously on the one JS thread, so one of each is
 * enough.
 *
 * Frames are delivered to the {@link FrameConsumer} set with {@link SleeveOverlay.setConsumer}
 * (the network router); whether their src/dst peers are known is the consumer's check.
 *
 * @module
 */
import { type Clock, realClock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/log.ts";
import { rateLimitedLogger } from "../../lib/log_limit.ts";
import { formatPeerName, type PeerName } from "../../lib/peer_name.ts";
import type { OverlayConnection, OverlayConnectionParams } from "../../mesh/overlay.ts";
import { UdpAddr, UdpSocket } from "../../sys/udp.ts";
import { DatagramTrain, type SendFailed, type TrainStats } from "./train.ts";
import type { ForwardKey, FrameConsumer, NetworkOverlay, OverlayForwarder } from "../datapath.ts";
import {
  type ForwarderHost,
  SLEEVE_TIMING,
  type SleeveDrop,
  SleeveForwarder,
  type SleeveTiming,
} from "./forwarder.ts";
import { NAME_SIZE, peerNameBytes, PeerNameCache, peerNameKey } from "./packet.ts";

export {
  SLEEVE_TIMING,
  SleeveControlTag,
  type SleeveDrop,
  type SleeveTiming,
} from "./forwarder.ts";

/** Big enough for any UDP payload plus the encryption header. */
const BUFFER_SIZE = 65536 + 64;
/**
 * Kernel buffers of the socket the overlay opens: the default (~208 KiB) holds about 90
 * full-size datagrams, which a router that is off the CPU for a few milliseconds overflows at
 * a few hundred Mbit/s, and each datagram lost there is a TCP retransmit in a container.
 */
export const SOCKET_BUFFER_BYTES = 4 << 20;

/** Options of {@link SleeveOverlay}. */
export interface SleeveOverlayOptions {
  localPeer: PeerName;
  /** UDP port: the same number as the mesh TCP port. */
  port: number;
  /** Bind address; default `0.0.0.0`. */
  host?: string;
  log: Logger;
  /**
   * An already bound socket to use instead of opening one in {@link SleeveOverlay.start}
   * (e.g. opened inside another network namespace); the overlay closes it on stop.
   */
  socket?: UdpSocket;
  /** Receive and send buffer asked for the socket opened by start(); {@link SOCKET_BUFFER_BYTES}. */
  socketBufferBytes?: number;
  clock?: Clock;
  timing?: Partial<SleeveTiming>;
}

/** What {@link SleeveOverlay.diagnostics} returns. */
export type SleeveDiagnostics = {
  port: number;
  /** Forwarders prepared and not stopped. */
  forwarders: number;
  /** Forwarders confirmed, i.e. accepting datagrams. */
  confirmed: number;
  established: number;
  /** Forwarders whose fragmentation test the remote acknowledged. */
  stackFrag: number;
  datagramsReceived: number;
  datagramsSent: number;
  framesSent: number;
  /** Receive system calls (fewer than datagrams when the kernel coalesces). */
  receiveCalls: number;
  /** Data datagrams sent in trains, the system calls that carried them, trains refused. */
  trains: TrainStats;
  /** The TAP capture's counters, when one reports here ({@link SleeveOverlay.reportCapture}). */
  capture?: Record<string, number>;
  dropped: Record<SleeveDrop, number>;
};

/**
 * The sleeve overlay: owns the UDP socket and routes datagrams to the forwarder of their
 * sender.
 *
 * @example
 * ```ts ignore
 * import { SleeveOverlay } from "./sleeve.ts";
 * import { discardLogger } from "../../lib/log.ts";
 * const sleeve = new SleeveOverlay({ localPeer: 1n, port: 6783, log: discardLogger });
 * await sleeve.start();
 * sleeve.setConsumer(networkRouter);
 * // ... pass to the mesh router (usually under an OverlaySwitch) ...
 * await sleeve.stop();
 * ```
 */
export class SleeveOverlay implements NetworkOverlay {
  readonly #opts: SleeveOverlayOptions;
  readonly #host: ForwarderHost;
  readonly #log: Logger;
  #socket: UdpSocket | null = null;
  #train: DatagramTrain | null = null;
  #trainFlushScheduled = false;
  readonly #flushTrain = () => {
    this.#trainFlushScheduled = false;
    this.#train?.flush();
  };
  #consumer: FrameConsumer | null = null;
  #captureStats: (() => object) | null = null;
  #stopped = false;
  readonly #prepared = new Set<SleeveForwarder>();
  /** Confirmed forwarders by the remote's name as a number. */
  readonly #confirmed = new Map<number, SleeveForwarder>();
  readonly #nameBytes = new Map<PeerName, Uint8Array>();
  readonly #stats = { datagramsReceived: 0, datagramsSent: 0, framesSent: 0 };
  readonly #dropped: Record<SleeveDrop, number> = {
    malformed: 0,
    unknownSender: 0,
    auth: 0,
    replay: 0,
    misaddressed: 0,
    foreignSource: 0,
    staleHeartbeat: 0,
    dataFrame: 0,
    tooBig: 0,
    noContact: 0,
    sendError: 0,
  };

  constructor(opts: SleeveOverlayOptions) {
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
      throw new RangeError(`Cannot create sleeve overlay: port ${opts.port} not in 1..65535`);
    }
    this.#opts = opts;
    const key: ForwardKey = { srcPeer: 0n, dstPeer: 0n };
    // Datagrams and frames cause lines (ICMP sent, too big, dropped): at a bounded rate.
    this.#log = rateLimitedLogger(opts.log);
    this.#host = {
      localPeer: opts.localPeer,
      localName: peerNameBytes(opts.localPeer),
      log: this.#log,
      clock: opts.clock ?? realClock,
      timing: { ...SLEEVE_TIMING, ...opts.timing },
      sendBuffer: new Uint8Array(BUFFER_SIZE),
      specialBuffer: new Uint8Array(BUFFER_SIZE),
      receiveBuffer: new Uint8Array(BUFFER_SIZE),
      key,
      names: new PeerNameCache(),
      nameBytes: (peer) => this.#peerBytes(peer),
      send: (buf, length, to, df) => this.#send(buf, length, to, df),
      queue: (buf, length, to, df, onFailed) => this.#queue(buf, length, to, df, onFailed),
      pathMtu: (to) => this.#socket!.pathMtu(to),
      makeAddr: (ip, port) => UdpAddr.fromNumbers(ip, port),
      consumer: () => this.#consumer,
      register: (fwd) => this.#confirmed.set(fwd.remoteKey, fwd),
      unregister: (fwd) => this.#unregister(fwd),
      count: (reason) => this.#dropped[reason]++,
      countSent: (frames) => this.#stats.framesSent += frames,
    };
  }

  /** Binds the UDP socket on `host:port` (unless one was given); rejects if the port is taken. */
  start(): Promise<void> {
    if (this.#socket) {
      return Promise.reject(new Error("Cannot start sleeve overlay: already started"));
    }
    const host = this.#opts.host ?? "0.0.0.0";
    try {
      const bytes = this.#opts.socketBufferBytes ?? SOCKET_BUFFER_BYTES;
      this.#socket = this.#opts.socket ?? UdpSocket.open({
        host,
        port: this.#opts.port,
        receiveBufferBytes: bytes,
        sendBufferBytes: bytes,
        coalesce: true,
      });
    } catch (e) {
      return Promise.reject(
        new Error(`Cannot bind sleeve UDP socket to ${host}:${this.#opts.port}`, { cause: e }),
      );
    }
    this.#train = new DatagramTrain(this.#socket);
    this.#socket.startReceiving((bytes, ip, port) => this.#receive(bytes, ip, port), {
      onError: (e) => this.#log.warn(`sleeve: dropping datagram: ${e}`),
    });
    return Promise.resolve();
  }

  /** Sleeve adds no features of its own; the overlay switch advertises `Overlays`. */
  addFeaturesTo(_features: Record<string, string>): void {}

  /** Where received data frames go. */
  setConsumer(consumer: FrameConsumer): void {
    this.#consumer = consumer;
  }

  /** The confirmed forwarder to `peer`, else the latest prepared one. */
  forwarderTo(peer: PeerName): OverlayForwarder | undefined {
    const confirmed = this.#confirmed.get(Number(peer));
    if (confirmed) return confirmed;
    let found: SleeveForwarder | undefined;
    for (const fwd of this.#prepared) if (fwd.remotePeer === peer) found = fwd;
    return found;
  }

  /** Sleeve caches nothing that depends on routes. */
  invalidateRoutes(): void {}

  /** Creates the forwarder for a new connection; it takes datagrams once confirmed. */
  prepareConnection(params: OverlayConnectionParams): OverlayConnection {
    if (this.#stopped || !this.#socket) {
      throw new Error(
        `Cannot prepare sleeve connection to ${
          formatPeerName(params.remotePeer)
        }: overlay not running`,
      );
    }
    const fwd = new SleeveForwarder(this.#host, params);
    this.#prepared.add(fwd);
    return fwd;
  }

  /** Makes {@link diagnostics} include the counters of the TAP capture feeding this overlay. */
  reportCapture(stats: () => object): void {
    this.#captureStats = stats;
  }

  /** Counters of the socket and the forwarders. */
  diagnostics(): SleeveDiagnostics {
    let established = 0;
    let stackFrag = 0;
    for (const fwd of this.#prepared) {
      if (fwd.established) established++;
      if (fwd.stackFrag) stackFrag++;
    }
    return {
      port: this.#socket?.port ?? this.#opts.port,
      forwarders: this.#prepared.size,
      confirmed: this.#confirmed.size,
      established,
      stackFrag,
      ...this.#stats,
      receiveCalls: this.#socket?.receiveCalls ?? 0,
      trains: this.#train?.stats() ?? { carried: 0, trains: 0, refused: 0 },
      ...(this.#captureStats ? { capture: { ...this.#captureStats() } } : {}),
      dropped: { ...this.#dropped },
    };
  }

  /** Stops every forwarder and closes the socket. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const fwd of [...this.#prepared]) fwd.stop();
    const socket = this.#socket;
    this.#socket = null;
    this.#train = null;
    await socket?.close();
  }

  #peerBytes(peer: PeerName): Uint8Array {
    let bytes = this.#nameBytes.get(peer);
    if (!bytes) {
      if (this.#nameBytes.size >= 4096) this.#nameBytes.clear();
      bytes = peerNameBytes(peer);
      this.#nameBytes.set(peer, bytes);
    }
    return bytes;
  }

  #unregister(fwd: SleeveForwarder): void {
    this.#prepared.delete(fwd);
    if (this.#confirmed.get(fwd.remoteKey) === fwd) this.#confirmed.delete(fwd.remoteKey);
  }

  /** Sends one datagram now, after any queued ones (so order holds). */
  #send(buf: Uint8Array, length: number, to: UdpAddr, df: boolean): number {
    const socket = this.#socket;
    if (!socket) return 0;
    this.#train?.flush();
    this.#stats.datagramsSent++;
    return socket.sendTo(buf as Uint8Array<ArrayBuffer>, length, to, df);
  }

  /** Queues a data datagram (copied) on the train; flushed after the current burst. */
  #queue(buf: Uint8Array, length: number, to: UdpAddr, df: boolean, onFailed: SendFailed): void {
    const train = this.#train;
    if (!train) return;
    this.#stats.datagramsSent++;
    if (train.add(buf, length, to, df, onFailed) && !this.#trainFlushScheduled) {
      this.#trainFlushScheduled = true;
      queueMicrotask(this.#flushTrain);
    }
  }

  /** Socket handler: never throws; every refused datagram is counted. */
  #receive(bytes: Uint8Array, fromIp: number, fromPort: number): void {
    this.#stats.datagramsReceived++;
    if (bytes.length < NAME_SIZE) {
      this.#dropped.malformed++;
      return;
    }
    const fwd = this.#confirmed.get(peerNameKey(bytes, 0));
    if (!fwd) {
      this.#dropped.unknownSender++;
      return;
    }
    fwd.receive(bytes, fromIp, fromPort);
  }
}
