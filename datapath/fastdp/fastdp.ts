/**
 * The fast datapath on plain Linux VXLAN, speaking Weave's fastdp wire format (spec §5.2–5.3):
 * frames travel in VXLAN on UDP mesh port + 1 with VNI `src | dst << 12`.
 *
 * Weave programs Open vSwitch's kernel datapath, which is missing on many hosts. Linux VXLAN
 * cannot choose a VNI per destination from a bridge (one `external` device sends nothing), so
 * there is one device per remote peer, attached to the weave bridge as an isolated port (design
 * checked on this kernel: `../../../shared/design/fastdp-on-linux-vxlan.md`; iperf3 ran at the
 * speed of a plain VXLAN). The kernel demultiplexes the devices sharing the UDP port by VNI.
 *
 * Per connection a {@link FastdpForwarder} sends heartbeats through the peer's device on an
 * AF_PACKET socket (a bridge drops their all-zero MACs, packet taps see them first) and tracks
 * health; the device's bridge port floods and learns only while a forwarder to that peer is
 * healthy, so while fastdp is down frames for that peer go to sleeve instead. One receive loop
 * waits on all devices' sockets with a single poll.
 *
 * When a peer's port turns active again (fastdp recovered), the MACs the bridge learned on the
 * sleeve port are forgotten: while on sleeve the bridge learned the remote containers' MACs
 * there, and a unicast frame it keeps sending to sleeve would be dropped (sleeve's forwarder
 * defers to the healthy fastdp one, which leaves forwarding to the bridge). Forgetting them
 * makes the bridge flood once and learn the MACs on the VXLAN port.
 *
 * Devices are named `vxw` + the peer's 12 hex digits, created when a connection is prepared and
 * deleted when its last connection stops; a short-ID change ({@link FastDatapath.invalidateRoutes})
 * re-creates them with the new VNIs, and `start()` removes devices a previous run left.
 *
 * Not done here (Weave does): encrypted fastdp over IPsec ESP (see `decision.ts`), relaying
 * through fastdp for partial connectivity (relays stay on sleeve), flows for multicast
 * forwarding decided in userspace.
 *
 * @module
 */
import type { Logger } from "../../lib/log.ts";
import { formatPeerName, type PeerName } from "../../lib/peer_name.ts";
import type { OverlayConnectionParams } from "../../mesh/overlay.ts";
import { type Clock, realClock } from "../../lib/clock.ts";
import type { FrameConsumer, NetworkOverlay, OverlayForwarder } from "../datapath.ts";
import {
  FASTDP_HEARTBEAT_FEATURE,
  FASTDP_TIMING,
  FastdpForwarder,
  type FastdpForwarderStatus,
  type FastdpTiming,
} from "./forwarder.ts";
import { heartbeatLength, heartbeatUID } from "./heartbeat.ts";
import type { FastdpHost, FrameSocket, VxlanDeviceSpec } from "./host.ts";
import { peerVNIs, vxlanDeviceName } from "./vni.ts";
import { CAPTURE_TAP_NAME } from "../capture_tap.ts";

/** The bridge port of the sleeve capture (Weave's name for it). */
export const SLEEVE_PORT = CAPTURE_TAP_NAME;
/** The datapath MTU Weave uses by default. */
export const DEFAULT_FASTDP_MTU = 1376;
/** How long one poll of the receive loop may block (so new devices are picked up). */
const POLL_MS = 200;
/** A MAC is forgotten on the sleeve port at most this often. */
const FORGET_INTERVAL_MS = 1000;
/** At most this many MACs are remembered for {@link FORGET_INTERVAL_MS}. */
const FORGET_TABLE_SIZE = 4096;
/** Receive buffer: larger than any heartbeat (14 + 65535). */
const RECEIVE_BUFFER = 65_600;

/** Where fastdp reads short IDs (the VNIs derive from them): the mesh's peer table. */
export interface FastdpPeers {
  /** Our current short ID. */
  shortID(): number;
  /** A peer's current short ID, `undefined` when it has none (it cannot use fastdp). */
  peerShortID(peer: PeerName): number | undefined;
}

