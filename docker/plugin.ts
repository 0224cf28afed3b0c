/**
 * The Docker network plugin (libnetwork's legacy remote driver and remote
 * IPAM APIs) as request → response handlers: `POST /Plugin.Activate`,
 * `/NetworkDriver.*` and, on the mesh socket, `/IpamDriver.*`. Behaviour
 * follows Weave 2.8.1's plugin (`plugin/net/driver.go`, `plugin/ipam/driver.go`,
 * `plugin/skel/listener.go`):
 *
 * - Two drivers: `weave` (scope `global`, network driver only, for swarm) and
 *   `weavemesh` (scope `local`, network and IPAM driver); `weave launch`
 *   creates the `weave` network as
 *   `docker network create --driver weavemesh --ipam-driver weavemesh weave`.
 * - `CreateEndpoint` makes veth pair `vethwl<id[:9]>` (on the weave bridge) ↔
 *   `vethwg<id[:9]>` and answers the container end's MAC; `Join` names that
 *   end with prefix `ethwe` (Docker moves it into the sandbox as `ethwe0` and
 *   gives it the IPAM address); `--opt works.weave.multicast` adds a
 *   connected route to 224.0.0.0/4.
 * - IPAM: address spaces `weavelocal` / `weaveglobal`; a pool is named
 *   `weave-<subnet>-<range>` (no pool asked: the router's default subnet) and
 *   its "gateway" is the subnet itself, which Weave never uses; addresses come
 *   from the router's IPAM under the ident `_` (stored under the address, so
 *   release is `DELETE /ip/<address>`).
 * - A driver failure is HTTP 200 with `{"Err": "…"}`; a body that is not JSON
 *   is 400 with text; an unknown method is 404.
 *
 * Effects (IPAM calls, veths, engine look-ups) are the injected
 * {@link PluginEffects}, so every handler is tested as a table.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";

/** libnetwork's generic-options key, under which `--opt k=v` arrive. */
export const GENERIC_OPTIONS = "com.docker.network.generic";
/** libnetwork's key for a pool's gateway in `RequestPool` data. */
export const GATEWAY_KEY = "com.docker.network.gateway";
/** `docker network create --opt works.weave.multicast[=bool]`. */
export const MULTICAST_OPTION = "works.weave.multicast";
/** Prefix Docker gives the container end inside the sandbox (`ethwe0`). */
export const CONTAINER_IF_PREFIX = "ethwe";
/** libnetwork's route type for a route with no next hop. */
const ROUTE_CONNECTED = 1;

/** What the handlers need from the outside world. */
export interface PluginEffects {
  /** The router's default subnet as CIDR text (`GET /ipinfo/defaultsubnet`). */
  defaultSubnet(): Promise<string>;
  /** An address in `range` (CIDR text) for ident `_`; answers `a.b.c.d/len`. */
  allocate(range: string): Promise<string>;
  /** Claims `address` (dotted quad) for ident `_`. */
  claim(address: string): Promise<void>;
  /** Releases what is stored under `address` (`DELETE /ip/<address>`). */
  release(address: string): Promise<void>;
  /** Makes the veth pair of an endpoint; answers the container end's MAC. */
  createVeth(hostName: string, containerName: string): Promise<string>;
  /** Deletes veth `hostName` (its peer goes with it); gone already is fine. */
  deleteVeth(hostName: string): Promise<void>;
  /** Driver name and options of network `id`, asked of the engine. */
  inspectNetwork(id: string): Promise<{ driver: string; options: Record<string, string> }>;
}

/** Options of {@link NetworkPlugin}. */
export interface NetworkPluginOptions {
  /** Driver name (the socket's base name): `weave` or `weavemesh`. */
  name: string;
  /** `global` or `local`. */
  scope: "global" | "local";
  /** Whether this socket also implements `IpamDriver`. */
  withIpam: boolean;
  effects: PluginEffects;
  log: Logger;
}

/** An answer: HTTP status and body text. */
export interface PluginResponse {
  status: number;
  body: string;
  contentType: string;
}

/** What the driver remembers of a network. */
interface NetworkState {
  isOurs: boolean;
  multicast: boolean;
}

type Handler = (req: Record<string, unknown>) => Promise<unknown>;

/**
 * One plugin socket's handlers.
 *
 * @example
 * ```ts ignore
 * const plugin = new NetworkPlugin({ name: "weavemesh", scope: "local", withIpam: true, effects, log });
 * const res = await plugin.handle("/Plugin.Activate", "");
 * res.body; // {"Implements":["NetworkDriver","IpamDriver"]}\n
 * ```
 */
export class NetworkPlugin {
  readonly #o: NetworkPluginOptions;
  readonly #networks = new Map<string, NetworkState>();
  readonly #handlers: Map<string, Handler>;

  constructor(options: NetworkPluginOptions) {
    this.#o = options;
    this.#handlers = new Map(Object.entries(this.#table()));
  }

