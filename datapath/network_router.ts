/**
 * The network router (after Weave's `router/network_router.go`, spec §3 "Data forwarding"):
 * the decisions between the local bridge and the overlay.
 *
 * - A frame whose source MAC is multicast, broadcast or all zeros is dropped, never learnt (as
 *   the Linux bridge drops it): no real NIC sends one, and a learnt group MAC would steer that
 *   group's traffic to one peer.
 * - Captured frame (from the bridge via the TAP): learn the source MAC as ours (a MAC known
 *   at another peer means we captured a frame we injected: dropped); drop STP
 *   (`01:80:c2:00:00:00`); a destination MAC known at peer P goes to the forwarder of
 *   `unicastNextHop(P)` with key `{src: us, dst: P}`; a local destination is dropped (the bridge
 *   delivers it); anything else is broadcast: a copy to each of `broadcastNextHops(us)` with
 *   `dst` = that hop.
 * - Frame from the overlay ({@link NetworkRouter.consume}): frames naming unknown peers are
 *   dropped; `dst ≠ us` is relayed along `unicastNextHop(dst)` without looking at MACs;
 *   `dst = us` learns `srcMAC → srcPeer` (a move invalidates the overlay's routes), is injected
 *   into the bridge and, unless the destination MAC is local, continues the broadcast along
 *   `broadcastNextHops(srcPeer)` keeping `srcPeer`. A copy never goes back to its origin.
 *
 * Hot path: MACs are numbers, the keys handed to forwarders are two reused objects (one for the
 * capture side, one for the overlay side, so a nested call cannot clobber its caller's), and
 * the `{ fromBroadcast }` options are frozen constants.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import { rateLimitedLogger } from "../lib/log_limit.ts";
import { formatPeerName, type PeerName } from "../lib/peer_name.ts";
import type { ForwardKey, FrameConsumer, NetworkOverlay } from "./datapath.ts";
import { formatMac, isUnicastMac, MacAdd, MacCache, macKey } from "./mac_cache.ts";

/** What the router needs from the mesh (MeshRouter's routes and peers). */
export interface NetworkRouterMesh {
  readonly ourName: PeerName;
  /** Next hop towards `dst` over established symmetric connections (`routes.unicast`). */
  unicastNextHop(dst: PeerName): PeerName | undefined;
  /** Our next hops for a broadcast from `origin` (`routes.broadcast`). */
  broadcastNextHops(origin: PeerName): readonly PeerName[];
  /** The nickname of a known peer (ourselves included); undefined for unknown peers. */
  peerNick(name: PeerName): string | undefined;
  /** Whether `hop` must pass our broadcasts on (some peer is reached through it); default no. */
  relaysVia?(hop: PeerName): boolean;
}

/** Options of {@link NetworkRouter}. */
export interface NetworkRouterOptions {
  mesh: NetworkRouterMesh;
  overlay: NetworkOverlay;
  /** Writes a frame to the local bridge (the TAP); `frame` is only valid during the call. */
  inject(frame: Uint8Array): void;
  log: Logger;
  /** Milliseconds since the epoch; default `Date.now`. */
  now?: () => number;
  /** MAC expiry; default 10 minutes. */
  macMaxAgeMs?: number;
}

/** A MAC for the report (`Router.MACs[]`). */
export interface MacReport {
  Mac: string;
  Name: string;
  NickName: string;
  /** RFC 3339 time. */
  LastSeen: string;
}

/** Frame counters of {@link NetworkRouter}. */
export interface NetworkRouterStats {
  captured: number;
  injected: number;
  forwarded: number;
  relayed: number;
  dropped: number;
}

const STP_MAC = 0x0180c2000000;
const ETHERNET_HEADER = 14;
const UNICAST = Object.freeze({ fromBroadcast: false });
const BROADCAST = Object.freeze({ fromBroadcast: true });
const BROADCAST_RELAY = Object.freeze({ fromBroadcast: true, relay: true });

/**
 * MAC learning and forwarding between the bridge and the overlay.
 *
 * @example
 * ```ts ignore
 * const capture = new TapCapture({ tap, log });
 * const router = new NetworkRouter({ mesh, overlay, inject: (f) => capture.inject(f), log });
 * overlay.setConsumer(router);
 * router.start();
 * capture.start((f) => router.handleCaptured(f));
 * ```
 */
