/**
 * The sleeve overlay's control path (spec §4): one UDP socket on the mesh
 * port number, and per TCP connection a forwarder that proves the UDP path
 * with heartbeats, reports it established, then measures fragmentation and
 * the path MTU.
 *
 * Per connection (§4.4): `confirm()` starts 500 ms heartbeats (sent at once
 * when the remote UDP address is known: the remote TCP address when we
 * dialled, otherwise learned from the first valid heartbeat) and a 60 s
 * heartbeat timeout. The first valid heartbeat from the remote is answered
 * over TCP with ConnectionEstablished; receiving ConnectionEstablished (the
 * remote heard us) makes the connection established, slows heartbeats to
 * 10 s and starts the fragmentation test (60001-byte frame, every 5 min) and
 * the MTU search. The remote's tests are answered with FragmentationReceived
 * and PMTUVerified, every time they arrive.
 *
 * Deviation from Weave: Go learns the path MTU from the kernel (EMSGSIZE and
 * `IP_MTU` on a raw DF socket, provoked by a 60000-byte probe). `node:dgram`
 * exposes neither, so the search starts from the configured underlay MTU
 * (default 1500) minus the DF overhead, i.e. 1438 unencrypted and 1414
 * encrypted, and only the acknowledged MTU tests steer it; the probe is not
 * sent, so our DF sequence numbers have no gap.
 *
 * Data frames are decoded and counted but not delivered yet: the data plane
 * plugs in at {@link SleeveOverlay} `#receive`.
 *
 * @module
 */
import dgram from "node:dgram";
import type { Logger } from "../../lib/log.ts";
import { formatPeerName, type PeerName } from "../../lib/peer_name.ts";
import type {
  HostPort,
  Overlay,
  OverlayConnection,
  OverlayConnectionParams,
} from "../../mesh/overlay.ts";
import { SleeveCipher } from "./crypto.ts";
import {
  classifySpecial,
  decodeDatagramSender,
  decodeFrames,
  encodeFrames,
  ENCRYPTED_HEADER_SIZE,
  ETHERNET_HEADER_SIZE,
  fragTestFrame,
  FRAME_HEADER_SIZE,
  heartbeatFrame,
  isAllZero,
  mtuTestFrame,
  NAME_SIZE,
  SECRETBOX_OVERHEAD,
} from "./packet.ts";

/** TCP control tags of the sleeve (sub-tags under the overlay switch). */
export const SleeveControlTag = {
  ConnectionEstablished: 1,
  FragmentationReceived: 2,
  PMTUVerified: 3,
} as const;

/** Spec timings (§0); tests shorten them. */
export interface SleeveTiming {
  /** Heartbeat interval until the remote acknowledged ours (500 ms). */
  fastHeartbeatMs: number;
  /** Heartbeat interval once established (10 s). */
  slowHeartbeatMs: number;
  /** Silence after which the forwarder fails (60 s). */
  heartbeatTimeoutMs: number;
  /** Repeat period of the fragmentation test (5 min). */
  fragTestIntervalMs: number;
  /** First MTU test wait, doubled on every retry (10 ms). */
  mtuVerifyTimeoutMs: number;
  /** MTU tests per candidate before it counts as too big (8). */
  mtuVerifyAttempts: number;
}

/** Weave's values for {@link SleeveTiming}. */
export const SLEEVE_TIMING: Readonly<SleeveTiming> = {
  fastHeartbeatMs: 500,
  slowHeartbeatMs: 10_000,
  heartbeatTimeoutMs: 60_000,
  fragTestIntervalMs: 5 * 60_000,
  mtuVerifyTimeoutMs: 10,
  mtuVerifyAttempts: 8,
};

/** IPv4 + UDP headers. */
const UDP_IP_OVERHEAD = 28;
/** The MTU search never goes below this (`highestGood` starts here). */
const MIN_MTU = 552;
/** The underlay MTU assumed when none is configured. */
const DEFAULT_UNDERLAY_MTU = 1500;

/** Timer functions, injectable for tests. */
export interface SleeveClock {
  /** Returns an opaque id for {@link SleeveClock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Ignores `undefined` and ids already fired or cleared. */
  clearTimeout(id: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(id: unknown): void;
}

type TimerId = ReturnType<typeof setTimeout>;
const realClock: SleeveClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as TimerId),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (id) => clearInterval(id as TimerId),
};

