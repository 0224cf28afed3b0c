/**
 * The Docker API proxy's rewrites as pure functions, after Weave 2.8.1's
 * `proxy/` (create, start and inspect interceptors):
 *
 * - **create** (`POST /containers/create`): a container that will join weave
 *   (see {@link weaveCidrs}) gets weaveDNS as an extra DNS server, the weave
 *   domain as search domain (`.` when it has a name-derived hostname), and —
 *   when it has no hostname — its name (or `--hostname-from-label` label,
 *   through `--hostname-match` / `--hostname-replacement`) as hostname with
 *   the weave domain as domainname. Weave also wrapped the entrypoint in its
 *   `weavewait` binary so the process waited for `ethwe`; we have no such
 *   binary and mark the container with the {@link ATTACH_LABEL} label instead
 *   (the proxy attaches it when it starts: a process that needs the network at
 *   its first instruction may see it a few milliseconds late).
 * - **start** with a JSON `HostConfig` body (API < 1.24 clients): the same DNS
 *   settings put back, or the container would lose them.
 * - **inspect** (`GET /containers/{id}/json`, with `--rewrite-inspect`): the
 *   weave address shows as `NetworkSettings.IPAddress` / `IPPrefixLen` (and
 *   the MAC when known).
 *
 * Everything else goes through the proxy unchanged.
 *
 * @module
 */

/** Label the proxy puts on containers it will attach (our stand-in for Weave's `/w/w` entrypoint). */
export const ATTACH_LABEL = "works.weave.proxy.attach";
/** Docker's longest hostname; a longer `name.domain` is left alone, as Weave does. */
export const MAX_DOCKER_HOSTNAME = 64;

/** The proxy's flags (Weave's names). */
export interface ProxyConfig {
  /** `--without-dns`: leave DNS settings and hostnames alone. */
  withoutDns: boolean;
  /** `--no-default-ipalloc`: attach only containers that set `WEAVE_CIDR`. */
  noDefaultIpalloc: boolean;
  /** `--rewrite-inspect`. */
  rewriteInspect: boolean;
  /** `--no-multicast-route`. */
  noMulticastRoute: boolean;
  /** `--hostname-from-label <key>` ("" for none). */
  hostnameFromLabel: string;
  /** `--hostname-match` (Go regexp syntax kept to what JavaScript shares), default `(.*)`. */
  hostnameMatch: string;
  /** `--hostname-replacement`, default `$1`. */
  hostnameReplacement: string;
}

/** Weave's defaults. */
export const DEFAULT_PROXY_CONFIG: ProxyConfig = {
  withoutDns: false,
  noDefaultIpalloc: false,
  rewriteInspect: false,
  noMulticastRoute: false,
  hostnameFromLabel: "",
  hostnameMatch: "(.*)",
  hostnameReplacement: "$1",
};

/** weaveDNS as the proxy tells containers about it; undefined when DNS is off. */
export interface DnsSettings {
  /** The weave domain with its trailing dot (`weave.local.`). */
  domain: string;
  /** The nameserver address containers use (`169.254.53.1`). */
  address: string;
}

/** A request the proxy rewrites. */
export type ProxyRoute = "create" | "start" | "inspect";

const VERSION = "^(/v[0-9.]*)?/";

/**
 * Which rewrite a request gets, if any.
 *
 * @example
 * ```ts
 * import { classifyRequest } from "./proxy_rewrite.ts";
 * classifyRequest("POST", "/v1.41/containers/create"); // "create"
 * classifyRequest("POST", "/containers/abc/attach"); // undefined
 * ```
 */
export function classifyRequest(method: string, path: string): ProxyRoute | undefined {
  if (method === "POST" && new RegExp(`${VERSION}containers/create$`).test(path)) return "create";
  if (method === "POST" && new RegExp(`${VERSION}containers/[^/]+/(re)?start$`).test(path)) {
    return "start";
  }
  if (method === "GET" && new RegExp(`${VERSION}containers/[^/]+/json$`).test(path)) {
    return "inspect";
  }
  return undefined;
}

/** The container of a start or inspect path. */
export function containerOfPath(path: string): string {
  const m = new RegExp(`${VERSION}containers/([^/]+)/`).exec(path);
  if (!m) throw new TypeError(`Cannot find a container in path "${path}"`);
  return decodeURIComponent(m[2]);
}

