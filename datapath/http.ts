/**
 * The data plane's control routes: the router (root in the host namespace) does all plumbing,
 * the CLI only asks for it.
 *
 * | route | form / query | answer |
 * | --- | --- | --- |
 * | `POST /attach` | `container`, `cidr`…, `net`…, `no-multicast-route=true`, `hostname`, `without-dns=true` | the addresses, one a line |
 * | `POST /detach` | `container`, `cidr`… (none: all) | the addresses detached, one a line |
 * | `POST /expose` | `cidr`…, `skipNAT=true` | the addresses, one a line |
 * | `POST /expose/{ip}/{prefixlen}` | `skipNAT=true` (Weave's own route) | empty |
 * | `POST /hide` | `cidr`… (none: all) | the addresses hidden, one a line |
 * | `GET /ps` | `container`… (none: all) | JSON `[{ id, mac, cidrs }]` (cli/ps.ts prints it) |
 *
 * Bad input answers 400, an unknown container 404, with a one-line message. Requests are
 * handled one at a time, so two `expose` calls never race on the nftables table, and each
 * attach/expose first makes sure the bridge exists (adopting or repairing it).
 *
 * With IPAM on ({@link PlumbingIpam}), `net:` forms and address-less requests get addresses
 * allocated, and every address given by hand is first claimed in IPAM for the container
 * (`weave:expose` for expose), as Weave's script does with `PUT /ip/<id>/<cidr>`: IPAM then never
 * hands it to anyone else. A claim inside IPAM's range waits while the range's owner is asked and
 * fails with `Unable to claim: …` (400) when another container or peer holds the address; one
 * outside the range is just used. Claims and allocations run before the plumbing queue and give
 * up when the client goes away. Detach and hide release what IPAM holds for the addresses they
 * remove (all of the container's, or of `weave:expose`, when none are named).
 *
 * weaveDNS hooks in through {@link PlumbingDns}: after an attach (the container has its
 * addresses and, with `PlumbingDns.address`, a route to weaveDNS) it registers `hostname` and
 * writes the container's resolv.conf unless `without-dns=true`; after a detach it drops the
 * names of the removed addresses (all of them when the container left weave). A
 * {@link PlumbingWatch} is told which containers are attached, so their namespaces are watched.
 *
 * @module
 */
import { ApiError, type ApiRoute } from "../api/ops.ts";
import type { Logger } from "../lib/log.ts";
import type { Netlink } from "../sys/mod.ts";
import { attach, detach, EXPOSE_ID, listAttached, parseHostCidrs } from "./attach.ts";
import { ContainerNotFoundError, type Namespaces, resolveContainer } from "./container.ts";
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
  /**
   * Address allocation for `net:` forms and address-less attach/expose, and claims of addresses
   * given by hand; absent: IPAM is off (addresses given by hand are just used).
   */
  ipam?: PlumbingIpam;
  /** weaveDNS for attached containers; absent: `hostname` and `without-dns` are ignored. */
  dns?: PlumbingDns;
  /** Told about containers attached and fully detached. */
  watch?: PlumbingWatch;
}

/** What attach/detach need from weaveDNS (`dns/container_dns.ts` `ContainerDns` fits). */
export interface PlumbingDns {
  /** weaveDNS's address for containers, routed via their ethwe; absent: no route. */
  readonly address?: string;
  /** After attach; `cidrs` are all the container's addresses now. */
  attached(
    nl: Netlink,
    c: { id: string; cidrs: string[]; hostname?: string; withoutDns?: boolean },
  ): Promise<void>;
  /** After detach; `full` when the container has no weave address left. */
  detached(nl: Netlink, c: { id: string; cidrs: string[]; full: boolean }): Promise<void>;
}

/** The watch over attached containers' namespaces (`dns/container_watch.ts` fits). */
export interface PlumbingWatch {
  track(id: string): void;
  untrack(id: string): void;
}

/**
 * What attach/detach/expose/hide need from IPAM (the router adapts its allocator; `datapath/`
 * never imports `ipam/`). Waiting calls settle early, rejected, once `signal` aborts.
 */
export interface PlumbingIpam {
  /** Allocates an address for `ident` in `subnet` (the default subnet when absent); `a.b.c.d/n`. */
  allocate(ident: string, subnet: string | undefined, signal: AbortSignal): Promise<string>;
  /**
   * Records `cidr` (`a.b.c.d/n`, given by hand) as `ident`'s. Inside IPAM's range it waits for
   * the range's owner to hand the address over and rejects when another identifier or peer holds
   * it (the message says who); outside the range it resolves at once. Claiming an address
   * `ident` already holds succeeds.
   */
  claim(ident: string, cidr: string, signal: AbortSignal): Promise<void>;
  /** Releases `ident`'s address `cidr`, or all of them when `cidr` is absent; not held: no-op. */
  release(ident: string, cidr?: string): Promise<void>;
}

/**
 * Claims the addresses given by hand (normalised by `parseHostCidrs`) for `ident`, one after the
 * other. A refusal becomes Weave's 400 `Unable to claim: <why>`; a cancelled claim (the client
 * went away) rejects as it is.
 */