/** Options of {@link FastDatapath}. */
export interface FastDatapathOptions {
  localPeer: PeerName;
  /** Bridge the devices join; default `weave`. */
  bridge?: string;
  /** Mesh TCP port; VXLAN runs on port + 1. */
  port: number;
  /** Our underlay IPv4 address (devices' `local`); default each connection's local address. */
  localIP?: () => string;
  /** Datapath MTU; default {@link DEFAULT_FASTDP_MTU}. */
  mtu?: number;
  /** Bridge port of the sleeve capture; default {@link SLEEVE_PORT}. */
  sleevePort?: string;
  /** Devices and sockets (see `host.ts` `kernelFastdpHost`). */
  host: FastdpHost;
  log: Logger;
  clock?: Clock;
  timing?: Partial<FastdpTiming>;
}

/** One remote peer's device and the forwarders using it. */
interface Vport {
  peer: PeerName;
  spec: VxlanDeviceSpec;
  ifindex: number;
  socket: FrameSocket | null;
  forwarders: Set<FastdpForwarder>;
  healthy: Set<FastdpForwarder>;
  active: boolean;
  lastError: string;
}

/** One peer's entry in {@link FastDatapath.diagnostics}. */
export interface FastdpPeerDiagnostics extends FastdpForwarderStatus {
  Peer: string;
  NickName: string;
  Device: string;
  ConnUID: string;
}

/** `aa:bb:cc:dd:ee:ff` of the first 6 bytes (an Ethernet frame's destination). */
function formatMac(frame: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(frame[i].toString(16).padStart(2, "0"));
  return parts.join(":");
}

/** IPv4 text of an address, unwrapping `::ffff:a.b.c.d`; `undefined` for anything else. */
/** The `ShortID` handshake feature (decimal, 12 bits), if valid. */
export function handshakeShortID(features: Record<string, string>): number | undefined {
  const text = features.ShortID;
  if (text === undefined || !/^\d{1,4}$/.test(text)) return undefined;
  const id = Number(text);
  return id <= 0xfff ? id : undefined;
}

function ipv4Of(address: string): string | undefined {
  const bare = address.startsWith("::ffff:") ? address.slice(7) : address;
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(bare) ? bare : undefined;
}

/**
 * Fastdp as a {@link NetworkOverlay}, to be placed before sleeve in the overlay switch.
 *
 * @example
 * ```ts ignore
 * import { FastDatapath } from "./fastdp.ts";
 * import { kernelFastdpHost } from "./host.ts";
 * const fastdp = new FastDatapath({ localPeer, port: 6783, host: kernelFastdpHost(nl), log });
 * const sw = new OverlaySwitch([{ name: "fastdp", overlay: fastdp }, { name: "sleeve", overlay: sleeve }]);
 * const mesh = new MeshRouter({ ...options, overlay: sw });
 * fastdp.register({ shortID: () => mesh.peers.ourself.shortID, peerShortID: (p) => mesh.peers.get(p)?.shortID });
 * await fastdp.start();
 * ```
 */
export class FastDatapath implements NetworkOverlay {
  readonly #opts: FastDatapathOptions;
  readonly #host: FastdpHost;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #timing: FastdpTiming;
  readonly #mtu: number;
  readonly #bridge: string;
  readonly #vports = new Map<PeerName, Vport>();
  /** Sockets replaced or no longer used; closed by the receive loop once no poll holds them. */
  readonly #retired: FrameSocket[] = [];
  #state: "new" | "running" | "stopped" = "new";
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  readonly #buffer = new Uint8Array(RECEIVE_BUFFER);
  readonly #stats = { framesReceived: 0, unknownConnection: 0, receiveErrors: 0 };
  /** When each MAC was last forgotten on the sleeve port (`performance.now()`). */
  readonly #forgotAt = new Map<string, number>();
  #peers: FastdpPeers | null = null;

  constructor(opts: FastDatapathOptions) {
    this.#mtu = opts.mtu ?? DEFAULT_FASTDP_MTU;
    heartbeatLength(this.#mtu); // validates
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65534) {
      throw new RangeError(`Cannot create fastdp: port ${opts.port} is not in 1..65534`);
    }
    this.#opts = opts;
    this.#host = opts.host;
    this.#log = opts.log;
    this.#clock = opts.clock ?? realClock;
    this.#timing = { ...FASTDP_TIMING, ...opts.timing };
    this.#bridge = opts.bridge ?? "weave";
  }

  /** Tells fastdp where short IDs come from; before {@link start} (the mesh is built after). */
  register(peers: FastdpPeers): void {
    this.#peers = peers;
  }

