/**
 * One sleeve connection (spec §4.4): proves the UDP path with heartbeats, reports it
 * established, measures fragmentation and the path MTU, and carries data frames.
 *
 * Control path: `confirm()` starts 500 ms heartbeats (sent at once when the remote UDP address
 * is known: the remote TCP address when we dialled, otherwise learned from the first valid
 * heartbeat) and a 60 s heartbeat timeout. The first valid heartbeat from the remote is
 * answered over TCP with ConnectionEstablished; receiving ConnectionEstablished makes the
 * connection established, slows heartbeats to 10 s, starts the fragmentation test (60001-byte
 * frame, every 5 min) and sends the 60000-byte DF probe. When a DF send fails with EMSGSIZE the
 * kernel's path MTU (`IP_MTU`) starts the binary MTU search (pmtu.ts; `Effective MTU verified at N`).
 * Where the probe fits (loopback) no search runs and the MTU stays 65535, as in Weave.
 *
 * Data path: {@link SleeveForwarder.forward} picks the DF or non-DF path (`choosePath`),
 * copies the frame into that path's {@link FrameBatch}, and flushes the batches in a
 * microtask — after the caller's synchronous burst (a TAP or UDP drain loop), so one datagram
 * carries up to 100 frames. Encryption seals the batch into the overlay's shared send buffer;
 * the datagram is then queued on the overlay's train (train.ts), which sends a burst's
 * datagrams to one peer with one system call. Heartbeats and probes are sent at once.
 * Received datagrams are opened into the overlay's shared receive buffer and split in place;
 * data frames go to the frame consumer with a reused key object.
 *
 * Send errors other than EMSGSIZE are counted, not fatal (Weave failed the forwarder): a dead
 * path shows as a heartbeat timeout anyway.
 *
 * @module
 */
