/**
 * The data plane's control routes: the router (root in the host namespace) does all plumbing,
 * the CLI only asks for it.
 *
 * | route | form / query | answer |
 * | --- | --- | --- |
 * | `POST /attach` | `container`, `cidr`…, `no-multicast-route=true` | the addresses, one a line |
 * | `POST /detach` | `container`, `cidr`… (none: all) | the addresses detached, one a line |
 * | `POST /expose` | `cidr`…, `skipNAT=true` | the addresses, one a line |
 * | `POST /expose/{ip}/{prefixlen}` | `skipNAT=true` (Weave's own route) | empty |
 * | `POST /hide` | `cidr`… (none: all) | the addresses hidden, one a line |
 * | `GET /ps` | `container`… (none: all) | `weave ps` lines |
 *
 * Bad input answers 400, an unknown container 404, with a one-line message. Requests are
 * handled one at a time, so two `expose` calls never race on the nftables table, and each
 * attach/expose first makes sure the bridge exists (adopting or repairing it).
 *
 * @module
 */
import { ApiError, type ApiRoute } from "../api/ops.ts";
import type { Logger } from "../lib/log.ts";
import type { Netlink } from "../sys/mod.ts";
import {
  attach,
  ContainerNotFoundError,
  detach,
  formatPs,
  listAttached,
  type Namespaces,
  parseHostCidrs,
  resolveContainer,
} from "./attach.ts";
import { DEFAULT_BRIDGE, DEFAULT_MTU, ensureBridge } from "./bridge.ts";
import { expose, hide, type NftRunner } from "./expose.ts";

/** Options of {@link plumbingRoutes}. */
export interface PlumbingOptions {
  /** The router's netlink socket, or a factory called per request (its socket closed after). */
  netlink: Netlink | (() => Netlink);
  log: Logger;
  /** Bridge name (`--weave-bridge`), default `weave`. */
  bridge?: string;
  /** `--mtu` / `WEAVE_MTU`, default 1376. */
  mtu?: number;
  /** Default: the `nft` binary. */
  nft?: NftRunner;
  /** Default: the machine's namespaces. */
  namespaces?: Namespaces;
  /** Address allocation for `net:` forms and address-less attach/expose; absent: IPAM is off. */
  ipam?: PlumbingIpam;
}

/** What attach/detach/expose need from IPAM. */
export interface PlumbingIpam {
  /** Allocates an address for `ident` in `subnet` (the default subnet when absent); `a.b.c.d/n`. */
  allocate(ident: string, subnet: string | undefined, signal: AbortSignal): Promise<string>;
  /** Releases `ident`'s address `cidr`, or all of them when `cidr` is absent. */
  release(ident: string, cidr?: string): Promise<void>;
}

/**
 * Resolves the `net` form fields (`net:default`, `net:<cidr>`) into allocated addresses.
 * Runs before the plumbing queue, since an allocation may wait for IPAM consensus.
 */
async function allocateNets(
  ipam: PlumbingIpam | undefined,
  ident: string,
  nets: string[],
  signal: AbortSignal,
): Promise<string[]> {
  if (nets.length === 0) return [];
  if (!ipam) {
    throw new ApiError(400, "IP address allocation is disabled (--ipalloc-range is empty)");
  }
  const out: string[] = [];
  for (const net of nets) {
    const subnet = net === "net:default" ? undefined : net.replace(/^net:/, "");
    out.push(await ipam.allocate(ident, subnet, signal));
  }
  return out;
}

const MAX_FORM_BYTES = 64 * 1024;
const TEXT = { "content-type": "text/plain; charset=utf-8" };

/**
 * The routes to hand the API server (`RouterOps.routes`).
 *
 * @example
 * ```ts ignore
 * const routes = plumbingRoutes({ netlink: () => new NetlinkSocket(), log, mtu: config.mtu });
 * ```
 */
