/**
 * weaveDNS's HTTP routes (`shared/spec/weave-protocol.md` §7.4, Weave's
 * `nameserver/http.go`), contributed to the router's control API:
 *
 * | route | meaning |
 * | --- | --- |
 * | `PUT /name/{container}/{ip}` form `fqdn=` | add our entry (ignored outside the domain); 204 |
 * | `DELETE /name/{container}/{ip}` (`?fqdn=`), `/name/{container}`, `/name` | tombstone our matching entries; 204 |
 * | `GET /name` with `Accept: application/json` | every entry as Go's JSON |
 * | `GET /domain`, `/dns-address`, `/dns-address-port` | text |
 *
 * With a store, a change is answered once it is on disk, so a name answered before a
 * `kill -9` comes back after the restart.
 *
 * A bad IP answers 400 `invalid IP address: …` as Go's `net.ParseError`.
 *
 * @module
 */
import { ApiError, type ApiRoute } from "../api/ops.ts";
import { toGoJson } from "../lib/go/json.ts";
import { formatIPv4, parseIPv4 } from "../lib/cidr.ts";
import type { Entries, Entry, EntryMatch } from "./entry.ts";
import { fqdn } from "./resolver.ts";
import { splitHostPort } from "./server.ts";

/** Largest form body read, in bytes. */
const MAX_FORM_BYTES = 64 * 1024;

/** What the routes act on (a {@link Nameserver} fits). */
export interface DnsHttpTarget {
  readonly domain: string;
  readonly entries: Entries;
  dnsAddressPort(): string;
  addEntry(containerID: string, addr: number, fqdn: string): Entry | undefined;
  deleteEntry(match: EntryMatch): Entry[];
  /** Resolves once the entries as they are now are on disk (absent: nothing is stored). */
  saved?(): Promise<void>;
}

const TEXT = { "content-type": "text/plain; charset=utf-8" };

/**
 * Builds the routes.
 *
 * @example
 * ```ts ignore
 * const ops = new FakeRouterOps(report);
 * ops.routes = dnsRoutes(nameserver);
 * ```
 */
export function dnsRoutes(ns: DnsHttpTarget): ApiRoute[] {
  const text = (body: string) => new Response(body, { headers: TEXT });
  const noContent = () => new Response(null, { status: 204 });
  const del = async (req: Request, params: Record<string, string>, url: URL) => {
    const form = await readForm(req, url);
    const name = form.get("fqdn");
    const match: EntryMatch = {};
    if (params.container !== undefined) match.containerID = params.container;
    if (params.ip !== undefined) match.addr = parseIp(params.ip);
    if (name) match.hostname = fqdn(name);
    ns.deleteEntry(match);
    await ns.saved?.();
    return noContent();
  };
  return [
    route("GET", /^\/domain$/, () => text(ns.domain)),
    route("GET", /^\/dns-address-port$/, () => text(ns.dnsAddressPort())),
    route("GET", /^\/dns-address$/, () => text(splitHostPort(ns.dnsAddressPort()).host)),
    route("PUT", /^\/name\/(?<container>[^/]+)\/(?<ip>[^/]+)$/, async (req, params, url) => {
      const addr = parseIp(params.ip);
      const form = await readForm(req, url);
      ns.addEntry(params.container, addr, form.get("fqdn") ?? "");
      await ns.saved?.();
      return noContent();
    }),
    route("DELETE", /^\/name\/(?<container>[^/]+)\/(?<ip>[^/]+)$/, del),
    route("DELETE", /^\/name\/(?<container>[^/]+)$/, del),
    route("DELETE", /^\/name$/, del),
    route("GET", /^\/name$/, (req) => {
      if (!(req.headers.get("accept") ?? "").includes("application/json")) {
        return new Response("404 page not found\n", { status: 404, headers: TEXT });
      }
      return text(entriesJson(ns.entries.all()) + "\n");
    }),
  ];
}

function route(method: ApiRoute["method"], pattern: RegExp, handle: ApiRoute["handle"]): ApiRoute {
  return { method, pattern, scope: "control", handle };
}

/**
 * The entries as Go's `json.Encoder` writes `[]Entry` (Addr as a dotted quad,
 * Origin as a number; `null` when empty).
 */
export function entriesJson(entries: readonly Entry[]): string {
  if (entries.length === 0) return "null";
  return toGoJson(entries.map((e) => ({
    ContainerID: e.containerID,
    Origin: e.origin,
    Addr: formatIPv4(e.addr),
    Hostname: e.hostname,
    Version: e.version,
    Tombstone: e.tombstone,
  })));
}

function parseIp(text: string): number {
  try {
    return parseIPv4(text);
  } catch {
    throw new ApiError(400, `invalid IP address: ${text}`);
  }
}

/** Form values as Go's `FormValue` sees them: a url-encoded body first, then the query. */
async function readForm(req: Request, url: URL): Promise<URLSearchParams> {
  const form = new URLSearchParams();
  const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type === "application/x-www-form-urlencoded" && req.body) {
    const body = await readLimited(req);
    for (const [k, v] of new URLSearchParams(body)) form.append(k, v);
  }
  for (const [k, v] of url.searchParams) form.append(k, v);
  return form;
}

async function readLimited(req: Request): Promise<string> {
  const reader = req.body!.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > MAX_FORM_BYTES) {
      await reader.cancel();
      throw new ApiError(413, `request body too large: the limit is ${MAX_FORM_BYTES} bytes`);
    }
    parts.push(value);
  }
  const bytes = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    bytes.set(p, off);
    off += p.length;
  }
  return new TextDecoder().decode(bytes);
}