/** Options of {@link SleeveOverlay}. */
export interface SleeveOverlayOptions {
  localPeer: PeerName;
  /** UDP port: the same number as the mesh TCP port. */
  port: number;
  /** Bind address; default `0.0.0.0`. */
  host?: string;
  log: Logger;
  /** MTU of the underlay path, from which MTU tests start; default 1500. */
  mtu?: number;
  clock?: SleeveClock;
  timing?: Partial<SleeveTiming>;
}

/** Why a datagram or frame was dropped; the keys of the drop counters. */
export type SleeveDrop =
  | "malformed"
  | "unknownSender"
  | "auth"
  | "replay"
  | "misaddressed"
  | "staleHeartbeat"
  | "dataFrame";

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
  sendErrors: number;
  dropped: Record<SleeveDrop, number>;
};

/** What a forwarder needs from its overlay. */
interface ForwarderHost {
  readonly localPeer: PeerName;
  readonly log: Logger;
  readonly clock: SleeveClock;
  readonly timing: SleeveTiming;
  readonly underlayMtu: number;
  send(bytes: Uint8Array, to: HostPort): void;
  register(fwd: SleeveForwarder): void;
  unregister(fwd: SleeveForwarder): void;
  count(reason: SleeveDrop): void;
}

/**
 * The sleeve overlay: owns the UDP socket and routes datagrams to the
 * forwarder of their sender.
 *
 * @example
 * ```ts ignore
 * import { SleeveOverlay } from "./sleeve.ts";
 * import { discardLogger } from "../../lib/log.ts";
 * const sleeve = new SleeveOverlay({ localPeer: 1n, port: 6783, log: discardLogger });
 * await sleeve.start();
 * // ... pass to the mesh router (usually under an OverlaySwitch) ...
 * await sleeve.stop();
 * ```
 */