import type { Clock } from "../../lib/clock.ts";
import type { Logger } from "../../lib/log.ts";
import { formatPeerName, type PeerName } from "../../lib/peer_name.ts";
import type { OverlayConnectionParams } from "../../mesh/overlay.ts";
import { Errno } from "../../sys/libc.ts";
import { MAX_UDP_PAYLOAD, parseIPv4, type UdpAddr } from "../../sys/udp.ts";
import type { ForwardKey, FrameConsumer, OverlayForwarder } from "../datapath.ts";
import { choosePath, FrameBatch, Path } from "./batch.ts";
import { SleeveCipher } from "./crypto.ts";
import { PmtuSearch } from "./pmtu.ts";
import type { SendFailed } from "./train.ts";
import { fragmentIPv4, icmpFragNeeded, ipv4Addresses } from "./ipv4.ts";
import {
  encodeFrames,
  ENCRYPTED_HEADER_SIZE,
  ETHERNET_HEADER_SIZE,
  FRAG_TEST_SIZE,
  fragTestFrame,
  FRAME_HEADER_SIZE,
  HEARTBEAT_SIZE,
  heartbeatFrame,
  isAllZero,
  mtuTestFrame,
  NAME_SIZE,
  type PeerNameCache,
  peerNameKey,
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

/** Why a datagram or frame was dropped; the keys of the drop counters. */
export type SleeveDrop =
  | "malformed"
  | "unknownSender"
  | "auth"
  | "replay"
  | "misaddressed"
  | "foreignSource"
  | "staleHeartbeat"
  | "dataFrame"
  | "tooBig"
  | "noContact"
  | "sendError";

/** IPv4 + UDP headers. */
export const UDP_IP_OVERHEAD = 28;
/** The MTU before any EMSGSIZE (Weave's `DefaultMTU`). */
export const DEFAULT_MTU = 65535;
/** Size of the DF probe that provokes EMSGSIZE. */
export const PMTU_DISCOVERY_SIZE = 60000;
const NOT_BROADCAST = Object.freeze({ fromBroadcast: false });

/** What a forwarder needs from its overlay (all shared, single-threaded). */
export interface ForwarderHost {
  readonly localPeer: PeerName;
  /** Wire bytes of {@link localPeer}. */
  readonly localName: Uint8Array;
  readonly log: Logger;
  readonly clock: Clock;
  readonly timing: SleeveTiming;
  /** Reused by every seal: valid until the next send. */
  readonly sendBuffer: Uint8Array;
  /** Reused for encoding special frames before sealing. */
  readonly specialBuffer: Uint8Array;
  /** Reused for the plaintext of received encrypted datagrams. */
  readonly receiveBuffer: Uint8Array;
  /** Reused key handed to the consumer (valid during the call). */
  readonly key: ForwardKey;
  readonly names: PeerNameCache;
  /** Wire bytes of a peer name (cached). */
  nameBytes(peer: PeerName): Uint8Array;
  /** Sends one datagram now (after queued ones): bytes sent or -errno, as `sendto`. */
  send(buf: Uint8Array, length: number, to: UdpAddr, df: boolean): number;
  /**
   * Queues a data datagram (copied) to leave with others after the current burst
   * (train.ts); a refusal is reported to `onFailed` then.
   */
  queue(buf: Uint8Array, length: number, to: UdpAddr, df: boolean, onFailed: SendFailed): void;
  /** The kernel's path MTU towards `to`. */
  pathMtu(to: UdpAddr): number;
  makeAddr(ip: number, port: number): UdpAddr;
  consumer(): FrameConsumer | null;
  register(fwd: SleeveForwarder): void;
  unregister(fwd: SleeveForwarder): void;
  count(reason: SleeveDrop): void;
  countSent(frames: number): void;
}

/** The sleeve data path of one connection. */
export class SleeveForwarder implements OverlayForwarder {
  readonly remotePeer: PeerName;
  /** {@link peerNameKey} of the remote, for matching frame headers. */
  readonly remoteKey: number;
  established = false;
  readonly #host: ForwarderHost;
  readonly #params: OverlayConnectionParams;
  readonly #cipher: SleeveCipher | null;
  readonly #uidHigh: number;
  readonly #uidLow: number;
  readonly #localKey: number;
  #remote: UdpAddr | null;
  #confirmed = false;
  #stopped = false;
  #heardHeartbeat = false;
  /** The remote answered our fragmentation test: large non-DF datagrams get through. */
  #stackFrag = false;
  #mtu = DEFAULT_MTU;
  #verifiedMtu: number | undefined;
  #maxPayload = DEFAULT_MTU - UDP_IP_OVERHEAD;
  readonly #pmtu: PmtuSearch;
  #heartbeatTimer: unknown;
  #timeoutTimer: unknown;
  #fragTimer: unknown;
  #batchDF: FrameBatch | null = null;
  #batchPlain: FrameBatch | null = null;
  #flushScheduled = false;
  readonly #flushBound = () => this.#flush();
  readonly #onSendFailed: SendFailed = (r, length, to, df) => this.#sendFailed(r, length, to, df);
  #fragScratch: Uint8Array | null = null;
  #fragSrc: Uint8Array = new Uint8Array(NAME_SIZE);
  #fragDst: Uint8Array = new Uint8Array(NAME_SIZE);
  readonly #emitFragment = (f: Uint8Array) => {
    this.#enqueue(true, this.#fragSrc, this.#fragDst, f);
  };

  constructor(host: ForwarderHost, params: OverlayConnectionParams) {
    this.#host = host;
    this.#params = params;
    this.remotePeer = params.remotePeer;
    this.remoteKey = Number(params.remotePeer);
    this.#localKey = Number(host.localPeer);
    this.#uidHigh = Number((params.connUID >> 32n) & 0xffffffffn);
    this.#uidLow = Number(params.connUID & 0xffffffffn);
    this.#cipher = params.sessionKey
      ? new SleeveCipher({
        sessionKey: params.sessionKey,
        outbound: params.outbound,
        localPeer: host.localPeer,
      })
      : null;
    this.#remote = params.outbound
      ? host.makeAddr(ipOf(params.remoteAddr.hostname), params.remoteAddr.port)
      : null;
    this.#pmtu = new PmtuSearch({
      clock: host.clock,
      timing: host.timing,
      sendTest: (candidate) => this.#sendSpecial(mtuTestFrame(candidate), true),
      verified: (mtu) => this.#mtuVerified(mtu),
    });
  }

  /** True once the remote acknowledged our last fragmentation test. */
  get stackFrag(): boolean {
    return this.#stackFrag;
  }

  /** The overlay MTU frames are checked against (65535 until PMTU discovery ran). */
  get mtu(): number {
    return this.#mtu;
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
        return this.#pmtu.onVerified((body[0] << 8) | body[1]);
      default:
        this.#logger().debug(`ignoring unknown sleeve control message ${tag}`);
    }
  }

  attrs(): Record<string, string | number | boolean> {
    const attrs: Record<string, string | number | boolean> = { name: "sleeve" };
    if (this.#verifiedMtu !== undefined) attrs.mtu = this.#verifiedMtu;
    if (this.#cipher) attrs.encrypted = true;
    return attrs;
  }

  healthy(): boolean {
    return this.established && !this.#stopped;
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#pmtu.stop();
    this.#batchDF?.clear();
    this.#batchPlain?.clear();
    const { clock } = this.#host;
    clock.clearInterval(this.#heartbeatTimer);
    clock.clearTimeout(this.#timeoutTimer);
    clock.clearInterval(this.#fragTimer);
    this.#host.unregister(this);
  }

  /** Queues a data frame for the remote (§4.4 step 6); false when it was dropped. */
  forward(key: ForwardKey, frame: Uint8Array, opts: { fromBroadcast: boolean }): boolean {
    if (this.#stopped || this.#remote === null) {
      this.#host.count("noContact");
      return false;
    }
    const host = this.#host;
    const src = key.srcPeer === host.localPeer ? host.localName : host.nameBytes(key.srcPeer);
    const dst = host.nameBytes(key.dstPeer);
    switch (
      choosePath(frame, {
        mtu: this.#mtu,
        stackFrag: this.#stackFrag,
        fromBroadcast: opts.fromBroadcast,
      })
    ) {
      case Path.DF:
        return this.#enqueue(true, src, dst, frame);
      case Path.NonDF:
        return this.#enqueue(false, src, dst, frame);
      case Path.Fragment:
        this.#fragSrc = src;
        this.#fragDst = dst;
        this.#fragScratch ??= new Uint8Array(DEFAULT_MTU + ETHERNET_HEADER_SIZE);
        return fragmentIPv4(frame, this.#mtu, this.#fragScratch, this.#emitFragment) > 0;
      case Path.FragNeeded:
        this.#sendFragNeeded(key, frame);
        return false;
      default: {
        const [s, d] = ipv4Addresses(frame);
        this.#logger().info(`dropping too big DF broadcast frame (${s} -> ${d}): MTU=${this.#mtu}`);
        host.count("tooBig");
        return false;
      }
    }
  }

  /** ICMP 3,4 back to the frame's sender, delivered as if it came from the destination peer. */
  #sendFragNeeded(key: ForwardKey, frame: Uint8Array): void {
    const icmp = icmpFragNeeded(frame, this.#mtu);
    this.#host.count("tooBig");
    const consumer = this.#host.consumer();
    if (!icmp || !consumer) return;
    const [s, d] = ipv4Addresses(frame);
    this.#host.log.info(`Sending ICMP 3,4 (${d} -> ${s}): PMTU=${this.#mtu}`);
    consumer.consume({ srcPeer: key.dstPeer, dstPeer: key.srcPeer }, icmp, NOT_BROADCAST);
  }

  #enqueue(df: boolean, src: Uint8Array, dst: Uint8Array, frame: Uint8Array): boolean {
    const batch = df
      ? (this.#batchDF ??= this.#newBatch())
      : (this.#batchPlain ??= this.#newBatch());
    if (batch.count > 0 && !batch.fits(frame.length, this.#maxPayload)) this.#send(batch, df);
    const limit = df ? this.#maxPayload : MAX_UDP_PAYLOAD;
    if (!batch.fits(frame.length, limit)) {
      this.#logger().debug(
        `Dropping too big frame during forwarding: frame len ${frame.length}, limit ${limit}`,
      );
      this.#host.count("tooBig");
      return false;
    }
    batch.append(src, dst, frame);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flushBound);
    }
    return true;
  }

  #newBatch(): FrameBatch {
    const overhead = this.#cipher ? ENCRYPTED_HEADER_SIZE + SECRETBOX_OVERHEAD : NAME_SIZE;
    return new FrameBatch(DEFAULT_MTU + 1, overhead);
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#stopped) return;
    if (this.#batchPlain && this.#batchPlain.count > 0) this.#send(this.#batchPlain, false);
    if (this.#batchDF && this.#batchDF.count > 0) this.#send(this.#batchDF, true);
  }

  /** Seals (if encrypted) and sends a batch, then empties it. */
  #send(batch: FrameBatch, df: boolean): void {
    const to = this.#remote!;
    const frames = batch.count;
    let buf: Uint8Array;
    let length: number;
    if (this.#cipher) {
      buf = this.#host.sendBuffer;
      length = this.#cipher.sealInto(batch.bytes.subarray(NAME_SIZE, batch.end), df, buf);
    } else {
      buf = batch.bytes;
      buf.set(this.#host.localName, 0);
      length = batch.end;
    }
    batch.clear();
    this.#host.queue(buf, length, to, df, this.#onSendFailed);
    this.#host.countSent(frames);
  }

  /** Sends one datagram now; handles EMSGSIZE on the DF path (PMTU discovery). */
  #sendDatagram(buf: Uint8Array, length: number, to: UdpAddr, df: boolean): void {
    const r = this.#host.send(buf, length, to, df);
    if (r < 0) this.#sendFailed(r, length, to, df);
  }

  /** A datagram the kernel refused (now or when its train left). */
  #sendFailed(r: number, length: number, to: UdpAddr, df: boolean): void {
    if (r === -Errno.EMSGSIZE && df) {
      if (!this.#stopped) this.#onMessageTooBig(to, length);
    } else {
      this.#host.count("sendError");
      this.#logger().debug(`send of ${length} bytes failed: errno ${-r}`);
    }
  }

  #onMessageTooBig(to: UdpAddr, length: number): void {
    let pmtu: number;
    try {
      pmtu = this.#host.pathMtu(to);
    } catch (e) {
      this.#logger().warn(`cannot read the path MTU: ${e instanceof Error ? e.message : e}`);
      return;
    }
    this.#logger().info(
      `EMSGSIZE on send, expecting PMTU update (IP packet was ${
        length + UDP_IP_OVERHEAD
      } bytes, payload was ${length} bytes)`,
    );
    const mtu = pmtu - this.#overheadDF();
    if (!this.#pmtu.wants(mtu)) return;
    this.#maxPayload = pmtu - UDP_IP_OVERHEAD;
    this.#mtu = mtu;
    this.#pmtu.begin(mtu);
  }

  /** Handles a datagram whose sender name is our remote peer; never throws. */
  receive(bytes: Uint8Array, fromIp: number, fromPort: number): void {
    let plain: Uint8Array;
    let pos: number;
    let end: number;
    if (this.#cipher) {
      const before = this.#cipher.drops.replay;
      end = this.#cipher.openInto(bytes, this.#host.receiveBuffer);
      if (end < 0) {
        this.#host.count(this.#cipher.drops.replay > before ? "replay" : "auth");
        return;
      }
      plain = this.#host.receiveBuffer;
      pos = 0;
    } else {
      plain = bytes;
      pos = NAME_SIZE;
      end = bytes.length;
    }
    // Unencrypted, the sender name proves nothing: anyone can write it. Only heartbeats (which
    // carry the connection's UID, exchanged over TCP) are taken from elsewhere; everything else
    // only from the address this forwarder talks to. Sealed datagrams prove their sender.
    const fromRemote = this.#cipher !== null ||
      (this.#remote !== null && this.#remote.is(fromIp, fromPort));
    while (pos < end) {
      if (end - pos < FRAME_HEADER_SIZE) return this.#host.count("malformed");
      const length = (plain[pos + 12] << 8) | plain[pos + 13];
      const start = pos + FRAME_HEADER_SIZE;
      if (start + length > end || length < ETHERNET_HEADER_SIZE) {
        return this.#host.count("malformed");
      }
      if (isAllZero(plain, start, start + ETHERNET_HEADER_SIZE)) {
        if (
          peerNameKey(plain, pos) !== this.remoteKey ||
          peerNameKey(plain, pos + 6) !== this.#localKey
        ) {
          this.#host.count("misaddressed");
        } else if (!fromRemote && length !== HEARTBEAT_SIZE) {
          this.#host.count("foreignSource");
        } else {
          this.#onSpecial(plain.subarray(start, start + length), fromIp, fromPort);
        }
      } else if (!fromRemote) {
        this.#host.count("foreignSource");
      } else {
        this.#deliver(plain, pos, start, length);
      }
      if (this.#stopped) return;
      pos = start + length;
    }
  }

  #deliver(plain: Uint8Array, pos: number, start: number, length: number): void {
    const consumer = this.#host.consumer();
    if (!consumer) return this.#host.count("dataFrame");
    const key = this.#host.key;
    key.srcPeer = this.#host.names.read(plain, pos);
    key.dstPeer = this.#host.names.read(plain, pos + NAME_SIZE);
    consumer.consume(key, plain.subarray(start, start + length), NOT_BROADCAST);
  }

  #onSpecial(frame: Uint8Array, fromIp: number, fromPort: number): void {
    if (frame.length === HEARTBEAT_SIZE) {
      const e = ETHERNET_HEADER_SIZE;
      const high =
        ((frame[e] << 24) | (frame[e + 1] << 16) | (frame[e + 2] << 8) | frame[e + 3]) >>>
        0;
      const low = ((frame[e + 4] << 24) | (frame[e + 5] << 16) | (frame[e + 6] << 8) |
        frame[e + 7]) >>> 0;
      if (high !== this.#uidHigh || low !== this.#uidLow) return this.#host.count("staleHeartbeat");
      return this.#onHeartbeat(fromIp, fromPort);
    }
    if (frame.length === FRAG_TEST_SIZE) {
      if (isAllZero(frame)) this.#sendControl(SleeveControlTag.FragmentationReceived);
      return;
    }
    this.#sendControl(SleeveControlTag.PMTUVerified, u16(frame.length - ETHERNET_HEADER_SIZE));
  }

  #onHeartbeat(fromIp: number, fromPort: number): void {
    const known = this.#remote;
    if (!known || !known.is(fromIp, fromPort)) {
      this.#remote = this.#host.makeAddr(fromIp, fromPort);
      if (!known) this.#sendHeartbeat();
      else this.#logger().info(`Peer UDP address changed to ${this.#remote}`);
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
    this.#sendSpecial(new Uint8Array(PMTU_DISCOVERY_SIZE), true);
    if (!this.#stopped) this.#params.onEstablished();
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

  /** The PMTU search ended: frames are checked against `mtu` from now on. */
  #mtuVerified(mtu: number): void {
    this.#mtu = mtu;
    this.#verifiedMtu = mtu;
    this.#maxPayload = mtu + this.#overheadDF() - UDP_IP_OVERHEAD;
    this.#logger().info(`Effective MTU verified at ${mtu}`);
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
    const to = this.#remote;
    if (!to || this.#stopped) return;
    const host = this.#host;
    const special = [{ src: host.localPeer, dst: this.remotePeer, frame }];
    if (this.#cipher) {
      const clear = encodeFrames(host.localPeer, special, host.specialBuffer);
      const length = this.#cipher.sealInto(clear.subarray(NAME_SIZE), df, host.sendBuffer);
      this.#sendDatagram(host.sendBuffer, length, to, df);
    } else {
      const clear = encodeFrames(host.localPeer, special, host.sendBuffer);
      this.#sendDatagram(host.sendBuffer, clear.length, to, df);
    }
  }

  #sendControl(tag: number, body: Uint8Array = new Uint8Array(0)): void {
    this.#params.sendControlMessage(tag, body);
  }

  /** Weave's prefix: `sleeve ->[ip:port|name(nick)]: `. */
  #logger(): Logger {
    const addr = this.#remote ? String(this.#remote) : "<nil>";
    const peer = `${formatPeerName(this.remotePeer)}(${this.#params.remoteNickName})`;
    return this.#host.log.withPrefix(`sleeve ->[${addr}|${peer}]:`);
  }
}

function u16(value: number): Uint8Array {
  return new Uint8Array([(value >> 8) & 0xff, value & 0xff]);
}

/** The IPv4 address of a TCP peer address as a number (`::ffff:` forms unmapped). */
function ipOf(hostname: string): number {
  const ip = parseIPv4(hostname);
  if (ip === undefined) {
    throw new TypeError(`Cannot use remote address "${hostname}" for sleeve: not IPv4`);
  }
  return ip;
}
