/**
 * IPAM's HTTP routes (spec §6.6, Weave's `ipam/http.go` and the `/peer`
 * routes of `prog/weaver/http.go`), contributed to the router's control API:
 *
 * | route | meaning |
 * | --- | --- |
 * | `POST /ip/{id}` | allocate in the default subnet; text `10.32.0.1/12` |
 * | `POST /ip/{id}/{ip}/{prefixlen}` | allocate in that subnet |
 * | `PUT /ip/{id}/{ip}/{prefixlen}`, `PUT /ip/{id}/{ip}` | claim (`noErrorOnUnknown=true`); 204 |
 * | `GET /ip/{id}[/{ip}/{prefixlen}]` | the id's addresses, space-separated |
 * | `GET /ip` | JSON `{"owned":[{"containerid":…,"addrs":[…]}]}` |
 * | `DELETE /ip/{id}/{ip}`, `DELETE /ip/{id}` | free; 204 |
 * | `GET /ring` | prime: blocks until the ring exists |
 * | `GET /ipinfo/defaultsubnet`, `/ipinfo/tracker` | text |
 * | `DELETE /peer` | hand our ranges over and stop allocating; 204 |
 * | `DELETE /peer/{id}` | rmpeer; text `N IPs taken over from X` |
 *
 * Errors are 400 with Go's text. A waiting call whose client goes away is
 * cancelled and answers `cancelled`, as Weave does. Our addition: a waiting
 * call may give `timeout=<n>[ms|s|m]`; when it expires the answer is 503
 * with the IPAM status that explains the wait (never a silent hang).
 *
 * @module
 */
import { ApiError, type ApiRoute } from "../api/ops.ts";
import { type Cidr, formatCidr, formatIPv4, parseIPv4 } from "../lib/cidr.ts";
import type { Allocator } from "./allocator.ts";
import { parseAddressCidr, parseSubnet } from "./_init.ts";
import { CancelledError } from "./_operations.ts";

/** Largest form body read, in bytes. */
const MAX_FORM_BYTES = 64 * 1024;
const TEXT = { "content-type": "text/plain; charset=utf-8" };

/** What the routes act on (an {@link Allocator}). */
export type IpamHttpTarget = Pick<
  Allocator,
  | "defaultSubnet"
  | "allocate"
  | "claim"
  | "prime"
  | "free"
  | "delete"
  | "lookup"
  | "ownedAddresses"
  | "rmpeer"
  | "shutdown"
  | "status"
>;

/**
 * Builds the routes.
 *
 * @example
 * ```ts ignore
 * const ops = new FakeRouterOps(report);
 * ops.routes = ipamRoutes(allocator);
 * ```
 */
export function ipamRoutes(alloc: IpamHttpTarget): ApiRoute[] {
  const text = (body: string) => new Response(body, { headers: TEXT });
  const noContent = () => new Response(null, { status: 204 });
  const allocate = async (req: Request, id: string, subnet: Cidr, url: URL) => {
    const got = await waitFor(
      req,
      url,
      alloc,
      `allocate for ${id}`,
      (signal) => alloc.allocate(id, subnet, { signal }),
    );
    return got instanceof Response ? got : text(`${formatIPv4(got.addr)}/${got.prefix}`);
  };
  const claim = async (req: Request, id: string, cidrText: string, url: URL) => {
    const cidr = badRequestOn(() => parseAddressCidr(cidrText));
    const form = await readForm(req, url);
    const noErrorOnUnknown = form.get("noErrorOnUnknown") === "true";
    const got = await waitFor(
      req,
      url,
      alloc,
      `claim for ${id}`,
      (signal) => alloc.claim(id, cidr, { signal, noErrorOnUnknown }),
      "Unable to claim: ",
    );
    return got instanceof Response ? got : noContent();
  };
  const addresses = (id: string, subnet?: Cidr) =>
    text(alloc.lookup(id, subnet).map((c) => `${formatIPv4(c.addr)}/${c.prefix}`).join(" "));
  return [
    route("GET", /^\/ipinfo\/defaultsubnet$/, () => text(formatCidr(alloc.defaultSubnet))),
    route("GET", /^\/ipinfo\/tracker$/, () => text("")),
    route(
      "PUT",
      /^\/ip\/(?<id>[^/]+)\/(?<ip>[^/]+)\/(?<len>[^/]+)$/,
      (req, p, url) => claim(req, p.id, `${p.ip}/${p.len}`, url),
    ),
    route(
      "PUT",
      /^\/ip\/(?<id>[^/]+)\/(?<ip>[^/]+)$/,
      (req, p, url) => claim(req, p.id, `${p.ip}/${alloc.defaultSubnet.prefix}`, url),
    ),
    route("GET", /^\/ring$/, async (req, _p, url) => {
      const got = await waitFor(req, url, alloc, "prime", (signal) => alloc.prime({ signal }));
      return got instanceof Response ? got : text("");
    }),
    route(
      "GET",
      /^\/ip\/(?<id>[^/]+)\/(?<ip>[^/]+)\/(?<len>[^/]+)$/,
      (_req, p) => addresses(p.id, badRequestOn(() => parseSubnet(`${p.ip}/${p.len}`))),
    ),
    route("GET", /^\/ip\/(?<id>[^/]+)$/, (_req, p) => addresses(p.id)),
    route("GET", /^\/ip$/, () => {
      const owned = alloc.ownedAddresses().map((o) => ({
        containerid: o.ident,
        addrs: o.cidrs.map((c) => `${formatIPv4(c.addr)}/${c.prefix}`),
      }));
      return new Response(JSON.stringify({ owned: owned.length === 0 ? null : owned }) + "\n", {
        headers: { "content-type": "application/json" },
      });
    }),
    route(
      "POST",
      /^\/ip\/(?<id>[^/]+)\/(?<ip>[^/]+)\/(?<len>[^/]+)$/,
      (req, p, url) =>
        allocate(req, p.id, badRequestOn(() => parseSubnet(`${p.ip}/${p.len}`)), url),
    ),
    route(
      "POST",
      /^\/ip\/(?<id>[^/]+)$/,
      (req, p, url) => allocate(req, p.id, alloc.defaultSubnet, url),
    ),
    route("DELETE", /^\/ip\/(?<id>[^/]+)\/(?<ip>[^/]+)$/, async (_req, p) => {
      let addr: number;
      try {
        addr = parseIPv4(p.ip);
      } catch {
        throw new ApiError(400, `invalid IP address: ${p.ip}`);
      }
      await failAs400(() => alloc.free(p.id, addr), "Unable to free: ");
      return noContent();
    }),
    route("DELETE", /^\/ip\/(?<id>[^/]+)$/, async (_req, p) => {
      await failAs400(() => alloc.delete(p.id), "");
      return noContent();
    }),
    route("DELETE", /^\/peer$/, async () => {
      await alloc.shutdown();
      return noContent();
    }),
    route("DELETE", /^\/peer\/(?<id>[^/]+)$/, async (_req, p) => {
      const n = await alloc.rmpeer(p.id);
      return text(`${n} IPs taken over from ${p.id}\n`);
    }),
  ];
}