  /** Checks the bridge, removes devices a previous run left, starts receiving. */
  // deno-lint-ignore require-await
  async start(): Promise<void> {
    if (this.#state !== "new") throw new Error(`Cannot start fastdp: it is ${this.#state}`);
    const stale = this.#host.prepare(this.#bridge);
    if (stale.length > 0) this.#log.info(`fastdp: removed stale devices ${stale.join(", ")}`);
    this.#state = "running";
    this.#loop = this.#receiveLoop();
  }

  /**
   * Advertises our slow heartbeat interval ({@link FASTDP_HEARTBEAT_FEATURE}), so peers like us
   * detect a dead VXLAN path within seconds; the overlay switch advertises fastdp itself in
   * `Overlays`.
   */
  addFeaturesTo(features: Record<string, string>): void {
    features[FASTDP_HEARTBEAT_FEATURE] = String(this.#timing.slowHeartbeatMs);
  }

  /** Frames never reach userspace on fastdp (the bridge forwards them), so this is unused. */
  setConsumer(_consumer: FrameConsumer): void {}

  /**
   * Ensures the remote's device and returns its forwarder; throws (the switch then uses
   * sleeve) when fastdp is not running, a short ID is missing or the remote is not IPv4.
   */
  prepareConnection(params: OverlayConnectionParams): FastdpForwarder {
    const peer = `${formatPeerName(params.remotePeer)}(${params.remoteNickName})`;
    const refuse = (why: string) => new Error(`Cannot use fastdp to ${peer}: ${why}`);
    if (this.#state !== "running") throw refuse(`fastdp is ${this.#state}`);
    const remoteIP = ipv4Of(params.remoteAddr.hostname);
    const local = this.#opts.localIP?.() ?? ipv4Of(params.localAddr.hostname);
    if (!remoteIP || !local) {
      throw refuse(`not IPv4 (${params.localAddr.hostname} -> ${params.remoteAddr.hostname})`);
    }
    const vnis = this.#vnis(params.remotePeer, handshakeShortID(params.remoteFeatures));
    if (typeof vnis === "string") throw refuse(vnis);
    const remotePort = params.outbound ? params.remoteAddr.port + 1 : this.#opts.port + 1;
    const spec: VxlanDeviceSpec = {
      name: vxlanDeviceName(params.remotePeer),
      receiveVNI: vnis.receive,
      sendVNI: vnis.send,
      port: this.#opts.port + 1,
      remotePort,
      local,
      remoteIP,
      mtu: this.#mtu,
      bridge: this.#bridge,
    };
    const vport = this.#ensureVport(params.remotePeer, spec);
    const fwd = new FastdpForwarder({
      params,
      port: {
        send: (frame) => this.#send(vport, frame),
        setHealthy: (f, healthy) => this.#setHealthy(vport, f, healthy),
        misdirected: (frame) => this.#forgetOnSleeve(frame),
      },
      mtu: this.#mtu,
      timing: this.#timing,
      clock: this.#clock,
      log: this.#log.withPrefix(`fastdp ->[${remoteIP}:${remotePort}|${peer}]:`),
      onStop: (f) => this.#forwarderStopped(vport, f),
    });
    vport.forwarders.add(fwd);
    return fwd;
  }

  /** The first forwarder to `peer`, if any. */
  forwarderTo(peer: PeerName): OverlayForwarder | undefined {
    const fwds = this.#vports.get(peer)?.forwarders;
    return fwds ? [...fwds][0] : undefined;
  }

  /** Re-creates devices whose VNIs changed with our or the peers' short IDs. */
  invalidateRoutes(): void {
    if (this.#state !== "running") return;
    const changed: Vport[] = [];
    for (const vport of this.#vports.values()) {
      const vnis = this.#vnis(vport.peer);
      if (typeof vnis === "string") {
        this.#log.warn(`fastdp: keeping ${vport.spec.name} as it is: ${vnis}`);
        continue;
      }
      if (vnis.receive === vport.spec.receiveVNI && vnis.send === vport.spec.sendVNI) continue;
      vport.spec = { ...vport.spec, receiveVNI: vnis.receive, sendVNI: vnis.send };
      changed.push(vport);
    }
    // Remove first: a VNI may move from one peer's device to another's.
    for (const vport of changed) {
      this.#retire(vport);
      try {
        this.#host.removeDevice(vport.spec.name);
      } catch (e) {
        this.#log.error(`fastdp: cannot delete ${vport.spec.name}: ${(e as Error).message}`);
      }
    }
    for (const vport of changed) {
      this.#log.info(
        `fastdp: short IDs changed, re-creating ${vport.spec.name} with VNI ${vport.spec.receiveVNI}`,
      );
      try {
        this.#openVport(vport);
      } catch (e) {
        vport.lastError = e instanceof Error ? e.message : String(e);
        this.#log.error(`fastdp: cannot re-create ${vport.spec.name}: ${vport.lastError}`);
      }
    }
  }

  /** Devices (as Weave's `Vports`), no flows, and each connection's health and reason. */
  diagnostics(): Record<string, unknown> {
    const vports = [...this.#vports.values()];
    return {
      Vports: vports.map((v) => ({
        ID: v.ifindex,
        Name: v.spec.name,
        TypeName: "vxlan",
        VNI: v.spec.receiveVNI,
        SendVNI: v.spec.sendVNI,
        Remote: `${v.spec.remoteIP}:${v.spec.remotePort ?? v.spec.port}`,
        Active: v.active,
        ...(v.lastError ? { Error: v.lastError } : {}),
      })),
      Flows: [],
      Peers: vports.flatMap((v) =>
        [...v.forwarders].map((f): FastdpPeerDiagnostics => ({
          Peer: formatPeerName(f.params.remotePeer),
          NickName: f.params.remoteNickName,
          Device: v.spec.name,
          ConnUID: f.connUID.toString(),
          ...f.status(),
        }))
      ),
      MTU: this.#mtu,
      Port: this.#opts.port + 1,
      ...this.#stats,
    };
  }

  /** Stops every forwarder, deletes every device, and ends the receive loop. */
  async stop(): Promise<void> {
    if (this.#state === "stopped") return;
    this.#state = "stopped";
    for (const vport of [...this.#vports.values()]) {
      for (const fwd of [...vport.forwarders]) fwd.stop();
    }
    this.#wake?.();
    await this.#loop;
    for (const socket of this.#retired.splice(0)) socket.close();
  }

  /**
   * Our VNIs with `remote`. The peer table's short ID wins; `fromHandshake` covers a remote
   * the table knows only as a placeholder (named in another peer's connections before its
   * own gossip arrived), which would otherwise keep this connection off fastdp for good.
   */
  #vnis(remote: PeerName, fromHandshake?: number): ReturnType<typeof peerVNIs> | string {
    if (!this.#peers) return "fastdp is not registered with the mesh";
    const theirs = this.#peers.peerShortID(remote) ?? fromHandshake;
    if (theirs === undefined) return "the peer has no short ID";
    return peerVNIs(this.#peers.shortID(), theirs);
  }

  #ensureVport(peer: PeerName, spec: VxlanDeviceSpec): Vport {
    const existing = this.#vports.get(peer);
    if (existing) {
      const s = existing.spec;
      const same = s.remoteIP === spec.remoteIP && s.remotePort === spec.remotePort &&
        s.local === spec.local && s.receiveVNI === spec.receiveVNI && s.sendVNI === spec.sendVNI;
      if (!same) this.#openVport(existing, spec);
      return existing;
    }
    const vport: Vport = {
      peer,
      spec,
      ifindex: 0,
      socket: null,
      forwarders: new Set(),
      healthy: new Set(),
      active: false,
      lastError: "",
    };
    try {
      this.#openVport(vport, spec);
    } catch (e) {
      this.#host.removeDevice(spec.name);
      throw e;
    }
    this.#vports.set(peer, vport);
    return vport;
  }

  /**
   * Creates or repairs the device for `spec` and (re)opens its socket when the device is new;
   * restores the port's flooding when the peer is healthy. Throws when the device cannot be
   * made to work.
   */
  #openVport(vport: Vport, spec: VxlanDeviceSpec = vport.spec): void {
    vport.spec = spec;
    const ifindex = this.#host.ensureDevice(spec);
    if (ifindex !== vport.ifindex || !vport.socket) {
      this.#retire(vport);
      vport.ifindex = ifindex;
      vport.socket = this.#host.openSocket(ifindex);
      this.#wake?.();
    }
    if (vport.active) this.#host.setPortActive(spec.name, true);
    vport.lastError = "";
  }

  #retire(vport: Vport): void {
    if (vport.socket) this.#retired.push(vport.socket);
    vport.socket = null;
  }

  /** Sends on the peer's device, first re-creating it when it broke (self-healing). */
  #send(vport: Vport, frame: Uint8Array): void {
    if (!vport.socket) {
      this.#openVport(vport);
      this.#log.info(`fastdp: re-created ${vport.spec.name}`);
    }
    vport.socket!.send(frame);
  }

  #setHealthy(vport: Vport, fwd: FastdpForwarder, healthy: boolean): void {
    if (healthy) vport.healthy.add(fwd);
    else vport.healthy.delete(fwd);
    this.#applyActive(vport);
  }

  #applyActive(vport: Vport): void {
    const active = vport.healthy.size > 0;
    if (active === vport.active) return;
    vport.active = active;
    try {
      this.#host.setPortActive(vport.spec.name, active);
      if (active) {
        const port = this.#opts.sleevePort ?? SLEEVE_PORT;
        const n = this.#host.forgetLearned(port);
        if (n > 0) this.#log.debug(`fastdp: forgot ${n} MACs learned on ${port}`);
      }
    } catch (e) {
      vport.lastError = e instanceof Error ? e.message : String(e);
      this.#log.error(`fastdp: cannot switch port ${vport.spec.name}: ${vport.lastError}`);
    }
  }

  /**
   * Makes the bridge forget the destination MAC of `frame` on the sleeve port, at most once a
   * second per MAC (the frames that follow are flooded, reaching sleeve too, until the bridge
   * learns the MAC on the VXLAN port).
   */
  #forgetOnSleeve(frame: Uint8Array): void {
    const mac = formatMac(frame);
    const now = performance.now();
    const last = this.#forgotAt.get(mac);
    if (last !== undefined && now - last < FORGET_INTERVAL_MS) return;
    if (this.#forgotAt.size >= FORGET_TABLE_SIZE) this.#forgotAt.clear();
    this.#forgotAt.set(mac, now);
    const port = this.#opts.sleevePort ?? SLEEVE_PORT;
    try {
      if (this.#host.forgetLearned(port, mac) > 0) {
        this.#log.debug(`fastdp: ${mac} was learned on ${port}; forgot it`);
      }
    } catch (e) {
      this.#log.warn(`fastdp: cannot forget ${mac} on ${port}: ${(e as Error).message}`);
    }
  }

  #forwarderStopped(vport: Vport, fwd: FastdpForwarder): void {
    vport.forwarders.delete(fwd);
    vport.healthy.delete(fwd);
    if (vport.forwarders.size > 0) {
      this.#applyActive(vport);
      return;
    }
    if (this.#vports.get(vport.peer) === vport) this.#vports.delete(vport.peer);
    this.#retire(vport);
    try {
      this.#host.removeDevice(vport.spec.name);
    } catch (e) {
      this.#log.error(`fastdp: cannot delete ${vport.spec.name}: ${(e as Error).message}`);
    }
  }

  async #receiveLoop(): Promise<void> {
    while (this.#state === "running") {
      for (const socket of this.#retired.splice(0)) socket.close();
      const open = [...this.#vports.values()].filter((v) => v.socket !== null);
      if (open.length === 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => resolve(), POLL_MS);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = null;
        continue;
      }
      const sockets = open.map((v) => [v, v.socket!] as const);
      const ready = new Set(await this.#host.poll(sockets.map(([, s]) => s.fd), POLL_MS));
      for (const [vport, socket] of sockets) {
        if (ready.has(socket.fd) && vport.socket === socket) this.#drain(vport, socket);
      }
    }
  }

  #drain(vport: Vport, socket: FrameSocket): void {
    for (let i = 0; i < 64 && vport.socket === socket; i++) {
      let n: number | undefined;
      try {
        n = socket.receive(this.#buffer);
      } catch (e) {
        this.#stats.receiveErrors++;
        vport.lastError = e instanceof Error ? e.message : String(e);
        this.#log.warn(
          `fastdp: receive on ${vport.spec.name} failed, re-creating it: ${vport.lastError}`,
        );
        this.#retire(vport); // the next heartbeat re-creates the device and socket
        return;
      }
      if (n === undefined) return;
      this.#stats.framesReceived++;
      this.#dispatch(vport, this.#buffer.subarray(0, Math.min(n, this.#buffer.length)));
    }
  }

  #dispatch(vport: Vport, frame: Uint8Array): void {
    const uid = heartbeatUID(frame);
    const fwds = [...vport.forwarders];
    const target = fwds.find((f) => f.connUID === uid);
    if (!target) this.#stats.unknownConnection++;
    // Unmatched frames go to every forwarder so each can record why it was rejected.
    for (const fwd of target ? [target] : fwds) fwd.receiveHeartbeat(frame);
  }
}
