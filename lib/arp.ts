/**
 * Gratuitous ARP (RFC 5227 §3 "ARP Announcement"): an ARP request, broadcast, whose sender and
 * target protocol addresses are both the announced address. Peers that hold a neighbour entry
 * for that address take the new MAC at once (Linux lets a gratuitous ARP override an entry's
 * lock time), so a container address that moved to another host is reachable again without
 * waiting for the old entry to go stale.
 *
 * @module
 */
import { parseIPv4 } from "./cidr.ts";

/** Ethernet header (14) and an IPv4-over-Ethernet ARP body (28). */
export const ARP_FRAME_SIZE = 42;
const ETHERTYPE_ARP = 0x0806;
const ARP_REQUEST = 1;

/**
 * The gratuitous ARP frame announcing that `ip` is at `mac` (`aa:bb:cc:dd:ee:ff`).
 *
 * @example
 * ```ts
 * import { gratuitousArp } from "./arp.ts";
 * gratuitousArp("02:00:00:00:00:01", "10.32.0.1").length; // 42
 * ```
 */
export function gratuitousArp(mac: string, ip: string): Uint8Array<ArrayBuffer> {
  const hw = parseMac(mac);
  const addr = parseIPv4(ip);
  const frame = new Uint8Array(ARP_FRAME_SIZE);
  const view = new DataView(frame.buffer);
  frame.fill(0xff, 0, 6); // to everyone
  frame.set(hw, 6);
  view.setUint16(12, ETHERTYPE_ARP);
  view.setUint16(14, 1); // hardware: Ethernet
  view.setUint16(16, 0x0800); // protocol: IPv4
  frame[18] = 6;
  frame[19] = 4;
  view.setUint16(20, ARP_REQUEST);
  frame.set(hw, 22); // sender MAC
  view.setUint32(28, addr); // sender IP
  // target MAC stays zero (32..37), as Linux's own announcements
  view.setUint32(38, addr); // target IP
  return frame;
}

function parseMac(mac: string): Uint8Array {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) {
    throw new TypeError(`Cannot announce from MAC "${mac}": want aa:bb:cc:dd:ee:ff`);
  }
  const bytes = Uint8Array.from(mac.split(":"), (b) => parseInt(b, 16));
  if (bytes[0] & 1) throw new TypeError(`Cannot announce from MAC "${mac}": it is multicast`);
  return bytes;
}
