/**
 * The network configuration a runtime gives on stdin (SPEC.md, "Network
 * configuration"), with Weave's keys, parsed once into a typed, defaulted,
 * validated {@link NetConf} by a pure function.
 *
 * | key | meaning | default |
 * | --- | --- | --- |
 * | `cniVersion`, `name`, `type` | the spec's | required |
 * | `bridge` | the bridge pods are attached to | `weave` |
 * | `mtu` | MTU of the veth pair; 0 = the datapath's (WEAVE_MTU, default 1376) | 0 |
 * | `hairpinMode` | the host veth may send frames back where they came from | false |
 * | `ipam` | no `type`: the router's IPAM; any other type is run as that plugin | `{}` |
 * | `ipam.subnet` | allocate in this subnet (`POST /ip/<id>/<net>/<len>`) | the default subnet |
 * | `ipam.gateway`, `ipam.routes` | the pod's gateway and routes | via the bridge |
 * | `dns` | `nameservers`, `domain`, `search`, `options`, passed into the result | none |
 * | `isGateway`, `ipMasq` | refused when true, as Weave refuses them | false |
 *
 * Unknown keys are ignored (other plugins' keys, `capabilities`, `args`).
 * Errors: not JSON → code 6; a key of the wrong type or value → code 7; a
 * refused feature → code 2; an unknown version → code 1.
 *
 * @module
 */
import { parseIPv4 } from "../lib/cidr.ts";
import { CniCode, CniError } from "./errors.ts";
import { type CniVersion, requireVersion } from "./version.ts";

/** Weave's bridge. */
export const DEFAULT_BRIDGE = "weave";

/** A route of `ipam.routes` (and of results). */
export interface RouteConf {
  /** Destination `a.b.c.d/n`, host bits zero. */
  dst: string;
  /** Next hop; absent: the pod's gateway. */
  gw?: string;
}

