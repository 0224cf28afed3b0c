/**
 * The overlay seam, after weaveworks/mesh `overlay.go`: the mesh asks the
 * overlay (sleeve, fastdp, or a switch over both) to prepare a data path for
 * each TCP connection, and the overlay tells the connection when that data
 * path is established or has failed. A do-nothing {@link NullOverlay} sits
 * beside it for in-process tests.
 *
 * @module
 */
import type { PeerName } from "../lib/peer_name.ts";

/** An `ip:port` pair. */
export interface HostPort {
  hostname: string;
  port: number;
}

/** What the mesh passes to {@link Overlay.prepareConnection}. */
export interface OverlayConnectionParams {
  localPeer: PeerName;
  remotePeer: PeerName;
  remoteNickName: string;
  /** Local end of the TCP connection. */
  localAddr: HostPort;
  /** Remote end of the TCP connection (the ephemeral port for inbound ones). */
  remoteAddr: HostPort;
  /** True when we dialled this connection. */
  outbound: boolean;
  /** ConnID XOR ConnID: the same value at both ends. */
  connUID: bigint;
  /** Session key, present only when the data path must be encrypted (untrusted). */
  sessionKey?: Uint8Array;
  /** The remote's features map from the handshake. */
  remoteFeatures: Record<string, string>;
  /** Sends an overlay control message over the TCP connection (tag 1–3 or 7 with body). */
  sendControlMessage(tag: number, body: Uint8Array): void;
  /** Called once, when the overlay's data path to the remote works. */
  onEstablished(): void;
  /** Called once, when the overlay gives up; the mesh then closes the TCP connection. */
  onError(error: Error): void;
}

/** The data path of one connection. */
export interface OverlayConnection {
  /** Starts heartbeats; called after the mesh has added the connection. */
  confirm(): void;
  /** Handles an overlay control message (TCP tags 1–3, 7) from the remote. */
  controlMessage(tag: number, body: Uint8Array): void;
  /** Attributes for status: `name` (overlay), `mtu`, `encrypted`. */
  attrs(): Record<string, string | number | boolean>;
  /** Tears the data path down; no callbacks fire afterwards. */
  stop(): void;
}

/** A data-path provider. */
export interface Overlay {
  /** Adds this overlay's features (e.g. `Overlays`) to our handshake features. */
  addFeaturesTo(features: Record<string, string>): void;
  /** Prepares the data path for a new connection; throws to refuse the connection. */
  prepareConnection(params: OverlayConnectionParams): OverlayConnection;
  /** Overlay diagnostics for `/report` (`OverlayDiagnostics`). */
  diagnostics(): Record<string, unknown>;
  /** Stops the overlay and every connection it prepared. */
  stop(): void | Promise<void>;
}

/**
 * An overlay that carries nothing and reports every connection established as
 * soon as it is confirmed (as mesh's NullOverlay, whose established channel is
 * closed from the start).
 */
export class NullOverlay implements Overlay {
  addFeaturesTo(_features: Record<string, string>): void {}
  prepareConnection(params: OverlayConnectionParams): OverlayConnection {
    let stopped = false;
    return {
      confirm: () => queueMicrotask(() => stopped || params.onEstablished()),
      controlMessage: () => {},
      attrs: () => ({}),
      stop: () => {
        stopped = true;
      },
    };
  }
  diagnostics(): Record<string, unknown> {
    return {};
  }
  stop(): void {}
}
