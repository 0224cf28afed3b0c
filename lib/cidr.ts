/**
 * IPv4 addresses and CIDR blocks as numbers.
 *
 * @module
 */

/** An IPv4 CIDR block: network address and prefix length. */
export interface Cidr {
  /** Network address as an unsigned 32-bit number (host bits cleared). */
  network: number;
  prefix: number;
}

/** Parses a dotted-quad IPv4 address into an unsigned 32-bit number. */
export function parseIPv4(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new SyntaxError(`Cannot parse IPv4 address "${text}"`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** Formats an unsigned 32-bit number as a dotted quad. */
export function formatIPv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}

/**
 * Parses `a.b.c.d/n`; host bits are cleared (as Go's `net.ParseCIDR` network).
 *
 * @example
 * ```ts
 * import { formatCidr, parseCidr } from "./cidr.ts";
 * formatCidr(parseCidr("10.32.1.7/12")); // "10.32.0.0/12"
 * ```
 */
export function parseCidr(text: string): Cidr {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text.trim());
  if (!m || Number(m[2]) > 32) throw new SyntaxError(`Cannot parse CIDR "${text}"`);
  const prefix = Number(m[2]);
  return { network: (parseIPv4(m[1]) & maskOf(prefix)) >>> 0, prefix };
}

/** Formats a CIDR block as `a.b.c.d/n`. */
export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.network)}/${c.prefix}`;
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Whether `ip` (dotted quad) lies in any of the blocks; false for non-IPv4 text. */
export function ipInSubnets(ip: string, subnets: readonly Cidr[]): boolean {
  let n: number;
  try {
    n = parseIPv4(ip);
  } catch {
    return false;
  }
  return subnets.some((c) => ((n & maskOf(c.prefix)) >>> 0) === c.network);
}
