/**
 * IPAM: address arithmetic, the ring CRDT, Paxos seeding, the gossip codec,
 * the allocator with its store, and its HTTP routes.
 *
 * @module
 */
export * from "./address/mod.ts";
export * from "./space/mod.ts";
export * from "./ring/mod.ts";
export * from "./paxos/mod.ts";
export * from "./gossip_codec.ts";
export * from "./gossiper.ts";
export * from "./store/mod.ts";
export * from "./allocator.ts";
export * from "./http.ts";
export { type IpamInit, MIN_SUBNET_SIZE, parseIpamInit, parseSubnet } from "./_init.ts";

export { IPAM_STATUS } from "./_report.ts";