  /** Answers one request: `path` as Docker posts it, `body` its JSON text. */
  async handle(path: string, body: string): Promise<PluginResponse> {
    const handler = this.#handlers.get(path);
    if (!handler) return text(404, "404 page not found\n");
    let req: Record<string, unknown> = {};
    if (body.trim() !== "") {
      try {
        const parsed = JSON.parse(body);
        req = parsed && typeof parsed === "object" ? parsed : {};
      } catch (e) {
        return text(400, `Unable to decode JSON payload: ${(e as Error).message}\n`);
      }
    }
    try {
      return json(await handler(req) ?? {});
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.#o.log.error(`[${this.#kind(path)}] ${path.slice(1)}: ${message}`);
      return json({ Err: message });
    }
  }

  #kind(path: string): string {
    return path.startsWith("/IpamDriver.") ? "ipam" : "net";
  }

  #table(): Record<string, Handler> {
    const o = this.#o;
    const net: Record<string, Handler> = {
      "/Plugin.Activate": () =>
        Promise.resolve({
          Implements: o.withIpam ? ["NetworkDriver", "IpamDriver"] : ["NetworkDriver"],
        }),
      "/NetworkDriver.GetCapabilities": () => Promise.resolve({ Scope: o.scope }),
      "/NetworkDriver.CreateNetwork": (r) => this.#createNetwork(r),
      "/NetworkDriver.DeleteNetwork": (r) => {
        this.#networks.delete(str(r.NetworkID));
        return Promise.resolve({});
      },
      "/NetworkDriver.AllocateNetwork": (r) => Promise.resolve({ Options: r.Options ?? null }),
      "/NetworkDriver.FreeNetwork": () => Promise.resolve({}),
      "/NetworkDriver.CreateEndpoint": (r) => this.#createEndpoint(r),
      "/NetworkDriver.DeleteEndpoint": (r) => this.#deleteEndpoint(r),
      "/NetworkDriver.EndpointOperInfo": () => Promise.resolve({ Value: {} }),
      "/NetworkDriver.Join": (r) => this.#join(r),
      "/NetworkDriver.Leave": () => Promise.resolve({}),
      "/NetworkDriver.DiscoverNew": () => Promise.resolve({}),
      "/NetworkDriver.DiscoverDelete": () => Promise.resolve({}),
      "/NetworkDriver.ProgramExternalConnectivity": () => Promise.resolve({}),
      "/NetworkDriver.RevokeExternalConnectivity": () => Promise.resolve({}),
    };
    if (!o.withIpam) return net;
    return {
      ...net,
      "/IpamDriver.GetCapabilities": () => Promise.resolve({ RequiresMACAddress: false }),
      "/IpamDriver.GetDefaultAddressSpaces": () =>
        Promise.resolve({
          LocalDefaultAddressSpace: "weavelocal",
          GlobalDefaultAddressSpace: "weaveglobal",
        }),
      "/IpamDriver.RequestPool": (r) => this.#requestPool(r),
      "/IpamDriver.ReleasePool": () => Promise.resolve({}),
      "/IpamDriver.RequestAddress": (r) => this.#requestAddress(r),
      "/IpamDriver.ReleaseAddress": (r) => this.#releaseAddress(r),
    };
  }

  #createNetwork(r: Record<string, unknown>): Promise<unknown> {
    this.#o.log.info(`[net] CreateNetwork ${str(r.NetworkID)}`);
    this.#remember(str(r.NetworkID), true, genericOptions(r.Options));
    return Promise.resolve({});
  }

  #remember(id: string, isOurs: boolean, options: Record<string, string>): NetworkState {
    const state: NetworkState = { isOurs, multicast: false };
    if (isOurs) {
      for (const [key, value] of Object.entries(options)) {
        if (key === MULTICAST_OPTION) state.multicast = parseBoolOption(key, value);
        else this.#o.log.warn(`[net] CreateNetwork: unrecognized option: ${key}`);
      }
    }
    this.#networks.set(id, state);
    return state;
  }

  async #network(id: string): Promise<NetworkState> {
    const known = this.#networks.get(id);
    if (known) return known;
    const info = await this.#o.effects.inspectNetwork(id);
    return this.#remember(id, info.driver === this.#o.name, info.options);
  }

  async #createEndpoint(r: Record<string, unknown>): Promise<unknown> {
    const id = str(r.EndpointID);
    this.#o.log.info(`[net] CreateEndpoint ${id}`);
    if (r.Interface === undefined || r.Interface === null) {
      throw new Error("Not supported: creating an interface from within CreateEndpoint");
    }
    const [host, container] = vethPair(id);
    const mac = await this.#o.effects.createVeth(host, container);
    return { Interface: { MacAddress: mac } };
  }

  async #deleteEndpoint(r: Record<string, unknown>): Promise<unknown> {
    const id = str(r.EndpointID);
    this.#o.log.info(`[net] DeleteEndpoint ${id}`);
    try {
      await this.#o.effects.deleteVeth(vethPair(id)[0]);
    } catch (e) {
      this.#o.log.warn(`[net] DeleteEndpoint: unable to delete veth: ${(e as Error).message}`);
    }
    return {};
  }

  async #join(r: Record<string, unknown>): Promise<unknown> {
    const network = await this.#network(str(r.NetworkID)).catch((e: Error) => {
      throw new Error(`unable to find network info: ${e.message}`, { cause: e });
    });
    const res: Record<string, unknown> = {
      InterfaceName: { SrcName: vethPair(str(r.EndpointID))[1], DstPrefix: CONTAINER_IF_PREFIX },
    };
    if (network.multicast) {
      res.StaticRoutes = [{ Destination: "224.0.0.0/4", RouteType: ROUTE_CONNECTED }];
    }
    return res;
  }

  async #requestPool(r: Record<string, unknown>): Promise<unknown> {
    if (r.V6 === true) throw new Error("IPv6 is not supported by weave IPAM");
    const pool = str(r.Pool);
    const subnet = pool === "" ? await this.#o.effects.defaultSubnet() : networkOf(pool);
    const range = str(r.SubPool) === "" ? subnet : networkOf(str(r.SubPool));
    return {
      PoolID: `weave-${subnet}-${range}`,
      Pool: subnet,
      Data: { [GATEWAY_KEY]: subnet },
    };
  }

  async #releaseAddress(r: Record<string, unknown>): Promise<unknown> {
    const addr = ipv4(str(r.Address), "release address");
    // The pool's "gateway" is its network address, handed out by nobody: nothing to free.
    const parts = str(r.PoolID).split("-");
    if (parts.length === 3 && parts[0] === "weave" && networkOf(parts[1]).startsWith(`${addr}/`)) {
      return {};
    }
    await this.#o.effects.release(addr);
    return {};
  }

  async #requestAddress(r: Record<string, unknown>): Promise<unknown> {
    const poolId = str(r.PoolID);
    const parts = poolId.split("-");
    if (parts.length !== 3 || parts[0] !== "weave") {
      throw new Error(`Unrecognized pool ID: ${poolId}`);
    }
    const subnet = networkOf(parts[1]);
    const prefix = subnet.split("/")[1];
    const wanted = str(r.Address);
    if (wanted !== "") {
      const addr = ipv4(wanted, "request address");
      await this.#o.effects.claim(addr);
      return { Address: `${addr}/${prefix}`, Data: {} };
    }
    const got = await this.#o.effects.allocate(networkOf(parts[2]));
    // The range is not a subnet: the address keeps the pool's prefix.
    return { Address: `${got.split("/")[0]}/${prefix}`, Data: {} };
  }
}

