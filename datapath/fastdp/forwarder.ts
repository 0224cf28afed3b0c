/**
 * One connection's fastdp forwarder: proves the VXLAN path with heartbeats and tracks its
 * health (spec §5.3).
 *
 * `confirm()` starts heartbeats on the peer's VXLAN device, every 500 ms until the remote
 * acknowledges one (TCP control sub-tag 0, FastDatapathHeartbeatAck), then at the slow rate. The
 * first valid heartbeat from the remote is acknowledged the same way. The ack makes the
 * forwarder established; from then on it is healthy while heartbeats keep arriving.
 *
 * Unlike Weave 2.8.1, a heartbeat timeout does not kill the forwarder: it turns unhealthy (the
 * overlay switch falls back to sleeve, the bridge stops using the device) and goes on sending at
 * the slow rate; as soon as valid heartbeats arrive again it is healthy again, without a restart
 * (ww#1737, user lessons #10). Each transition is logged with its reason, and the reason is kept
 * for status (lesson #11).
 *
 * Fast fallback, wire-compatible: Weave sends slow heartbeats every 10 s and gives up after 60 s
 * of silence, far from "falls back within seconds". We send slow heartbeats every 1 s to every
 * peer (a Go peer just resets its timer more often) and advertise that interval in the handshake
 * feature {@link FASTDP_HEARTBEAT_FEATURE} (Go ignores unknown features). A remote that
 * advertises it is declared silent after {@link HEARTBEAT_TIMEOUT_FACTOR} × its interval (3.5 s
 * for ours); one that does not (Go) keeps Weave's 60 s, as it beats only every 10 s.
 *
 * While healthy, the bridge delivers frames to the device by itself (flooding, learned MACs),
 * so {@link FastdpForwarder.forward} only reports success; while unhealthy it reports a drop.
 *
 * @module
 */
