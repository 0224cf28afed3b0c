/**
 * The ADD result (SPEC.md, "Success"), held in one version-neutral
 * {@link CniResult} and encoded in the shape of the version the runtime
 * asked for:
 *
 * | version | shape |
 * | --- | --- |
 * | 0.3.0, 0.3.1, 0.4.0 | `interfaces`, `ips[]` with `"version": "4"` and `interface`, `routes`, `dns` |
 * | 1.0.0 | as 0.4.0 without `ips[].version` |
 * | 1.1.0 | as 1.0.0; interfaces may carry `mtu` |
 *
 * Weave 2.8.1's plugin printed 0.1/0.2-style results without `interfaces`,
 * which containerd 1.6.0–1.6.4 could not use (user lesson 19): every version
 * here carries `interfaces` and `ips[].interface`. {@link decodeResult} reads
 * any of these shapes back (a delegated IPAM plugin's answer, CHECK's
 * `prevResult`).
 *
 * @module
 */
import type { DnsConf, RouteConf } from "./config.ts";
import { parseRoute } from "./config.ts";
import { CniCode, CniError } from "./errors.ts";
import { compareVersions } from "./version.ts";

/** An interface of a result. */
export interface ResultInterface {
  name: string;
  mac?: string;
  /** The pod's namespace path, for interfaces inside it. */
  sandbox?: string;
  mtu?: number;
}

/** An address of a result. */
export interface ResultIp {
  /** `a.b.c.d/n`, host part kept. */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

/** A version-neutral result. */
export interface CniResult {
  interfaces: ResultInterface[];
  ips: ResultIp[];
  routes: RouteConf[];
  dns: DnsConf;
}

/**
 * Encodes `result` for `cniVersion`.
 *
 * @example
 * ```ts
 * import { encodeResult } from "./result.ts";
 * const r = { interfaces: [], ips: [{ address: "10.32.0.2/12" }], routes: [], dns: {} };
 * encodeResult(r, "0.4.0").ips; // [{ version: "4", address: "10.32.0.2/12" }]
 * ```
 */
export function encodeResult(result: CniResult, cniVersion: string): Record<string, unknown> {
  const legacy = compareVersions(cniVersion, "1.0.0") < 0;
  const withMtu = compareVersions(cniVersion, "1.1.0") >= 0;
  const out: Record<string, unknown> = { cniVersion };
  if (result.interfaces.length > 0) {
    out.interfaces = result.interfaces.map((i) => {
      const e: Record<string, unknown> = { name: i.name };
      if (i.mac) e.mac = i.mac;
      if (withMtu && i.mtu) e.mtu = i.mtu;
      if (i.sandbox) e.sandbox = i.sandbox;
      return e;
    });
  }
  out.ips = result.ips.map((ip) => {
    const e: Record<string, unknown> = legacy ? { version: "4" } : {};
    e.address = ip.address;
    if (ip.gateway) e.gateway = ip.gateway;
    if (ip.interface !== undefined) e.interface = ip.interface;
    return e;
  });
  if (result.routes.length > 0) {
    out.routes = result.routes.map((r) => (r.gw ? { dst: r.dst, gw: r.gw } : { dst: r.dst }));
  }
  out.dns = { ...result.dns };
  return out;
}

/**
 * Reads a result of any supported version (0.3.0–1.1.0); CniError code 6
 * when it is not one.
 *
 * @example
 * ```ts
 * import { decodeResult } from "./result.ts";
 * decodeResult({ cniVersion: "0.4.0", ips: [{ version: "4", address: "10.1.0.2/16" }] }).ips;
 * // [{ address: "10.1.0.2/16" }]
 * ```
 */
export function decodeResult(value: unknown): CniResult {
  const bad = (what: string) =>
    new CniError(CniCode.DecodeFailure, `Cannot decode CNI result: ${what}`);
  if (typeof value !== "object" || value === null) throw bad("not a JSON object");
  const doc = value as Record<string, unknown>;
  const list = (key: string) => {
    const v = doc[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw bad(`"${key}" is not an array`);
    return v as Record<string, unknown>[];
  };
  const interfaces = list("interfaces").map((i) => {
    if (typeof i?.name !== "string") throw bad("an interface has no name");
    const out: ResultInterface = { name: i.name };
    if (typeof i.mac === "string") out.mac = i.mac;
    if (typeof i.sandbox === "string") out.sandbox = i.sandbox;
    if (typeof i.mtu === "number") out.mtu = i.mtu;
    return out;
  });
  const ips = list("ips").map((ip) => {
    if (typeof ip?.address !== "string") throw bad("an ips entry has no address");
    if (ip.version !== undefined && ip.version !== "4") {
      throw bad(`address ${ip.address} is IPv${ip.version}: only IPv4 is supported`);
    }
    const out: ResultIp = { address: ip.address };
    if (typeof ip.gateway === "string") out.gateway = ip.gateway;
    if (typeof ip.interface === "number") out.interface = ip.interface;
    return out;
  });
  let routes: RouteConf[];
  try {
    routes = list("routes").map((r, i) => parseRoute(r, `routes[${i}]`));
  } catch (e) {
    throw bad((e as Error).message);
  }
  const dns = typeof doc.dns === "object" && doc.dns !== null ? doc.dns as DnsConf : {};
  return { interfaces, ips, routes, dns: { ...dns } };
}
