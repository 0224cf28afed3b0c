/**
 * An in-memory {@link Ipam} for tests: hands out 10.32.0.1/12, .2, … (in
 * `ipam.subnet`'s range when asked), the same address again for the same
 * owner, as the router does; `down` makes every call fail as an unreachable
 * router does (code 11).
 *
 * @module
 */
import { formatIPv4, parseCidr } from "../lib/cidr.ts";
import { CniCode, CniError } from "./errors.ts";
import type { Ipam, Owned } from "./router_ipam.ts";

/**
 * A fake IPAM.
 *
 * @example
 * ```ts
 * import { FakeIpam } from "./fake_ipam.ts";
 * const ipam = new FakeIpam();
 * await ipam.allocate("c1"); // "10.32.0.1/12"
 * ```
 */
export class FakeIpam implements Ipam {
  /** Owner → addresses. */
  readonly held = new Map<string, string[]>();
  /** What `status()` answers; undefined: IPAM off. */
  ipamStatus: string | undefined = "ready";
  /** When true, every call throws code 11. */
  down = false;
  readonly #next = new Map<string, number>();

  allocate(id: string, subnet = "10.32.0.0/12"): Promise<string> {
    this.#check();
    const mine = this.held.get(id)?.find((c) => c.endsWith(`/${subnet.split("/")[1]}`));
    if (mine) return Promise.resolve(mine);
    const net = parseCidr(subnet);
    const n = (this.#next.get(subnet) ?? 0) + 1;
    this.#next.set(subnet, n);
    const cidr = `${formatIPv4(net.network + n)}/${net.prefix}`;
    this.held.set(id, [...(this.held.get(id) ?? []), cidr]);
    return Promise.resolve(cidr);
  }

  release(id: string): Promise<void> {
    this.#check();
    this.held.delete(id);
    return Promise.resolve();
  }

  owned(): Promise<Owned[]> {
    this.#check();
    return Promise.resolve(
      [...this.held].map(([containerid, addrs]) => ({ containerid, addrs: [...addrs] })),
    );
  }

  status(): Promise<string | undefined> {
    this.#check();
    return Promise.resolve(this.ipamStatus);
  }

  #check(): void {
    if (this.down) {
      throw new CniError(CniCode.TryAgainLater, "Cannot reach the router: fake router is down");
    }
  }
}
