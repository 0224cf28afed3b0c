/**
 * Parsing of the allocator's configuration texts: `--ipalloc-init` and
 * subnets (Weave's `ParseCIDRSubnet`, with its error texts).
 *
 * @module
 */
import { type Cidr, parseIPv4 } from "../lib/cidr.ts";
import { parsePeerName, type PeerName } from "../lib/peer_name.ts";

/** How the ring gets created (`--ipalloc-init`). */
export type IpamInit =
  | { mode: "consensus"; count?: number }
  | { mode: "seed"; seeds: PeerName[] }
  | { mode: "observer" };

/** Smallest subnet allocated from: network and broadcast are excluded, so 2 would be too small. */
export const MIN_SUBNET_SIZE = 4;

/**
 * Parses `consensus[=N]`, `seed=<peer>,...` or `observer` (empty means consensus).
 *
 * @example
 * ```ts
 * import { parseIpamInit } from "./_init.ts";
 * parseIpamInit("consensus=3"); // { mode: "consensus", count: 3 }
 * ```
 */
export function parseIpamInit(text: string): IpamInit {
  const fail = (detail: string): never => {
    throw new SyntaxError(`Cannot parse --ipalloc-init "${text}": ${detail}`);
  };
  if (text === "" || text === "consensus") return { mode: "consensus" };
  if (text === "observer") return { mode: "observer" };
  const count = /^consensus=(\d+)$/.exec(text);
  if (count) {
    const n = Number(count[1]);
    if (n < 1) fail("the peer count must be at least 1");
    return { mode: "consensus", count: n };
  }
  if (text.startsWith("seed=")) {
    const names = text.slice(5).split(",").filter((s) => s !== "");
    if (names.length === 0) fail("no seed peers given");
    try {
      return { mode: "seed", seeds: names.map(parsePeerName) };
    } catch (e) {
      return fail((e as Error).message);
    }
  }
  return fail("expected consensus[=<count>], seed=<peer>,... or observer");
}

/**
 * Parses a subnet to allocate in: host bits must be zero and it must hold at
 * least {@link MIN_SUBNET_SIZE} addresses (Go's messages).
 *
 * @example
 * ```ts
 * import { parseSubnet } from "./_init.ts";
 * parseSubnet("10.32.0.0/12"); // { network: 0x0a200000, prefix: 12 }
 * ```
 */
export function parseSubnet(text: string): Cidr {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!m || Number(m[2]) > 32) throw new SyntaxError(`invalid CIDR address: ${text}`);
  let addr: number;
  try {
    addr = parseIPv4(m[1]);
  } catch {
    throw new SyntaxError(`invalid CIDR address: ${text}`);
  }
  const prefix = Number(m[2]);
  const size = 2 ** (32 - prefix);
  if (addr % size !== 0) {
    throw new RangeError(`invalid subnet - bits after network prefix are not all zero: ${text}`);
  }
  if (size < MIN_SUBNET_SIZE) {
    throw new RangeError(`invalid subnet - smaller than minimum size ${MIN_SUBNET_SIZE}: ${text}`);
  }
  return { network: addr, prefix };
}

/** Parses `a.b.c.d/n` keeping the host part (an address with its prefix length). */
export function parseAddressCidr(text: string): { addr: number; prefix: number } {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!m || Number(m[2]) > 32) throw new SyntaxError(`invalid CIDR address: ${text}`);
  try {
    return { addr: parseIPv4(m[1]), prefix: Number(m[2]) };
  } catch {
    throw new SyntaxError(`invalid CIDR address: ${text}`);
  }
}
