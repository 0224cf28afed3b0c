/**
 * Pure rtnetlink message codec: the wire units (nlmsghdr, rtattr, ifinfomsg, ifaddrmsg, rtmsg,
 * ndmsg, nlmsgerr), request builders for link/address/route/neighbour changes, and parsers for
 * the kernel's replies.
 *
 * Layout (x86_64, host byte order little-endian; IP addresses and UDP ports in network order):
 * a message is a 16-byte nlmsghdr, a fixed family header (ifinfomsg 16, ifaddrmsg 8, rtmsg 12,
 * ndmsg 12 bytes), then rtattrs — a 4-byte {len, type} head, the payload, zero padding to 4
 * bytes; a nested attribute's payload is itself a list of rtattrs. Every decoder takes
 * `(bytes, offset)`, checks lengths before reading, bounds nested lists by their parent, and
 * throws `RangeError` on truncated or hostile input; every attribute advances by at least 4
 * bytes, so no input can make a decoder loop forever. Nothing here touches the OS.
 *
 * This module re-exports the codec's parts: `constants.ts` (spec constants), `header.ts`
 * (primitives and nlmsghdr), `family_headers.ts`, `attrs.ts` (rtattr and attribute values),
 * `message.ts` (whole messages), `requests_link.ts` and `requests.ts` (request builders),
 * `replies_link.ts` and `replies.ts` (reply parsers).
 *
 * @module
 */

export * from "./constants.ts";
export * from "./header.ts";
export * from "./family_headers.ts";
export * from "./attrs.ts";
export * from "./message.ts";
export * from "./requests_link.ts";
export * from "./requests.ts";
export * from "./replies_link.ts";
export * from "./replies.ts";