export class SleeveOverlay implements Overlay {
  readonly #opts: SleeveOverlayOptions;
  readonly #host: ForwarderHost;
  #socket: dgram.Socket | null = null;
  #stopped = false;
  readonly #prepared = new Set<SleeveForwarder>();
  readonly #confirmed = new Map<PeerName, SleeveForwarder>();
  readonly #stats = { datagramsReceived: 0, datagramsSent: 0, sendErrors: 0 };
  readonly #dropped: Record<SleeveDrop, number> = {
    malformed: 0,
    unknownSender: 0,
    auth: 0,
    replay: 0,
    misaddressed: 0,
    staleHeartbeat: 0,
    dataFrame: 0,
  };

  constructor(opts: SleeveOverlayOptions) {
    const underlayMtu = opts.mtu ?? DEFAULT_UNDERLAY_MTU;
    if (!Number.isInteger(underlayMtu) || underlayMtu < 640 || underlayMtu > 16384) {
      throw new RangeError(`Cannot create sleeve overlay: MTU ${underlayMtu} not in 640..16384`);
    }
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
      throw new RangeError(`Cannot create sleeve overlay: port ${opts.port} not in 1..65535`);
    }
    this.#opts = opts;
    this.#host = {
      localPeer: opts.localPeer,
      log: opts.log,
      clock: opts.clock ?? realClock,
      timing: { ...SLEEVE_TIMING, ...opts.timing },
      underlayMtu,
      send: (bytes, to) => this.#send(bytes, to),
      register: (fwd) => this.#confirmed.set(fwd.remotePeer, fwd),
      unregister: (fwd) => this.#unregister(fwd),
      count: (reason) => this.#dropped[reason]++,
    };
  }

  /** Binds the UDP socket on `host:port`; rejects if the port is taken. */
  async start(): Promise<void> {
    if (this.#socket) throw new Error("Cannot start sleeve overlay: already started");
    const host = this.#opts.host ?? "0.0.0.0";
    const socket = dgram.createSocket({ type: "udp4" });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", (e) => {
        socket.close();
        reject(
          new Error(`Cannot bind sleeve UDP socket to ${host}:${this.#opts.port}`, { cause: e }),
        );
      });
      socket.bind(this.#opts.port, host, () => resolve());
    });
    socket.removeAllListeners("error");
    socket.on("error", (e) => this.#opts.log.warn(`sleeve: UDP socket error: ${e.message}`));
    socket.on(
      "message",
      (msg, rinfo) => this.#receive(msg, { hostname: rinfo.address, port: rinfo.port }),
    );
    this.#socket = socket;
  }

  /** Sleeve adds no features of its own; the overlay switch advertises `Overlays`. */
  addFeaturesTo(_features: Record<string, string>): void {}

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

  /** Counters of the socket and the forwarders. */
  diagnostics(): SleeveDiagnostics {
    let established = 0;
    let stackFrag = 0;
    for (const fwd of this.#prepared) {
      if (fwd.established) established++;
      if (fwd.stackFrag) stackFrag++;
    }
    return {
      port: this.#opts.port,
      forwarders: this.#prepared.size,
      confirmed: this.#confirmed.size,
      established,
      stackFrag,
      ...this.#stats,
      dropped: { ...this.#dropped },
    };
  }

  /** Stops every forwarder and closes the socket. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const fwd of [...this.#prepared]) fwd.stop();
    const socket = this.#socket;
    this.#socket = null;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  #unregister(fwd: SleeveForwarder): void {
    this.#prepared.delete(fwd);
    if (this.#confirmed.get(fwd.remotePeer) === fwd) this.#confirmed.delete(fwd.remotePeer);
  }

  #send(bytes: Uint8Array, to: HostPort): void {
    const socket = this.#socket;
    if (!socket) return;
    this.#stats.datagramsSent++;
    socket.send(bytes, to.port, to.hostname, (err) => {
      if (!err) return;
      this.#stats.sendErrors++;
      this.#opts.log.debug(`sleeve: send to ${to.hostname}:${to.port} failed: ${err.message}`);
    });
  }

  /** Socket handler: never throws; every refused datagram is counted. */
  #receive(bytes: Uint8Array, from: HostPort): void {
    this.#stats.datagramsReceived++;
    if (bytes.length < NAME_SIZE) {
      this.#dropped.malformed++;
      return;
    }
    const fwd = this.#confirmed.get(decodeDatagramSender(bytes));
    if (!fwd) {
      this.#dropped.unknownSender++;
      return;
    }
    try {
      fwd.receive(bytes, from);
    } catch (e) {
      this.#dropped.malformed++;
      this.#opts.log.debug(`sleeve: dropping datagram from ${from.hostname}:${from.port}: ${e}`);
    }
  }
}

/** State of the MTU search (§4.4 step 5). */
interface MtuSearch {
  candidate: number;
  highestGood: number;
  lowestBad: number;
  attempt: number;
}

/** The sleeve data path of one connection. */
class SleeveForwarder implements OverlayConnection {
  readonly remotePeer: PeerName;
  established = false;
  readonly #host: ForwarderHost;
  readonly #params: OverlayConnectionParams;
  readonly #cipher: SleeveCipher | null;
  #remoteAddr: HostPort | null;
  #confirmed = false;
  #stopped = false;
  #heardHeartbeat = false;
  /** The remote answered our fragmentation test: large non-DF datagrams get through. */
  #stackFrag = false;
  #mtu: number | undefined;
  #search: MtuSearch | null = null;
  #heartbeatTimer: unknown;
  #timeoutTimer: unknown;
  #fragTimer: unknown;
  #mtuTimer: unknown;

  /** True once the remote acknowledged our last fragmentation test. */
  get stackFrag(): boolean {
    return this.#stackFrag;
  }

  constructor(host: ForwarderHost, params: OverlayConnectionParams) {
    this.#host = host;
    this.#params = params;
    this.remotePeer = params.remotePeer;
    this.#cipher = params.sessionKey
      ? new SleeveCipher({
        sessionKey: params.sessionKey,
        outbound: params.outbound,
        localPeer: host.localPeer,
      })
      : null;
    this.#remoteAddr = params.outbound
      ? { hostname: unmapIPv4(params.remoteAddr.hostname), port: params.remoteAddr.port }
      : null;
  }