/**
 * Names of an endpoint's veth pair: host end `vethwl`, container end `vethwg`,
 * each followed by the endpoint id's first 9 characters (15 in all, the kernel's limit).
 *
 * @example
 * ```ts
 * import { vethPair } from "./plugin.ts";
 * vethPair("0123456789abcdef"); // ["vethwl012345678", "vethwg012345678"]
 * ```
 */
export function vethPair(endpointId: string): [string, string] {
  if (!/^[0-9a-zA-Z_.-]{9,}$/.test(endpointId)) {
    throw new Error(`Cannot name the veth of endpoint "${endpointId}": expected an endpoint id`);
  }
  const short = endpointId.slice(0, 9);
  return [`vethwl${short}`, `vethwg${short}`];
}

function json(value: unknown): PluginResponse {
  return {
    status: 200,
    body: JSON.stringify(value) + "\n",
    contentType: "application/vnd.docker.plugins.v1+json",
  };
}

function text(status: number, body: string): PluginResponse {
  return { status, body, contentType: "text/plain; charset=utf-8" };
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** `--opt` values of a CreateNetwork request (only string values, as Weave keeps). */
function genericOptions(options: unknown): Record<string, string> {
  const generic = (options as Record<string, unknown> | undefined)?.[GENERIC_OPTIONS];
  const out: Record<string, string> = {};
  if (generic && typeof generic === "object") {
    for (const [k, v] of Object.entries(generic)) if (typeof v === "string") out[k] = v;
  }
  return out;
}

function parseBoolOption(key: string, value: string): boolean {
  if (value === "") return true; // `--opt works.weave.multicast` turns it on
  if (/^(1|t|true)$/i.test(value)) return true;
  if (/^(0|f|false)$/i.test(value)) return false;
  throw new Error(`unrecognized value "${value}" for option ${key}`);
}

function ipv4(text: string, what: string): string {
  const addr = text.split("/")[0];
  const parts = addr.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new Error(`Cannot ${what}: invalid IPv4 address "${text}"`);
  }
  return addr;
}

/** The network of a CIDR (`10.32.1.5/12` → `10.32.0.0/12`), as Go's `ParseCIDR` gives it. */
function networkOf(cidr: string): string {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(cidr);
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || prefix > 32) throw new Error(`invalid CIDR address: ${cidr}`);
  const octets = ipv4(m[1], `parse "${cidr}"`).split(".").map(Number);
  const n = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const net = prefix === 0 ? 0 : (n & (~0 << (32 - prefix))) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join(".")}/${prefix}`;
}
