/**
 * Weave's VXLAN tunnel IDs and our per-peer device names (spec §5.2).
 *
 * A VNI carries two 12-bit short IDs: `src | dst << 12`, where src is the sending (original
 * source) peer and dst the receiving one. Each remote peer P gets its own VXLAN device, because
 * plain Linux VXLAN cannot pick a VNI per destination: it listens on VNI `p | l << 12` (what P
 * sends to us, l being our short ID) and sends with `l | p << 12`.
 *
 * @module
 */
import type { PeerName } from "../../lib/peer_name.ts";

/** The largest short ID (12 bits). */
export const MAX_SHORT_ID = 0xfff;
/** Prefix of our VXLAN device names; 3 + 12 hex digits = 15, the kernel's IFNAMSIZ - 1. */
export const DEVICE_PREFIX = "vxw";

function checkShortID(id: number, what: string): void {
  if (!Number.isInteger(id) || id < 0 || id > MAX_SHORT_ID) {
    throw new RangeError(`Cannot compute VNI: ${what} short ID ${id} is not in 0..4095`);
  }
}

/**
 * The VNI of frames from peer `src` to peer `dst` (short IDs): `src | dst << 12`.
 *
 * @example
 * ```ts
 * import { tunnelVNI } from "./vni.ts";
 * tunnelVNI(0x123, 0x456); // 0x456123
 * ```
 */
export function tunnelVNI(src: number, dst: number): number {
  checkShortID(src, "source");
  checkShortID(dst, "destination");
  return src | (dst << 12);
}

/**
 * Splits a VNI into its source and destination short IDs.
 *
 * @example
 * ```ts
 * import { splitVNI } from "./vni.ts";
 * splitVNI(0x456123); // { src: 0x123, dst: 0x456 }
 * ```
 */
export function splitVNI(vni: number): { src: number; dst: number } {
  if (!Number.isInteger(vni) || vni < 0 || vni > 0xffffff) {
    throw new RangeError(`Cannot split VNI ${vni}: not in 0..16777215`);
  }
  return { src: vni & MAX_SHORT_ID, dst: vni >>> 12 };
}

/** The VNIs of the device for one remote peer. */
export interface PeerVNIs {
  /** What the remote sends to us with: `remote | local << 12`; the device's `id`. */
  receive: number;
  /** What we send to the remote with: `local | remote << 12`; the FDB entry's `vni`. */
  send: number;
}

/**
 * Both VNIs between us (`local`) and a remote peer.
 *
 * @example
 * ```ts
 * import { peerVNIs } from "./vni.ts";
 * peerVNIs(1, 2); // { receive: 0x001002, send: 0x002001 }
 * ```
 */
export function peerVNIs(local: number, remote: number): PeerVNIs {
  return { receive: tunnelVNI(remote, local), send: tunnelVNI(local, remote) };
}

/**
 * The name of the VXLAN device for remote peer `peer`: `vxw` and its 12 hex digits.
 *
 * @example
 * ```ts
 * import { vxlanDeviceName } from "./vni.ts";
 * vxlanDeviceName(0xce3b1c2a4f01n); // "vxwce3b1c2a4f01"
 * ```
 */
export function vxlanDeviceName(peer: PeerName): string {
  if (peer < 0n || peer > 0xffff_ffff_ffffn) {
    throw new RangeError(`Cannot name VXLAN device: peer name ${peer} is not 48 bits`);
  }
  return DEVICE_PREFIX + peer.toString(16).padStart(12, "0");
}

/** The peer a device name of ours stands for, or `undefined` for any other name. */
export function peerOfDeviceName(name: string): PeerName | undefined {
  const m = /^vxw([0-9a-f]{12})$/.exec(name);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}