import type { Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/log.ts";
import type { OverlayConnectionParams } from "../../mesh/overlay.ts";
import type { ForwardKey, ForwardOptions, OverlayForwarder } from "../datapath.ts";
import { heartbeatFrame, heartbeatMismatch } from "./heartbeat.ts";

/** Fastdp's TCP control sub-tags (carried under tag 7 by the overlay switch). */
export const FastdpControlTag = {
  HeartbeatAck: 0,
  CryptoInitSARemote: 1,
} as const;

/** Heartbeat timings (spec §0); tests shorten them. */
export interface FastdpTiming {
  /** Interval until the remote acknowledged a heartbeat (500 ms, as Weave). */
  fastHeartbeatMs: number;
  /**
   * Interval once acknowledged, and while timed out (1 s; Weave's is 10 s); advertised in
   * {@link FASTDP_HEARTBEAT_FEATURE}.
   */
  slowHeartbeatMs: number;
  /**
   * Silence after which the forwarder is unhealthy when the remote does not advertise its
   * interval (60 s, as Weave); also the upper bound of the feature-driven timeout.
   */
  heartbeatTimeoutMs: number;
}

/** Our values for {@link FastdpTiming}: Weave's, except the 1 s slow interval. */
export const FASTDP_TIMING: Readonly<FastdpTiming> = {
  fastHeartbeatMs: 500,
  slowHeartbeatMs: 1_000,
  heartbeatTimeoutMs: 60_000,
};

/**
 * The handshake feature carrying a peer's slow heartbeat interval in milliseconds (decimal). Not
 * in Weave 2.8.1, which ignores features it does not know.
 */
export const FASTDP_HEARTBEAT_FEATURE = "FastdpHeartbeatMs";
/** A remote that advertises its interval is silent after this many intervals without one. */
export const HEARTBEAT_TIMEOUT_FACTOR = 3.5;
/** Advertised intervals outside this range (ms) are ignored (Weave's timeout applies). */
const ADVERTISED_RANGE = { min: 10, max: 60_000 } as const;

/**
 * The heartbeat timeout for a remote with handshake features `remoteFeatures`:
 * {@link HEARTBEAT_TIMEOUT_FACTOR} × its advertised interval, at most
 * `timing.heartbeatTimeoutMs`; `timing.heartbeatTimeoutMs` when it advertises none or a value
 * that is not an integer in 10..60000.
 *
 * @example
 * ```ts
 * import { FASTDP_TIMING, heartbeatTimeoutFor } from "./forwarder.ts";
 * heartbeatTimeoutFor({ FastdpHeartbeatMs: "1000" }, FASTDP_TIMING); // 3500
 * heartbeatTimeoutFor({}, FASTDP_TIMING); // 60000 (a Go peer)
 * ```
 */
export function heartbeatTimeoutFor(
  remoteFeatures: Readonly<Record<string, string>>,
  timing: Readonly<FastdpTiming>,
): number {
  const text = remoteFeatures[FASTDP_HEARTBEAT_FEATURE];
  if (text === undefined || !/^\d{1,6}$/.test(text)) return timing.heartbeatTimeoutMs;
  const interval = Number(text);
  if (interval < ADVERTISED_RANGE.min || interval > ADVERTISED_RANGE.max) {
    return timing.heartbeatTimeoutMs;
  }
  return Math.min(timing.heartbeatTimeoutMs, Math.round(interval * HEARTBEAT_TIMEOUT_FACTOR));
}

/** What a forwarder needs from its peer's VXLAN device. */
export interface HeartbeatPort {
  /** Sends one frame on the device; throws when it cannot. */
  send(frame: Uint8Array): void;
  /** Reports a health change of `fwd`; the device's bridge port follows. */
  setHealthy(fwd: FastdpForwarder, healthy: boolean): void;
  /**
   * A unicast frame for the remote reached sleeve while fastdp is healthy: the bridge still
   * sends its destination MAC to the sleeve port (learned there during a fallback); the port
   * should make the bridge forget it.
   */
  misdirected(frame: Uint8Array): void;
}

/** Options of {@link FastdpForwarder}. */
export interface FastdpForwarderOptions {
  params: OverlayConnectionParams;
  port: HeartbeatPort;
  /** Datapath MTU; heartbeats are 14 + mtu bytes. */
  mtu: number;
  timing: FastdpTiming;
  clock: Clock;
  /** Already prefixed, e.g. `fastdp ->[192.0.2.2:6784|ce:3b:…(h2)]:`. */
  log: Logger;
  /** Called once from {@link FastdpForwarder.stop}. */
  onStop(fwd: FastdpForwarder): void;
}

/** A forwarder's state for status and diagnostics. */
export interface FastdpForwarderStatus {
  established: boolean;
  healthy: boolean;
  /** The last health-relevant event, e.g. `no heartbeat for 60s`. */
  reason: string;
  /** Silence after which this forwarder turns unhealthy (see {@link heartbeatTimeoutFor}). */
  heartbeatTimeoutMs: number;
  heartbeatsSent: number;
  heartbeatsReceived: number;
  heartbeatsRejected: number;
  sendErrors: number;
}

const EMPTY = new Uint8Array(0);

function seconds(ms: number): string {
  return `${ms / 1000}s`;
}

/**
 * The fastdp forwarder of one connection.
 *
 * @example
 * ```ts ignore
 * const fwd = new FastdpForwarder({ params, port, mtu: 1376, timing: FASTDP_TIMING, clock, log, onStop });
 * fwd.confirm();               // heartbeats start
 * fwd.receiveHeartbeat(frame); // from the device's packet socket
 * fwd.controlMessage(0, new Uint8Array()); // the remote's ack: established and healthy
 * ```
 */
export class FastdpForwarder implements OverlayForwarder {
  readonly connUID: bigint;
  readonly params: OverlayConnectionParams;
  readonly #opts: FastdpForwarderOptions;
  readonly #frame: Uint8Array;
  readonly #timeoutMs: number;
  #confirmed = false;
  #stopped = false;
  #established = false;
  #timedOut = false;
  #healthy = false;
  #ackSent = false;
  #sendTimer: unknown;
  #timeoutTimer: unknown;
  #reason = "not confirmed yet";
  #lastReject = "";
  readonly #stats = { sent: 0, received: 0, rejected: 0, sendErrors: 0 };

  constructor(opts: FastdpForwarderOptions) {
    this.#opts = opts;
    this.params = opts.params;
    this.connUID = opts.params.connUID;
    this.#frame = heartbeatFrame(this.connUID, opts.mtu);
    this.#timeoutMs = heartbeatTimeoutFor(opts.params.remoteFeatures, opts.timing);
  }

  /** Starts heartbeats and the heartbeat timeout. */
  confirm(): void {
    if (this.#confirmed || this.#stopped) return;
    this.#confirmed = true;
    this.#reason = "waiting for heartbeat ack";
    this.#armTimeout();
    this.#beat();
  }

  /** Handles sub-tag 0 (the remote's heartbeat ack) and refuses IPsec (sub-tag 1). */
  controlMessage(tag: number, _body: Uint8Array): void {
    if (this.#stopped) return;
    if (tag === FastdpControlTag.HeartbeatAck) {
      if (this.#established) return;
      this.#established = true;
      this.#reason = "established";
      this.#opts.log.info("heartbeat acknowledged, fastdp established");
      this.#schedule();
      this.#update();
      if (!this.#stopped) this.params.onEstablished();
      return;
    }
    if (tag === FastdpControlTag.CryptoInitSARemote) {
      this.#fail(new Error("remote set up IPsec for encrypted fastdp, which is not supported"));
      return;
    }
    this.#opts.log.debug(`ignoring control message sub-tag ${tag}`);
  }

  /**
   * A special frame arrived on the peer's device: counts it when it is a valid heartbeat of
   * this connection (acknowledging the first, ending a timeout), otherwise records why not.
   * Returns whether it was valid.
   */
  receiveHeartbeat(frame: Uint8Array): boolean {
    if (this.#stopped || !this.#confirmed) return false;
    const mismatch = heartbeatMismatch(frame, this.connUID);
    if (mismatch !== undefined) {
      this.#stats.rejected++;
      if (mismatch !== this.#lastReject) this.#opts.log.debug(`heartbeat rejected: ${mismatch}`);
      this.#lastReject = mismatch;
      return false;
    }
    this.#stats.received++;
    this.#armTimeout();
    if (!this.#ackSent) {
      this.#ackSent = true;
      this.params.sendControlMessage(FastdpControlTag.HeartbeatAck, EMPTY);
    }
    if (this.#timedOut) {
      this.#timedOut = false;
      this.#reason = this.#established ? "heartbeats resumed" : "waiting for heartbeat ack";
      if (this.#established) this.#opts.log.info("heartbeats resumed, back to fastdp");
      this.#schedule();
      this.#update();
    }
    return true;
  }

  /**
   * Reports whether the frame is on its way: while healthy the bridge has already handed
   * it to this peer's device when it flooded it, so nothing is sent here. A unicast frame
   * may instead have reached sleeve because the bridge learned its destination on the
   * sleeve port during a fallback; it is lost, and the port is told so the bridge floods
   * (and then learns on the VXLAN port) from the next frame on.
   */
  forward(key: ForwardKey, frame: Uint8Array, opts: ForwardOptions): boolean {
    if (!this.#healthy) return false;
    // The kernel carries only frames from us to this neighbour itself: a frame relayed
    // for another origin or destination, or a broadcast the neighbour must pass on,
    // needs a router that sees it at the other end, so it goes over sleeve.
    if (
      key.srcPeer !== this.params.localPeer || key.dstPeer !== this.params.remotePeer ||
      opts.relay
    ) return false;
    if (frame.length >= 6 && (frame[0] & 1) === 0) this.#opts.port.misdirected(frame);
    return true;
  }

  /** True while established and heartbeats arrive. */
  healthy(): boolean {
    return this.#healthy;
  }

  /** `{ name: "fastdp", mtu }`. */
  attrs(): Record<string, string | number | boolean> {
    return { name: "fastdp", mtu: this.#opts.mtu };
  }

  /** The forwarder's state; `reason` includes the last rejection when not established. */
  status(): FastdpForwarderStatus {
    const rejected = !this.#established && this.#lastReject
      ? ` (last heartbeat rejected: ${this.#lastReject})`
      : "";
    return {
      established: this.#established,
      healthy: this.#healthy,
      reason: this.#reason + rejected,
      heartbeatTimeoutMs: this.#timeoutMs,
      heartbeatsSent: this.#stats.sent,
      heartbeatsReceived: this.#stats.received,
      heartbeatsRejected: this.#stats.rejected,
      sendErrors: this.#stats.sendErrors,
    };
  }

  /** Stops heartbeats; no callbacks fire afterwards. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#opts.clock.clearTimeout(this.#sendTimer);
    this.#opts.clock.clearTimeout(this.#timeoutTimer);
    this.#healthy = false;
    this.#opts.onStop(this);
  }

  #beat(): void {
    if (this.#stopped) return;
    try {
      this.#opts.port.send(this.#frame);
      this.#stats.sent++;
    } catch (e) {
      if (this.#stats.sendErrors++ === 0) {
        this.#opts.log.warn(`cannot send heartbeat: ${e instanceof Error ? e.message : e}`);
      }
    }
    this.#schedule();
  }

  #schedule(): void {
    const { clock, timing } = this.#opts;
    clock.clearTimeout(this.#sendTimer);
    if (this.#stopped || !this.#confirmed) return;
    const slow = this.#established || this.#timedOut;
    this.#sendTimer = clock.setTimeout(
      () => this.#beat(),
      slow ? timing.slowHeartbeatMs : timing.fastHeartbeatMs,
    );
  }

  #armTimeout(): void {
    const { clock } = this.#opts;
    clock.clearTimeout(this.#timeoutTimer);
    this.#timeoutTimer = clock.setTimeout(() => this.#onTimeout(), this.#timeoutMs);
  }

  #onTimeout(): void {
    if (this.#stopped || this.#timedOut) return;
    this.#timedOut = true;
    const silence = `no heartbeat for ${seconds(this.#timeoutMs)}`;
    this.#reason = silence;
    this.#opts.log.warn(
      this.#established
        ? `${silence}, falling back to sleeve`
        : `${silence}, fastdp not established; using sleeve`,
    );
    this.#schedule();
    this.#update();
  }

  #update(): void {
    const healthy = this.#established && !this.#timedOut && !this.#stopped;
    if (healthy === this.#healthy) return;
    this.#healthy = healthy;
    this.#opts.port.setHealthy(this, healthy);
  }

  #fail(error: Error): void {
    this.#opts.log.warn(error.message);
    this.#reason = error.message;
    this.params.onError(error);
  }
}