export class NetworkRouter implements FrameConsumer {
  readonly #mesh: NetworkRouterMesh;
  readonly #overlay: NetworkOverlay;
  readonly #inject: (frame: Uint8Array) => void;
  readonly #log: Logger;
  readonly #macs: MacCache;
  readonly #now: () => number;
  readonly #maxAge: number;
  readonly #captureKey: ForwardKey = { srcPeer: 0n, dstPeer: 0n };
  readonly #relayKey: ForwardKey = { srcPeer: 0n, dstPeer: 0n };
  readonly #stats: NetworkRouterStats = {
    captured: 0,
    injected: 0,
    forwarded: 0,
    relayed: 0,
    dropped: 0,
  };
  #expiryTimer: ReturnType<typeof setInterval> | undefined;

  constructor(opts: NetworkRouterOptions) {
    this.#mesh = opts.mesh;
    this.#overlay = opts.overlay;
    this.#inject = opts.inject;
    this.#now = opts.now ?? Date.now;
    // Every line here is caused by a frame (a new MAC, a conflict, no route): at a bounded rate.
    this.#log = rateLimitedLogger(opts.log, { now: this.#now });
    this.#maxAge = opts.macMaxAgeMs ?? 10 * 60_000;
    this.#macs = new MacCache({ maxAgeMs: this.#maxAge, now: this.#now });
  }

  /** Starts the MAC expiry sweep (every tenth of the maximum age). */
  start(): void {
    this.#expiryTimer ??= setInterval(() => this.expireMacs(), this.#maxAge / 10);
  }

  /** Stops the sweep. */
  stop(): void {
    clearInterval(this.#expiryTimer);
    this.#expiryTimer = undefined;
  }

  /** Handles a frame captured from the local bridge; `frame` is only valid during the call. */
  handleCaptured(frame: Uint8Array): void {
    this.#stats.captured++;
    if (frame.length < ETHERNET_HEADER) return this.#drop();
    const us = this.#mesh.ourName;
    const src = macKey(frame, 6);
    if (!isUnicastMac(src)) return this.#drop();
    const added = this.#macs.add(src, us);
    if (added === MacAdd.New) {
      this.#log.info(`Discovered local MAC ${formatMac(src)}`);
    } else if (added === MacAdd.Conflict) {
      this.#log.error(
        `Captured frame from MAC (${formatMac(src)}) associated with another peer ${
          this.#peer(this.#macs.previous!)
        }`,
      );
      return this.#drop();
    }
    const dst = macKey(frame, 0);
    if (dst === STP_MAC) return this.#drop();
    const dstPeer = this.#macs.lookup(dst);
    if (dstPeer === us) return this.#drop();
    if (dstPeer === undefined) return this.#relayBroadcast(us, frame, this.#captureKey);
    this.#captureKey.srcPeer = us;
    this.#captureKey.dstPeer = dstPeer;
    this.#relay(this.#captureKey, frame);
  }

  /** Handles a frame that arrived over an overlay (FrameConsumer). */
  consume(key: ForwardKey, frame: Uint8Array, _opts: { fromBroadcast: boolean }): void {
    const mesh = this.#mesh;
    if (
      frame.length < ETHERNET_HEADER || mesh.peerNick(key.srcPeer) === undefined ||
      mesh.peerNick(key.dstPeer) === undefined
    ) {
      return this.#drop();
    }
    const us = mesh.ourName;
    if (key.dstPeer !== us) {
      this.#stats.relayed++;
      return this.#relay(key, frame);
    }
    const src = macKey(frame, 6);
    if (!isUnicastMac(src)) return this.#drop();
    const added = this.#macs.addForced(src, key.srcPeer);
    if (added === MacAdd.New) {
      this.#log.info(`Discovered remote MAC ${formatMac(src)} at ${this.#peer(key.srcPeer)}`);
    } else if (added === MacAdd.Moved) {
      this.#log.info(
        `Discovered remote MAC ${formatMac(src)} at ${this.#peer(key.srcPeer)} (was at ${
          this.#peer(this.#macs.previous!)
        })`,
      );
      this.#overlay.invalidateRoutes();
    }
    this.#stats.injected++;
    this.#inject(frame);
    if (this.#macs.lookup(macKey(frame, 0)) === us) return;
    this.#relayBroadcast(key.srcPeer, frame, this.#relayKey);
  }

  /** Forgets MACs not seen for the maximum age, logging each as Weave does. */
  expireMacs(): void {
    for (const { mac, peer } of this.#macs.expire()) {
      this.#log.info(`Expired MAC ${formatMac(mac)} at ${this.#peer(peer)}`);
    }
  }

  /** Forgets the MACs of a peer that left the topology. */
  onPeerGone(peer: PeerName): void {
    this.#macs.deletePeer(peer);
  }

  /** The MAC table for the report. */
  macs(): MacReport[] {
    return this.#macs.entries().map((e) => ({
      Mac: formatMac(e.mac),
      Name: formatPeerName(e.peer),
      NickName: this.#mesh.peerNick(e.peer) ?? "",
      LastSeen: new Date(e.lastSeen).toISOString(),
    }));
  }

  /** The MACs (as text) currently at `peer`. */
  macsOf(peer: PeerName): string[] {
    return this.#macs.entries().filter((e) => e.peer === peer).map((e) => formatMac(e.mac));
  }

  /** Frame counters. */
  stats(): NetworkRouterStats {
    return { ...this.#stats };
  }

  #relay(key: ForwardKey, frame: Uint8Array): void {
    const hop = this.#mesh.unicastNextHop(key.dstPeer);
    if (hop === undefined) {
      this.#log.debug(`Received packet for unknown destination: ${this.#peer(key.dstPeer)}`);
      return this.#drop();
    }
    const fwd = this.#overlay.forwarderTo(hop);
    if (!fwd) {
      this.#log.debug(`Unable to find connection to relay peer ${this.#peer(hop)}`);
      return this.#drop();
    }
    if (fwd.forward(key, frame, UNICAST)) this.#stats.forwarded++;
    else this.#stats.dropped++;
  }

  #relayBroadcast(origin: PeerName, frame: Uint8Array, key: ForwardKey): void {
    const hops = this.#mesh.broadcastNextHops(origin);
    for (let i = 0; i < hops.length; i++) {
      const hop = hops[i];
      if (hop === origin) continue;
      const fwd = this.#overlay.forwarderTo(hop);
      if (!fwd) continue;
      key.srcPeer = origin;
      key.dstPeer = hop;
      const opts = this.#mesh.relaysVia?.(hop) ? BROADCAST_RELAY : BROADCAST;
      if (fwd.forward(key, frame, opts)) this.#stats.forwarded++;
    }
  }

  #drop(): void {
    this.#stats.dropped++;
  }

  #peer(name: PeerName): string {
    return `${formatPeerName(name)}(${this.#mesh.peerNick(name) ?? ""})`;
  }
}