  confirm(): void {
    if (this.#stopped || this.#confirmed) return;
    this.#confirmed = true;
    this.#host.register(this);
    this.#setHeartbeatInterval(this.#host.timing.fastHeartbeatMs);
    this.#sendHeartbeat();
    this.#resetHeartbeatTimeout();
  }

  controlMessage(tag: number, body: Uint8Array): void {
    if (this.#stopped) return;
    switch (tag) {
      case SleeveControlTag.ConnectionEstablished:
        return this.#onConnectionEstablished();
      case SleeveControlTag.FragmentationReceived:
        this.#stackFrag = true;
        this.#logger().debug("fragmentation test acknowledged");
        return;
      case SleeveControlTag.PMTUVerified:
        if (body.length !== 2) {
          this.#logger().warn(`ignoring PMTUVerified with ${body.length}-byte body, expected 2`);
          return;
        }
        return this.#onPMTUVerified((body[0] << 8) | body[1]);
      default:
        this.#logger().debug(`ignoring unknown sleeve control message ${tag}`);
    }
  }

  attrs(): Record<string, string | number | boolean> {
    const attrs: Record<string, string | number | boolean> = { name: "sleeve" };
    if (this.#mtu !== undefined) attrs.mtu = this.#mtu;
    if (this.#cipher) attrs.encrypted = true;
    return attrs;
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#search = null;
    const { clock } = this.#host;
    clock.clearInterval(this.#heartbeatTimer);
    clock.clearTimeout(this.#timeoutTimer);
    clock.clearInterval(this.#fragTimer);
    clock.clearTimeout(this.#mtuTimer);
    this.#host.unregister(this);
  }

  /** Handles a datagram whose sender name is our remote peer; throws on malformed input. */
  receive(bytes: Uint8Array, from: HostPort): void {
    let frames;
    if (this.#cipher) {
      const before = this.#cipher.drops.replay;
      const plaintext = this.#cipher.open(bytes);
      if (!plaintext) {
        this.#host.count(this.#cipher.drops.replay > before ? "replay" : "auth");
        return;
      }
      frames = decodeFrames(plaintext, 0);
    } else {
      frames = decodeFrames(bytes, NAME_SIZE);
    }
    for (const { src, dst, frame } of frames) {
      const special = classifySpecial(frame);
      if (!special) {
        this.#host.count("dataFrame");
      } else if (src !== this.remotePeer || dst !== this.#host.localPeer) {
        this.#host.count("misaddressed");
      } else if (special.kind === "heartbeat") {
        this.#onHeartbeat(special.connUID, from);
      } else if (special.kind === "fragtest") {
        if (isAllZero(frame)) this.#sendControl(SleeveControlTag.FragmentationReceived);
      } else {
        this.#sendControl(SleeveControlTag.PMTUVerified, u16(special.mtu));
      }
      if (this.#stopped) return;
    }
  }

  #onHeartbeat(connUID: bigint, from: HostPort): void {
    if (connUID !== this.#params.connUID) {
      this.#host.count("staleHeartbeat");
      return;
    }
    const known = this.#remoteAddr;
    if (!known || known.hostname !== from.hostname || known.port !== from.port) {
      this.#remoteAddr = { ...from };
      if (!known) this.#sendHeartbeat();
      else this.#logger().debug(`remote UDP address changed from ${known.hostname}:${known.port}`);
    }
    this.#resetHeartbeatTimeout();
    if (!this.#heardHeartbeat) {
      this.#heardHeartbeat = true;
      this.#sendControl(SleeveControlTag.ConnectionEstablished);
    }
  }

  #onConnectionEstablished(): void {
    if (this.established || !this.#confirmed) return;
    this.established = true;
    const { clock, timing } = this.#host;
    this.#setHeartbeatInterval(timing.slowHeartbeatMs);
    this.#fragTimer = clock.setInterval(() => this.#sendFragTest(), timing.fragTestIntervalMs);
    this.#sendFragTest();
    this.#startMtuSearch();
    this.#params.onEstablished();
  }

  #sendFragTest(): void {
    this.#stackFrag = false;
    this.#sendSpecial(fragTestFrame(), false);
  }

  /** Bytes on the wire around an overlay frame's payload on the DF path (62, or 86 encrypted). */
  #overheadDF(): number {
    const packet = this.#cipher ? ENCRYPTED_HEADER_SIZE + SECRETBOX_OVERHEAD : NAME_SIZE;
    return UDP_IP_OVERHEAD + packet + FRAME_HEADER_SIZE + ETHERNET_HEADER_SIZE;
  }

  #startMtuSearch(): void {
    const candidate = this.#host.underlayMtu - this.#overheadDF();
    this.#search = { candidate, highestGood: MIN_MTU, lowestBad: candidate + 1, attempt: 0 };
    this.#sendMtuTest();
  }

  #sendMtuTest(): void {
    const search = this.#search!;
    this.#sendSpecial(mtuTestFrame(search.candidate), true);
    const wait = this.#host.timing.mtuVerifyTimeoutMs * 2 ** search.attempt;
    this.#mtuTimer = this.#host.clock.setTimeout(() => this.#onMtuTimeout(), wait);
  }

  #onMtuTimeout(): void {
    const search = this.#search;
    if (!search || this.#stopped) return;
    search.attempt++;
    if (search.attempt < this.#host.timing.mtuVerifyAttempts) return this.#sendMtuTest();
    search.lowestBad = search.candidate;
    this.#nextMtuCandidate(search);
  }

  #onPMTUVerified(mtu: number): void {
    const search = this.#search;
    if (!search || mtu !== search.candidate) return;
    this.#host.clock.clearTimeout(this.#mtuTimer);
    search.highestGood = mtu;
    this.#nextMtuCandidate(search);
  }

  #nextMtuCandidate(search: MtuSearch): void {
    if (search.highestGood + 1 >= search.lowestBad) {
      this.#search = null;
      this.#mtu = search.highestGood;
      this.#logger().info(`Effective MTU verified at ${this.#mtu}`);
      return;
    }
    search.candidate = Math.floor((search.highestGood + search.lowestBad) / 2);
    search.attempt = 0;
    this.#sendMtuTest();
  }

  #setHeartbeatInterval(ms: number): void {
    this.#host.clock.clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = this.#host.clock.setInterval(() => this.#sendHeartbeat(), ms);
  }

  #resetHeartbeatTimeout(): void {
    const { clock, timing } = this.#host;
    clock.clearTimeout(this.#timeoutTimer);
    this.#timeoutTimer = clock.setTimeout(() => this.#fail(), timing.heartbeatTimeoutMs);
  }

  #fail(): void {
    if (this.#stopped) return;
    this.stop();
    this.#params.onError(new Error("timed out waiting for UDP heartbeat"));
  }

  #sendHeartbeat(): void {
    this.#sendSpecial(heartbeatFrame(this.#params.connUID), true);
  }

  /** Sends one special frame from us to the remote, if its UDP address is known. */
  #sendSpecial(frame: Uint8Array, df: boolean): void {
    const to = this.#remoteAddr;
    if (!to || this.#stopped) return;
    const { localPeer } = this.#host;
    const clear = encodeFrames(localPeer, [{ src: localPeer, dst: this.remotePeer, frame }]);
    this.#host.send(this.#cipher ? this.#cipher.seal(clear.subarray(NAME_SIZE), df) : clear, to);
  }

  #sendControl(tag: number, body: Uint8Array = new Uint8Array(0)): void {
    this.#params.sendControlMessage(tag, body);
  }

  /** Weave's prefix: `sleeve ->[ip:port|name(nick)]: `. */
  #logger(): Logger {
    const addr = this.#remoteAddr
      ? `${this.#remoteAddr.hostname}:${this.#remoteAddr.port}`
      : "<nil>";
    const peer = `${formatPeerName(this.remotePeer)}(${this.#params.remoteNickName})`;
    return this.#host.log.withPrefix(`sleeve ->[${addr}|${peer}]:`);
  }
}

function u16(value: number): Uint8Array {
  return new Uint8Array([(value >> 8) & 0xff, value & 0xff]);
}

/** `::ffff:192.0.2.1` → `192.0.2.1`: the sleeve socket is IPv4 only. */
function unmapIPv4(hostname: string): string {
  return hostname.startsWith("::ffff:") && hostname.includes(".") ? hostname.slice(7) : hostname;
}
