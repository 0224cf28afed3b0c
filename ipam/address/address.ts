/**
 * IPAM address arithmetic, after Weave's `net/address`: an IPv4 address, an
 * offset and a count are all unsigned 32-bit numbers held in a JS `number`;
 * a {@link Range} is the half-open interval `[start, end)`. A range's `end`
 * may be 2^32 (one past 255.255.255.255); everything else stays in uint32.
 *
 * @module
 */
import { type Cidr, formatIPv4 } from "../../lib/cidr.ts";

/** An IPv4 address as an unsigned 32-bit number. */
export type Address = number;
/** A distance between two addresses (uint32). */
export type Offset = number;
/** A number of addresses (uint32). */
export type Count = number;

/** The half-open address interval `[start, end)`; `start <= end`. */
export interface Range {
  start: Address;
  end: Address;
}

/** The largest uint32 value. */
export const MAX_UINT32 = 0xffffffff;

/**
 * Builds the range of `size` addresses from `start`.
 *
 * @example
 * ```ts
 * import { newRange } from "./address.ts";
 * newRange(0x0a200000, 256); // { start: 0x0a200000, end: 0x0a200100 }
 * ```
 */
export function newRange(start: Address, size: Count): Range {
  return { start, end: start + size };
}

/** Number of addresses in `r` (0 when empty). */
export function rangeSize(r: Range): Count {
  return r.end > r.start ? r.end - r.start : 0;
}

/** Whether `addr` lies in `[r.start, r.end)`. */
export function rangeContains(r: Range, addr: Address): boolean {
  return addr >= r.start && addr < r.end;
}

/** Whether two ranges share at least one address (Go `Range.Overlaps`). */
export function rangesOverlap(a: Range, b: Range): boolean {
  return !(a.start >= b.end || a.end <= b.start);
}

/** Whether two ranges are the same interval. */
export function rangesEqual(a: Range, b: Range): boolean {
  return a.start === b.start && a.end === b.end;
}

/**
 * Formats a range as Go's `Range.String`: first and last address, e.g.
 * `10.32.0.0-10.32.0.255`.
 */
export function formatRange(r: Range): string {
  return `${formatIPv4(r.start)}-${formatIPv4((r.end - 1) >>> 0)}`;
}

/**
 * Formats a range as a CIDR when its size is a power of two (Go
 * `Range.AsCIDRString`, which does not check alignment), else as
 * {@link formatRange}.
 *
 * @example
 * ```ts
 * import { rangeAsCidrString } from "./address.ts";
 * rangeAsCidrString({ start: 0x0a200000, end: 0x0a300000 }); // "10.32.0.0/12"
 * ```
 */
export function rangeAsCidrString(r: Range): string {
  let prefix = 32;
  for (let size = rangeSize(r); size > 1; size = Math.floor(size / 2)) {
    if (size % 2 !== 0) return formatRange(r);
    prefix--;
  }
  return `${formatIPv4(r.start)}/${prefix}`;
}

/** The whole block of a CIDR, network and broadcast addresses included. */
export function cidrRange(c: Cidr): Range {
  return newRange(c.network, 2 ** (32 - c.prefix));
}

/**
 * The allocatable addresses of a subnet (Go `CIDR.HostRange`): the network
 * and broadcast addresses are excluded, as RFC 1122 asks. For /31 and /32 the
 * result is empty (Go computes an empty or inverted range there, from which
 * nothing can be allocated either).
 *
 * @example
 * ```ts
 * import { hostRange } from "./address.ts";
 * hostRange({ network: 0x0a200000, prefix: 24 }); // { start: 0x0a200001, end: 0x0a2000ff }
 * ```
 */
export function hostRange(c: Cidr): Range {
  const size = 2 ** (32 - c.prefix);
  if (size <= 2) return { start: c.network + 1, end: c.network + 1 };
  return newRange(c.network + 1, size - 2);
}

/** Highest power of two not above `v` (0 for 0), as Go's `msb`. */
function highestPowerOfTwo(v: Count): Count {
  if (v < 1) return 0;
  let p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}

/**
 * The biggest CIDR-aligned block inside a non-empty range, exactly as Go's
 * `Range.BiggestCIDRRange` picks it (used by donations).
 *
 * @example
 * ```ts
 * import { biggestCidrRange } from "./address.ts";
 * biggestCidrRange({ start: 3, end: 8 }); // { start: 4, end: 8 }
 * ```
 */
export function biggestCidrRange(r: Range): Range {
  const size = rangeSize(r);
  const top = highestPowerOfTwo(size);
  if (top === 0) return { start: r.start, end: r.start };
  const maskedSize = size % top;
  const maskedStart = r.start % top;
  if (maskedStart === 0) return newRange(r.start, top);
  if (top - maskedStart <= maskedSize) return newRange(r.start + top - maskedStart, top);
  const half = top / 2;
  if (half >= maskedStart) return newRange(r.start + half - maskedStart, half);
  return newRange(r.start + top - maskedStart, half);
}

/** Checks that `n` is a uint32 (an address, offset, count or version). */
export function isUint32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= MAX_UINT32;
}