/** Whether and how a container joins weave. */
export type WeaveDecision =
  | { attach: true; cidrs: string[] }
  | { attach: false; reason: string };

/**
 * Weave's `weaveCIDRs`: a container joins weave unless its network mode is
 * `host`, `container:…` or a plugin network, it says `WEAVE_CIDR=none`, or
 * `--no-default-ipalloc` is on and it gives no `WEAVE_CIDR`. The answer's
 * `cidrs` are `WEAVE_CIDR`'s words (`net:default` when empty).
 *
 * @example
 * ```ts
 * import { weaveCidrs } from "./proxy_rewrite.ts";
 * weaveCidrs("default", ["WEAVE_CIDR=net:10.32.5.0/24"], false); // { attach: true, cidrs: ["net:10.32.5.0/24"] }
 * ```
 */
export function weaveCidrs(
  networkMode: string,
  env: readonly string[],
  noDefaultIpalloc: boolean,
): WeaveDecision {
  if (!["", "none", "default", "bridge"].includes(networkMode)) {
    return { attach: false, reason: `the container has '--net=${networkMode}'` };
  }
  const spec = env.find((e) => e.startsWith("WEAVE_CIDR="));
  if (spec !== undefined) {
    const value = spec.slice("WEAVE_CIDR=".length);
    if (value === "none") {
      return {
        attach: false,
        reason: "the container was created with the '-e WEAVE_CIDR=none' option",
      };
    }
    const words = value.split(/\s+/).filter((w) => w !== "");
    for (const w of words) validateCidrWord(w);
    return { attach: true, cidrs: words.length ? words : ["net:default"] };
  }
  if (noDefaultIpalloc) {
    return {
      attach: false,
      reason: "the container was created without specifying an IP address with " +
        "'-e WEAVE_CIDR=...' and the proxy was started with the '--no-default-ipalloc' option",
    };
  }
  return { attach: true, cidrs: ["net:default"] };
}

function validateCidrWord(word: string): void {
  if (word === "net:default") return;
  const bare = word.replace(/^(ip:|net:)/, "");
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(bare);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) {
    throw new ProxyRequestError(`invalid WEAVE_CIDR: ${word}`);
  }
}

/** A request the proxy refuses (answered 500 with the message, as Weave's proxy does). */
export class ProxyRequestError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProxyRequestError";
  }
}

/** What {@link rewriteCreate} decided and the body to send. */
export interface CreateRewrite {
  decision: WeaveDecision;
  /** The body to forward (the original object when nothing changed). */
  body: Record<string, unknown>;
}

/**
 * Rewrites a container-create body (see the module text). `name` is the
 * request's `?name=`.
 *
 * @example
 * ```ts
 * import { DEFAULT_PROXY_CONFIG, rewriteCreate } from "./proxy_rewrite.ts";
 * const dns = { domain: "weave.local.", address: "169.254.53.1" };
 * const { body } = rewriteCreate({ Image: "busybox", HostConfig: {} }, "web", DEFAULT_PROXY_CONFIG, dns);
 * body.Hostname; // "web"
 * ```
 */
export function rewriteCreate(
  original: Record<string, unknown>,
  name: string,
  config: ProxyConfig,
  dns: DnsSettings | undefined,
): CreateRewrite {
  const hostConfig = objectField(original, "HostConfig");
  const decision = weaveCidrs(
    stringField(hostConfig, "NetworkMode"),
    stringArray(original, "Env"),
    config.noDefaultIpalloc,
  );
  if (!decision.attach) return { decision, body: original };
  const body: Record<string, unknown> = structuredClone(original);
  const hc = objectField(body, "HostConfig");
  body.HostConfig = hc;
  body.Labels = { ...objectField(body, "Labels"), [ATTACH_LABEL]: decision.cidrs.join(" ") };
  const hostname = containerHostname(body, name, config);
  if (dns && !config.withoutDns) {
    setHostname(body, hostname, dns.domain);
    setWeaveDns(hc, hostname, dns);
  }
  return { decision, body };
}

/**
 * Puts the weave DNS settings back into a start request's `HostConfig` body
 * (clients of API < 1.24 send one), for a container the proxy marked.
 */
