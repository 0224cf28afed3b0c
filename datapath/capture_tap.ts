/**
 * The TAP port through which sleeve sees and injects the bridge's frames (`vethwe-pcap`, as
 * Weave names its pcap port). It is isolated on the bridge, so frames that came in over
 * fastdp's VXLAN ports are not captured and re-sent, and frames injected from sleeve never
 * leave through VXLAN. The TAP is non-persistent: closing it removes the device.
 *
 * @module
 */
import {
  deleteLink,
  findLink,
  type Netlink,
  openTap,
  setBridgePortIsolated,
  setLinkUp,
  setMaster,
  type Tap,
} from "../sys/mod.ts";

/** The capture port's device name. */
export const CAPTURE_TAP_NAME = "vethwe-pcap";
/** The largest MTU a TAP accepts (65535 minus its Ethernet header). */
export const CAPTURE_TAP_MTU = 65521;

/**
 * Opens the capture TAP (with vnet headers and offloads) as an isolated, up port of `bridge`,
 * replacing a stale device of that name. On failure nothing is left behind.
 *
 * @example
 * ```ts ignore
 * using tap = openCaptureTap(nl, "weave");
 * tap.name; // "vethwe-pcap"
 * ```
 */
export function openCaptureTap(nl: Netlink, bridge: string): Tap {
  if (findLink(nl, CAPTURE_TAP_NAME)) deleteLink(nl, CAPTURE_TAP_NAME);
  const tap = openTap(CAPTURE_TAP_NAME, { mtu: CAPTURE_TAP_MTU, offload: true });
  try {
    setMaster(nl, CAPTURE_TAP_NAME, bridge);
    setBridgePortIsolated(nl, CAPTURE_TAP_NAME, true);
    setLinkUp(nl, CAPTURE_TAP_NAME);
  } catch (e) {
    tap.close();
    throw e;
  }
  return tap;
}