/** The `dns` key (and a result's `dns`). */
export interface DnsConf {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** The `ipam` key. */
export interface IpamConf {
  /** Another IPAM plugin to run; absent: the router's. */
  type?: string;
  /** Subnet to allocate in, `a.b.c.d/n` with host bits zero. */
  subnet?: string;
  gateway?: string;
  routes?: RouteConf[];
}

/** One entry of `cni.dev/valid-attachments` (GC). */
export interface Attachment {
  containerID: string;
  ifname: string;
}

/** A validated network configuration. */
export interface NetConf {
  cniVersion: CniVersion;
  name: string;
  type: string;
  bridge: string;
  mtu: number;
  hairpinMode: boolean;
  ipam: IpamConf;
  dns: DnsConf;
  /** The previous plugin's result (CHECK, chained ADD), as given. */
  prevResult?: Record<string, unknown>;
  runtimeConfig: Record<string, unknown>;
  /** GC's `cni.dev/valid-attachments`. */
  validAttachments?: Attachment[];
}

type Json = Record<string, unknown>;

/**
 * Parses stdin as a network configuration.
 *
 * @example
 * ```ts
 * import { parseNetConf } from "./config.ts";
 * const conf = parseNetConf('{"cniVersion":"1.0.0","name":"weave","type":"weave-net"}');
 * conf.bridge; // "weave"
 * ```
 */
export function parseNetConf(text: string): NetConf {
  const doc = parseJsonObject(text);
  const cniVersion = requireVersion(doc.cniVersion);
  const name = requireString(doc, "name");
  if (!/^[A-Za-z0-9][A-Za-z0-9_.\-]*$/.test(name)) {
    throw invalid(
      `"name" "${name}" must be letters, digits, _ . - starting with a letter or digit`,
    );
  }
  const type = requireString(doc, "type");
  for (const key of ["isGateway", "ipMasq"]) {
    const value = optional(doc, key, "boolean", false);
    if (value) {
      throw new CniError(
        CniCode.UnsupportedField,
        `Cannot use config "${key}": true: ${
          key === "isGateway" ? "gateway" : "IP masquerading"
        } functionality is not supported`,
      );
    }
  }
  const bridge = optional(doc, "bridge", "string", DEFAULT_BRIDGE);
  if (!/^[^/:\s]{1,15}$/.test(bridge)) invalidKey("bridge", bridge, "an interface name");
  const mtu = optional(doc, "mtu", "number", 0);
  if (!Number.isInteger(mtu) || (mtu !== 0 && (mtu < 68 || mtu > 65535))) {
    invalidKey("mtu", mtu, "0 (the bridge's) or an integer 68..65535");
  }
  const dns = doc.dns === undefined ? {} : parseDns(doc.dns, "dns");
  return {
    cniVersion,
    name,
    type,
    bridge,
    mtu,
    hairpinMode: optional(doc, "hairpinMode", "boolean", false),
    ipam: doc.ipam === undefined ? {} : parseIpam(doc.ipam),
    dns,
    prevResult: optionalObject(doc, "prevResult"),
    runtimeConfig: optionalObject(doc, "runtimeConfig") ?? {},
    validAttachments: parseAttachments(doc["cni.dev/valid-attachments"]),
  };
}

/**
 * Only the `cniVersion` of stdin (VERSION, and choosing the version of an
 * error); undefined when it cannot be read.
 */
export function peekVersion(text: string): string | undefined {
  try {
    const v = (JSON.parse(text) as Json)?.cniVersion;
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

function parseJsonObject(text: string): Json {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const what = text.trim() === "" ? "stdin is empty" : `not JSON (${(e as Error).message})`;
    throw new CniError(CniCode.DecodeFailure, `Cannot decode network config: ${what}`, {
      cause: e,
    });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new CniError(CniCode.DecodeFailure, "Cannot decode network config: not a JSON object");
  }
  return doc as Json;
}

function parseIpam(value: unknown): IpamConf {
  if (!isObject(value)) invalidKey("ipam", value, "an object");
  const ipam = value as Json;
  const out: IpamConf = {};
  const type = optional(ipam, "type", "string", "", "ipam.");
  if (type !== "") {
    if (!/^[A-Za-z0-9_.\-]+$/.test(type)) invalidKey("ipam.type", type, "a plugin file name");
    out.type = type;
  }
  if (ipam.subnet !== undefined) out.subnet = parseSubnet(ipam.subnet, "ipam.subnet");
  if (ipam.gateway !== undefined) out.gateway = parseIp(ipam.gateway, "ipam.gateway");
  if (ipam.routes !== undefined) {
    if (!Array.isArray(ipam.routes)) invalidKey("ipam.routes", ipam.routes, "an array of routes");
    out.routes = (ipam.routes as unknown[]).map((r, i) => parseRoute(r, `ipam.routes[${i}]`));
  }
  return out;
}

/** A `{dst, gw?}` route. */
export function parseRoute(value: unknown, where: string): RouteConf {
  if (!isObject(value)) invalidKey(where, value, 'an object {"dst": "a.b.c.d/n"}');
  const r = value as Json;
  const route: RouteConf = { dst: parseSubnet(r.dst, `${where}.dst`) };
  if (r.gw !== undefined) route.gw = parseIp(r.gw, `${where}.gw`);
  return route;
}

function parseDns(value: unknown, where: string): DnsConf {
  if (!isObject(value)) invalidKey(where, value, "an object");
  const d = value as Json;
  const out: DnsConf = {};
  if (d.nameservers !== undefined) {
    out.nameservers = stringList(d.nameservers, `${where}.nameservers`);
  }
  if (d.domain !== undefined) {
    if (typeof d.domain !== "string") invalidKey(`${where}.domain`, d.domain, "a string");
    out.domain = d.domain as string;
  }
  if (d.search !== undefined) out.search = stringList(d.search, `${where}.search`);
  if (d.options !== undefined) out.options = stringList(d.options, `${where}.options`);
  return out;
}

function parseAttachments(value: unknown): Attachment[] | undefined {
  if (value === undefined) return undefined;
  const key = "cni.dev/valid-attachments";
  if (!Array.isArray(value)) invalidKey(key, value, "an array");
  return (value as unknown[]).map((a, i) => {
    const e = a as Json;
    if (!isObject(a) || typeof e.containerID !== "string" || typeof e.ifname !== "string") {
      invalidKey(`${key}[${i}]`, a, '{"containerID": "...", "ifname": "..."}');
    }
    return { containerID: e.containerID as string, ifname: e.ifname as string };
  });
}

/** `a.b.c.d/n` with host bits zero. */
function parseSubnet(value: unknown, key: string): string {
  const m = typeof value === "string" ? /^([0-9.]+)\/(\d{1,2})$/.exec(value) : null;
  if (!m || Number(m[2]) > 32 || !isIPv4(m[1])) invalidKey(key, value, "a CIDR a.b.c.d/n");
  const prefix = Number(m![2]);
  const addr = parseIPv4(m![1]);
  const size = 2 ** (32 - prefix);
  if (addr % size !== 0) {
    const net = Math.floor(addr / size) * size;
    const fixed = [24, 16, 8, 0].map((s) => (net >>> s) & 255).join(".");
    invalidKey(key, value, `a network address (host bits zero, e.g. ${fixed}/${prefix})`);
  }
  return value as string;
}

function parseIp(value: unknown, key: string): string {
  if (typeof value !== "string" || !isIPv4(value)) invalidKey(key, value, "an IPv4 address");
  return value as string;
}

function isIPv4(text: string): boolean {
  try {
    parseIPv4(text);
    return true;
  } catch {
    return false;
  }
}

function stringList(value: unknown, key: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    invalidKey(key, value, "an array of strings");
  }
  return value as string[];
}

function isObject(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function requireString(doc: Json, key: string): string {
  const v = doc[key];
  if (typeof v !== "string" || v === "") {
    throw invalid(v === undefined ? `"${key}" is missing` : `"${key}" must be a non-empty string`);
  }
  return v;
}

function optional<T extends "string" | "number" | "boolean">(
  doc: Json,
  key: string,
  kind: T,
  fallback: T extends "string" ? string : T extends "number" ? number : boolean,
  prefix = "",
): T extends "string" ? string : T extends "number" ? number : boolean {
  const v = doc[key];
  if (v === undefined || v === null) return fallback;
  const actual: string = typeof v;
  if (actual !== kind) invalidKey(prefix + key, v, `a ${kind}`);
  return v as typeof fallback;
}

function optionalObject(doc: Json, key: string): Json | undefined {
  const v = doc[key];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) invalidKey(key, v, "an object");
  return v as Json;
}

function invalidKey(key: string, value: unknown, want: string): never {
  throw invalid(`"${key}" is ${JSON.stringify(value)}: want ${want}`);
}

function invalid(message: string): CniError {
  return new CniError(CniCode.InvalidConfig, `Cannot use network config: ${message}`);
}