function route(method: ApiRoute["method"], pattern: RegExp, handle: ApiRoute["handle"]): ApiRoute {
  return { method, pattern, scope: "control", handle };
}

function badRequestOn<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new ApiError(400, (e as Error).message, { cause: e });
  }
}

async function failAs400(f: () => Promise<void>, prefix: string): Promise<void> {
  try {
    await f();
  } catch (e) {
    throw new ApiError(400, prefix + (e as Error).message, { cause: e });
  }
}

/** Parses `timeout=` (`30`, `30s`, `500ms`, `2m`) into ms; undefined when absent. */
export function parseTimeout(text: string | null): number | undefined {
  if (text === null || text === "") return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!m) throw new ApiError(400, `invalid timeout "${text}": expected e.g. 30s, 500ms or 2m`);
  const unit = m[2] === "ms" ? 1 : m[2] === "m" ? 60_000 : 1000;
  return Number(m[1]) * unit;
}

/**
 * Runs a waiting call, cancelled when the client goes away (answer
 * `cancelled`) or when `timeout=` expires (503 with the IPAM status).
 */
async function waitFor<T>(
  req: Request,
  url: URL,
  alloc: IpamHttpTarget,
  what: string,
  call: (signal: AbortSignal) => Promise<T>,
  errorPrefix = "",
): Promise<T | Response> {
  const timeoutMs = parseTimeout(url.searchParams.get("timeout"));
  const controller = new AbortController();
  const onClientGone = () => controller.abort();
  req.signal.addEventListener("abort", onClientGone, { once: true });
  let timedOut = false;
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  try {
    return await call(controller.signal);
  } catch (e) {
    if (e instanceof CancelledError && timedOut) {
      throw new ApiError(
        503,
        `Cannot ${what}: no answer within ${url.searchParams.get("timeout")}; ` +
          `IPAM status: ${alloc.status()}`,
      );
    }
    // Weave answers a cancelled call with status 200 and the body `cancelled`.
    if (e instanceof CancelledError) return new Response("cancelled", { headers: TEXT });
    throw new ApiError(400, errorPrefix + (e as Error).message, { cause: e });
  } finally {
    clearTimeout(timer);
    req.signal.removeEventListener("abort", onClientGone);
  }
}

/** Form values as Go's `FormValue` sees them: a url-encoded body, then the query. */
async function readForm(req: Request, url: URL): Promise<URLSearchParams> {
  const form = new URLSearchParams();
  const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type === "application/x-www-form-urlencoded" && req.body) {
    const length = Number(req.headers.get("content-length") ?? "0");
    if (length > MAX_FORM_BYTES) {
      throw new ApiError(413, `request body too large: the limit is ${MAX_FORM_BYTES} bytes`);
    }
    const body = await req.text();
    if (body.length > MAX_FORM_BYTES) {
      throw new ApiError(413, `request body too large: the limit is ${MAX_FORM_BYTES} bytes`);
    }
    for (const [k, v] of new URLSearchParams(body)) form.append(k, v);
  }
  for (const [k, v] of url.searchParams) form.append(k, v);
  return form;
}
