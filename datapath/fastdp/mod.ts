/**
 * The fast datapath on Linux VXLAN: the overlay, its forwarder, the host seam, the heartbeat
 * codec, VNI arithmetic, the per-peer devices and the enable/disable decision.
 *
 * @module
 */
export * from "./fastdp.ts";
export * from "./forwarder.ts";
export * from "./host.ts";
export * from "./heartbeat.ts";
export * from "./vni.ts";
export * from "./vxlan_devices.ts";
export * from "./decision.ts";
