/**
 * The IPAM ring CRDT (Weave's `ipam/ring`): who owns which range, with the
 * entry-by-entry merge and the invariant check Go peers rely on. Pure.
 *
 * @module
 */
export * from "./ring.ts";
export { checkEntries, peerText, type RingErrorCode } from "./_entries.ts";