export function rewriteStart(
  original: Record<string, unknown>,
  container: { hostname: string; labels: Record<string, string> },
  config: ProxyConfig,
  dns: DnsSettings | undefined,
): Record<string, unknown> {
  if (!(ATTACH_LABEL in container.labels) || !dns || config.withoutDns) return original;
  const body = structuredClone(original);
  setWeaveDns(body, container.hostname, dns);
  return body;
}

/** A container's weave interface, as `--rewrite-inspect` shows it. */
export interface WeaveInterface {
  ip: string;
  prefix: number;
  mac?: string;
}

/**
 * `--rewrite-inspect`: the weave address in `NetworkSettings`.
 *
 * @example
 * ```ts
 * import { rewriteInspect } from "./proxy_rewrite.ts";
 * rewriteInspect({ NetworkSettings: { IPAddress: "" } }, { ip: "10.32.0.1", prefix: 12 });
 * // { NetworkSettings: { IPAddress: "10.32.0.1", IPPrefixLen: 12 } }
 * ```
 */
export function rewriteInspect(
  original: Record<string, unknown>,
  weave: WeaveInterface,
): Record<string, unknown> {
  const body = structuredClone(original);
  const ns = objectField(body, "NetworkSettings");
  ns.IPAddress = weave.ip;
  ns.IPPrefixLen = weave.prefix;
  if (weave.mac) ns.MacAddress = weave.mac;
  body.NetworkSettings = ns;
  return body;
}

/** The hostname Weave derives: the name (or label), through match/replacement. */
function containerHostname(
  body: Record<string, unknown>,
  name: string,
  config: ProxyConfig,
): string {
  let hostname = name;
  if (config.hostnameFromLabel !== "") {
    const label = objectField(body, "Labels")[config.hostnameFromLabel];
    if (label !== undefined && label !== null && typeof label !== "string") {
      throw new ProxyRequestError(
        `Wrong type for label "${config.hostnameFromLabel}": expected a string`,
      );
    }
    if (label) hostname = label;
  }
  return goReplaceAll(new RegExp(config.hostnameMatch), hostname, config.hostnameReplacement);
}

function setHostname(body: Record<string, unknown>, name: string, domain: string): void {
  if (stringField(body, "Hostname") !== "" || name === "") return;
  const trimmed = domain.replace(/\.$/, "");
  if (name.length + 1 + trimmed.length > MAX_DOCKER_HOSTNAME) return;
  body.Hostname = name;
  body.Domainname = trimmed;
}

function setWeaveDns(hc: Record<string, unknown>, hostname: string, dns: DnsSettings): void {
  hc.Dns = [...stringArray(hc, "Dns"), dns.address];
  if (stringArray(hc, "DnsSearch").length === 0) {
    hc.DnsSearch = hostname === "" ? [dns.domain] : ["."];
  }
}

/**
 * Go's `Regexp.ReplaceAllString`: `$1` / `${1}` / `$name` expand, and an empty
 * match right after a previous match is skipped (JavaScript's replace does not
 * skip it: `(.*)` → `x-$1` would give `x-webx-`).
 */
export function goReplaceAll(re: RegExp, input: string, template: string): string {
  const global = new RegExp(re.source, re.flags.includes("g") ? re.flags : re.flags + "g");
  let out = "";
  let last = 0;
  let prevEnd = -1;
  for (const m of input.matchAll(global)) {
    const start = m.index!;
    const end = start + m[0].length;
    if (m[0] === "" && start === prevEnd) continue;
    out += input.slice(last, start) + expandGo(template, m);
    last = end;
    prevEnd = end;
  }
  return out + input.slice(last);
}

function expandGo(template: string, m: RegExpMatchArray): string {
  return template.replace(
    /\$(\$|\{(\w+)\}|(\w+))/g,
    (_all, tok: string, braced?: string, bare?: string) => {
      if (tok === "$") return "$";
      const key = braced ?? bare!;
      const value = /^\d+$/.test(key) ? m[Number(key)] : m.groups?.[key];
      return value ?? "";
    },
  );
}

function objectField(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = o[key];
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) {
    throw new ProxyRequestError(`Wrong type for field "${key}": expected an object`);
  }
  return v as Record<string, unknown>;
}

function stringField(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") {
    throw new ProxyRequestError(`Wrong type for field "${key}": expected a string`);
  }
  return v;
}

function stringArray(o: Record<string, unknown>, key: string): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new ProxyRequestError(`Wrong type for field "${key}": expected a list of strings`);
  }
  return v as string[];
}
