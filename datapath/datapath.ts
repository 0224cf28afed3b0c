/**
 * The data-plane seam, after Weave's `router/network_overlay.go`: an overlay
 * (sleeve, fastdp, or the switch over both) extends the mesh's overlay seam
 * with frame forwarding, and the network router (MAC learning, forwarding
 * decisions) consumes frames that overlays deliver.
 *
 * Frame keys carry Weave's meaning (`../shared/spec/weave-protocol.md` §3):
 * `srcPeer` is the original source peer, `dstPeer` the final destination for
 * unicast or the next hop for broadcast.
 *
 * @module
 */
import type { PeerName } from "../lib/peer_name.ts";
import type { Overlay, OverlayConnection } from "../mesh/overlay.ts";

/** Who a frame is from and for, in overlay terms. */
export interface ForwardKey {
  srcPeer: PeerName;
  dstPeer: PeerName;
}

/** Receives frames that arrived over an overlay (implemented by the network router). */
export interface FrameConsumer {
  /**
   * A frame arrived from `key.srcPeer` (possibly relayed) for `key.dstPeer`.
   * `frame` is only valid during the call (the buffer is reused).
   */
  consume(key: ForwardKey, frame: Uint8Array, opts: { fromBroadcast: boolean }): void;
}

/** How a frame is being forwarded. */
export interface ForwardOptions {
  /** The frame is a copy of a broadcast (or of a frame to an unknown MAC). */
  fromBroadcast: boolean;
  /** The next hop must pass this broadcast copy on to peers beyond it. */
  relay?: boolean;
}

/** An overlay connection that can carry data frames. */
export interface OverlayForwarder extends OverlayConnection {
  /**
   * Sends one Ethernet frame to the remote of this connection; may queue and
   * aggregate. `frame` is only valid during the call. Returns false when the
   * frame was not taken (too big, not established, or a frame this datapath
   * cannot carry, e.g. one the remote must relay); the switch then tries the
   * next working overlay. `relay` marks a broadcast copy the remote must pass on.
   */
  forward(key: ForwardKey, frame: Uint8Array, opts: ForwardOptions): boolean;
  /** True while this forwarder's data path is usable (heartbeats flowing). */
  healthy(): boolean;
}

/** An overlay that carries data frames. */
export interface NetworkOverlay extends Overlay {
  /** Where frames that arrive for us go (set once, before start). */
  setConsumer(consumer: FrameConsumer): void;
  /** The forwarder of the connection to `peer`, if any (established or not). */
  forwarderTo(peer: PeerName): OverlayForwarder | undefined;
  /** Drops cached state that depends on short IDs or routes (fastdp flows). */
  invalidateRoutes(): void;
}
