/**
 * The router's IPAM, as the plugin reaches it: the HTTP API the CLI uses
 * (`ipam/http.ts`). Addresses are owned by the CNI container id, as Weave's
 * plugin owned them, so `weave status ipam` counts them and they survive a
 * router restart like any other.
 *
 * | call | route |
 * | --- | --- |
 * | {@link RouterIpam.allocate} | `POST /ip/<id>` or `POST /ip/<id>/<net>/<len>` |
 * | {@link RouterIpam.release} | `DELETE /ip/<id>` |
 * | {@link RouterIpam.owned} | `GET /ip` |
 * | {@link RouterIpam.status} | `GET /report` (`IPAM.Status`) |
 *
 * A router that does not answer is CniError code 11 ("try again later"),
 * which runtimes retry; an allocation still waiting for consensus after
 * {@link ALLOCATE_TIMEOUT} is code 11 too, with the router's reason.
 *
 * @module
 */
import { ApiClient, type ApiResponse, NotRunningError } from "../api/client.ts";
import { CniCode, CniError } from "./errors.ts";

/** How long the router may wait for consensus before we answer code 11 (`timeout=`). */
export const ALLOCATE_TIMEOUT = "20s";
/** Our own limit on one request (above {@link ALLOCATE_TIMEOUT}). */
const REQUEST_TIMEOUT_MS = 25_000;

/** An owned allocation as `GET /ip` lists it. */
export interface Owned {
  containerid: string;
  addrs: string[];
}

/** What the plugin needs of IPAM (the router's, or a fake in tests). */
export interface Ipam {
  /** An address for `id` (the same one again for the same id), in `subnet` when given. */
  allocate(id: string, subnet?: string): Promise<string>;
  /** Frees everything `id` holds; an id holding nothing is fine. */
  release(id: string): Promise<void>;
  /** Every allocation the router holds. */
  owned(): Promise<Owned[]>;
  /** IPAM's status line (`ready`, `awaiting consensus`, …); undefined when IPAM is off. */
  status(): Promise<string | undefined>;
}

/**
 * IPAM through the router at `addr` (`host:port` or a unix socket path).
 *
 * @example
 * ```ts ignore
 * const ipam = new RouterIpam("127.0.0.1:6784");
 * await ipam.allocate("4b0c1d…"); // "10.32.0.2/12"
 * ```
 */
export class RouterIpam implements Ipam {
  readonly #client: ApiClient;

  constructor(addr: string) {
    this.#client = new ApiClient({ httpAddr: addr }, { timeoutMs: REQUEST_TIMEOUT_MS });
  }

  async allocate(id: string, subnet?: string): Promise<string> {
    const path = `/ip/${encodeURIComponent(id)}${subnet ? `/${subnet}` : ""}`;
    const res = await this.#call("POST", `${path}?timeout=${ALLOCATE_TIMEOUT}`, "allocate");
    const body = res.body.trim();
    if (res.status === 503) {
      throw new CniError(CniCode.TryAgainLater, `Cannot allocate an address for ${id}: ${body}`);
    }
    if (res.status !== 200 || !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(body)) {
      throw new CniError(
        CniCode.IpamRefused,
        `Cannot allocate an address for ${id}: the router says: ${body || `HTTP ${res.status}`}`,
      );
    }
    return body;
  }

  async release(id: string): Promise<void> {
    const res = await this.#call("DELETE", `/ip/${encodeURIComponent(id)}`, "release");
    // The router answers 400 "Delete: no addresses for <id>" when nothing is held: released.
    const nothingHeld = res.status === 400 && /no addresses for/.test(res.body);
    if (res.status !== 204 && res.status !== 200 && !nothingHeld) {
      throw new CniError(
        CniCode.IpamRefused,
        `Cannot release the addresses of ${id}: the router says: ${res.body.trim()}`,
      );
    }
  }

  async owned(): Promise<Owned[]> {
    const res = await this.#call("GET", "/ip", "list addresses");
    try {
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.trim()}`);
      const doc = JSON.parse(res.body) as { owned: Owned[] | null };
      return doc.owned ?? [];
    } catch (e) {
      throw new CniError(
        CniCode.IpamRefused,
        `Cannot list the router's addresses: ${(e as Error).message}`,
      );
    }
  }

  async status(): Promise<string | undefined> {
    const res = await this.#call("GET", "/report", "read the status");
    try {
      const doc = JSON.parse(res.body) as { IPAM?: { Status?: string } };
      return doc.IPAM ? doc.IPAM.Status ?? "ready" : undefined;
    } catch (e) {
      throw new CniError(CniCode.NotAvailable, `Cannot read the router's report: ${e}`);
    }
  }

  async #call(method: string, path: string, what: string): Promise<ApiResponse> {
    try {
      return await this.#client.request(method, path);
    } catch (e) {
      const reason = e instanceof NotRunningError
        ? `the router at ${this.#client.target} does not answer (is weave running?)`
        : (e as Error).message;
      throw new CniError(CniCode.TryAgainLater, `Cannot ${what}: ${reason}`, { cause: e });
    }
  }
}
