/**
 * The Paxos that seeds the ring (Weave's `ipam/paxos`, pure) and the
 * allocator's driver of it (when to propose, whom to tell, with timers).
 *
 * @module
 */
export * from "./paxos.ts";
export * from "./consensus.ts";
