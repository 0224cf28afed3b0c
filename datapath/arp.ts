/**
 * Gratuitous ARP frames for the datapath; the pure frame builder lives in `lib/arp.ts` (shared
 * with the CNI plugin).
 *
 * @module
 */
export { ARP_FRAME_SIZE, gratuitousArp } from "../lib/arp.ts";