export function plumbingRoutes(options: PlumbingOptions): ApiRoute[] {
  const bridge = options.bridge ?? DEFAULT_BRIDGE;
  const mtu = options.mtu ?? DEFAULT_MTU;
  const { log, nft, namespaces } = options;
  const known = new Set<string>();
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: (nl: Netlink) => T | Promise<T>): Promise<T> => {
    const run = tail.then(() => withNetlink(options.netlink, fn));
    tail = run.catch(() => {});
    return run;
  };
  const ensure = (nl: Netlink) => ensureBridge(nl, { name: bridge, mtu, log });
  const route = (
    method: ApiRoute["method"],
    pattern: RegExp,
    act: (
      form: URLSearchParams,
      params: Record<string, string>,
      signal: AbortSignal,
    ) => Promise<string>,
  ): ApiRoute => ({
    method,
    pattern,
    scope: "control",
    handle: async (req, params, url) => {
      const form = await readForm(req, url);
      const body = await asApiError(() => act(form, params, req.signal));
      return new Response(body, { headers: TEXT });
    },
  });
  return [
    route("POST", /^\/attach$/, async (form, _p, signal) => {
      const container = required(form, "container");
      const id = resolveContainer(container).id;
      const allocated = await allocateNets(options.ipam, id, form.getAll("net"), signal);
      return serial((nl) => {
        ensure(nl);
        const cidrs = [...form.getAll("cidr"), ...allocated];
        const multicastRoute = form.get("no-multicast-route") !== "true";
        const done = attach(nl, { container, cidrs, bridge, mtu, multicastRoute, namespaces, log });
        if (done.id.startsWith("/")) known.add(done.id);
        log.info(`Attached container "${done.id}" (${done.mac}) with ${cidrs.join(", ")}`);
        return lines(parseHostCidrs(cidrs));
      });
    }),
    route("POST", /^\/detach$/, async (form) => {
      const container = required(form, "container");
      const done = await serial((nl) =>
        detach(nl, { container, cidrs: form.getAll("cidr"), namespaces })
      );
      log.info(`Detached ${done.cidrs.join(", ") || "nothing"} from container "${done.id}"`);
      if (options.ipam) {
        if (form.getAll("cidr").length === 0) await options.ipam.release(done.id);
        else for (const cidr of done.cidrs) await options.ipam.release(done.id, cidr);
      }
      return lines(done.cidrs);
    }),
    route("POST", /^\/expose$/, async (form, _p, signal) => {
      const allocated = await allocateNets(
        options.ipam,
        "weave:expose",
        form.getAll("net"),
        signal,
      );
      return serial(async (nl) => {
        ensure(nl);
        const masquerade = form.get("skipNAT") !== "true";
        const cidrs = [...form.getAll("cidr"), ...allocated];
        const done = await expose(nl, { cidrs, masquerade, bridge, nft });
        log.info(`Exposed ${done.join(", ")}${masquerade ? "" : " without masquerading"}`);
        return lines(done);
      });
    }),
    route(
      "POST",
      /^\/expose\/(?<ip>[^/]+)\/(?<prefixlen>[^/]+)$/,
      (form, p) =>
        serial(async (nl) => {
          ensure(nl);
          const masquerade = form.get("skipNAT") !== "true";
          const cidrs = [`${p.ip}/${p.prefixlen}`];
          await expose(nl, { cidrs, masquerade, bridge, nft });
          log.info(`Exposed ${cidrs[0]}${masquerade ? "" : " without masquerading"}`);
          return "";
        }),
    ),
    route("POST", /^\/hide$/, (form) =>
      serial(async (nl) => {
        const done = await hide(nl, { cidrs: form.getAll("cidr"), bridge, nft });
        log.info(`Hid ${done.join(", ") || "nothing"}`);
        return lines(done);
      })),
    route("GET", /^\/ps$/, (form) =>
      serial((nl) => {
        const containers = form.getAll("container");
        for (const c of containers) if (c !== "weave:expose") resolveContainer(c);
        return formatPs(listAttached(nl, {
          bridge,
          containers: containers.length ? containers : undefined,
          known,
          namespaces,
        }));
      })),
  ];
}

function lines(items: readonly string[]): string {
  return items.map((i) => i + "\n").join("");
}

function required(form: URLSearchParams, key: string): string {
  const value = form.get(key);
  if (!value) throw new ApiError(400, `Missing form field "${key}"`);
  return value;
}

async function withNetlink<T>(
  source: Netlink | (() => Netlink),
  fn: (nl: Netlink) => T | Promise<T>,
): Promise<T> {
  if (typeof source !== "function") return await fn(source);
  const nl = source();
  try {
    return await fn(nl);
  } finally {
    nl.close();
  }
}

/** Bad input as 400, a missing container as 404; other failures pass through (500). */
async function asApiError<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ApiError) throw e;
    if (e instanceof ContainerNotFoundError) throw new ApiError(404, e.message, { cause: e });
    if (e instanceof TypeError || e instanceof SyntaxError || e instanceof RangeError) {
      throw new ApiError(400, e.message, { cause: e });
    }
    throw e;
  }
}

/** Form values as Go's `ParseForm` sees them: url-encoded body first, then the query. */
async function readForm(req: Request, url: URL): Promise<URLSearchParams> {
  const form = new URLSearchParams();
  const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (req.body && type === "application/x-www-form-urlencoded") {
    const body = await req.text();
    if (body.length > MAX_FORM_BYTES) {
      throw new ApiError(413, `request body too large: the limit is ${MAX_FORM_BYTES} bytes`);
    }
    for (const [k, v] of new URLSearchParams(body)) form.append(k, v);
  } else {
    await req.body?.cancel();
  }
  for (const [k, v] of url.searchParams) form.append(k, v);
  return form;
}