async function claimCidrs(
  ipam: PlumbingIpam | undefined,
  ident: string,
  cidrs: readonly string[],
  signal: AbortSignal,
): Promise<void> {
  if (!ipam) return;
  for (const cidr of cidrs) {
    try {
      await ipam.claim(ident, cidr, signal);
    } catch (e) {
      if (signal.aborted || e instanceof ApiError) throw e;
      throw new ApiError(400, `Unable to claim: ${(e as Error).message}`, { cause: e });
    }
  }
}

/** Releases `ident`'s IPAM addresses `cidrs` (all when `cidrs` is undefined); failures are logged. */
async function releaseCidrs(
  ipam: PlumbingIpam | undefined,
  ident: string,
  cidrs: readonly string[] | undefined,
  log: Logger,
): Promise<void> {
  if (!ipam) return;
  const release = (cidr?: string) =>
    ipam.release(ident, cidr).catch((e) =>
      log.info(`Not released in IPAM for ${ident}: ${(e as Error).message}`)
    );
  if (cidrs === undefined) await release();
  else for (const cidr of cidrs) await release(cidr);
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
const JSON_TYPE = { "content-type": "application/json" };

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
    headers: HeadersInit = TEXT,
  ): ApiRoute => ({
    method,
    pattern,
    scope: "control",
    handle: async (req, params, url) => {
      const form = await readForm(req, url);
      const body = await asApiError(() => act(form, params, req.signal));
      return new Response(body, { headers });
    },
  });
  return [
    route("POST", /^\/attach$/, async (form, _p, signal) => {
      const container = required(form, "container");
      const id = resolveContainer(container).id;
      const hostname = optionalHostname(form);
      const withoutDns = form.get("without-dns") === "true";
      const given = parseHostCidrs(form.getAll("cidr"));
      await claimCidrs(options.ipam, id, given, signal);
      const allocated = await allocateNets(options.ipam, id, form.getAll("net"), signal);
      return serial(async (nl) => {
        ensure(nl);
        const cidrs = [...given, ...allocated];
        const multicastRoute = form.get("no-multicast-route") !== "true";
        const dnsRoute = options.dns?.address;
        const done = attach(nl, {
          container,
          cidrs,
          bridge,
          mtu,
          multicastRoute,
          dnsRoute,
          namespaces,
          log,
        });
        if (done.id.startsWith("/")) known.add(done.id);
        options.watch?.track(done.id);
        log.info(`Attached container "${done.id}" (${done.mac}) with ${cidrs.join(", ")}`);
        await options.dns?.attached(nl, { id: done.id, cidrs: done.cidrs, hostname, withoutDns });
        return lines(parseHostCidrs(cidrs));
      });
    }),
    route("POST", /^\/detach$/, async (form) => {
      const container = required(form, "container");
      const given = form.getAll("cidr");
      const done = await serial(async (nl) => {
        const out = detach(nl, { container, cidrs: given, namespaces });
        const full = given.length === 0 || !stillAttached(nl, container, bridge, namespaces);
        if (full) options.watch?.untrack(out.id);
        await options.dns?.detached(nl, { id: out.id, cidrs: out.cidrs, full });
        return out;
      });
      log.info(`Detached ${done.cidrs.join(", ") || "nothing"} from container "${done.id}"`);
      await releaseCidrs(options.ipam, done.id, given.length ? done.cidrs : undefined, log);
      return lines(done.cidrs);
    }),
    route("POST", /^\/expose$/, async (form, _p, signal) => {
      const given = parseHostCidrs(form.getAll("cidr"));
      await claimCidrs(options.ipam, EXPOSE_ID, given, signal);
      const allocated = await allocateNets(options.ipam, EXPOSE_ID, form.getAll("net"), signal);
      return serial(async (nl) => {
        ensure(nl);
        const masquerade = form.get("skipNAT") !== "true";
        const cidrs = [...given, ...allocated];
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
    route("POST", /^\/hide$/, async (form) => {
      const given = form.getAll("cidr");
      const done = await serial((nl) => hide(nl, { cidrs: given, bridge, nft }));
      log.info(`Hid ${done.join(", ") || "nothing"}`);
      await releaseCidrs(options.ipam, EXPOSE_ID, given.length ? done : undefined, log);
      return lines(done);
    }),
    route("GET", /^\/ps$/, (form) =>
      serial((nl) => {
        const containers = form.getAll("container");
        for (const c of containers) if (c !== "weave:expose") resolveContainer(c);
        const entries = listAttached(nl, {
          bridge,
          containers: containers.length ? containers : undefined,
          known,
          namespaces,
        });
        return JSON.stringify(entries);
      }), JSON_TYPE),
  ];
}

/** Whether the container still has an ethwe (a missing namespace: no). */
function stillAttached(
  nl: Netlink,
  container: string,
  bridge: string,
  namespaces: Namespaces | undefined,
): boolean {
  try {
    const found = listAttached(nl, { bridge, containers: [container], namespaces });
    return found.some((c) => c.id !== EXPOSE_ID);
  } catch (e) {
    if (e instanceof ContainerNotFoundError) return false;
    throw e;
  }
}

/** The `hostname` form field (`db.weave.local`, or a bare `db`), checked. */
function optionalHostname(form: URLSearchParams): string | undefined {
  const name = form.get("hostname");
  if (!name) return undefined;
  if (name.length > 253 || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/.test(name)) {
    throw new ApiError(400, `Invalid hostname "${name}": want a DNS name like db.weave.local`);
  }
  return name;
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
