/**
 * weaveDNS's part of `weave attach` / `weave detach`: names, reachability and
 * resolver configuration of attached containers (the plumbing calls it after
 * changing the container's interface; the router wires it in).
 *
 * On attach (all idempotent):
 * - host routes back to the container's addresses (see `reach.ts`), so it can
 *   reach weaveDNS at {@link ContainerDnsOptions.address};
 * - with a hostname and without `--without-dns`: an entry per address
 *   (`addEntry(container, ip, fqdn)`); a bare name (`-h db`) is put in the
 *   weaveDNS domain (`db.weave.local.`), as Weave put the container's name;
 * - without `--without-dns`, for `ip netns` containers (the id is the netns
 *   name): `/etc/netns/<name>/resolv.conf` (see `resolv_conf.ts`).
 *
 * On detach of some addresses: their routes and entries go. On full detach,
 * or when the namespace disappeared ({@link ContainerDns.gone}): every entry
 * of the container, its routes and the resolv.conf we wrote.
 *
 * @module
 */
import { formatIPv4, parseIPv4 } from "../lib/cidr.ts";
import type { Logger } from "../lib/log.ts";
import type { Netlink } from "../sys/mod.ts";
import type { Entry, EntryMatch } from "./entry.ts";
import { addHostRoutes, removeHostRoutes } from "./reach.ts";
import { fqdn } from "./resolver.ts";
import {
  isNetnsName,
  removeResolvConf,
  type ResolvConfOptions,
  writeResolvConf,
} from "./resolv_conf.ts";

/** What {@link ContainerDns} needs from the nameserver (a `Nameserver` fits). */
export interface ContainerDnsNameserver {
  readonly domain: string;
  addEntry(containerID: string, addr: number, fqdn: string): Entry | undefined;
  deleteEntry(match: EntryMatch): Entry[];
}

/** Options of {@link ContainerDns}. */
export interface ContainerDnsOptions {
  nameserver: ContainerDnsNameserver;
  /** The weaveDNS address containers use; absent: none (no routes, no resolv.conf). */
  address?: string;
  /** The weave bridge (`--weave-bridge`). */
  bridge: string;
  resolvConf?: ResolvConfOptions;
  log: Logger;
}

/** A container that was attached. */
export interface AttachedNames {
  /** Container id (netns name, `pid:<n>` or path). */
  id: string;
  /** All its addresses now, `a.b.c.d/n`. */
  cidrs: readonly string[];
  /** `--hostname`/`-h`: register the addresses under this name. */
  hostname?: string;
  /** `--without-dns`: no names, no resolv.conf. */
  withoutDns?: boolean;
}

/** A container whose addresses were detached. */
export interface DetachedNames {
  id: string;
  /** The addresses removed. */
  cidrs: readonly string[];
  /** The container left weave (no address remains, or its namespace is gone). */
  full: boolean;
}

/** Attached containers' names, routes and resolv.conf. */
export class ContainerDns {
  readonly address?: string;
  #opts: ContainerDnsOptions;
  /** Container id → its addresses (dotted quads) we route to. */
  #addrs = new Map<string, Set<string>>();

  constructor(opts: ContainerDnsOptions) {
    this.#opts = opts;
    this.address = opts.address;
  }

  /** Ids of the containers known to be attached. */
  ids(): string[] {
    return [...this.#addrs.keys()];
  }

  /**
   * Whether `source` may use weaveDNS on {@link address}: an address of a
   * container attached here, or the host itself (loopback, the DNS address).
   */
  allows(source: string): boolean {
    if (source === this.address || source.startsWith("127.")) return true;
    for (const set of this.#addrs.values()) if (set.has(source)) return true;
    return false;
  }

  /** Takes over a container attached before this run (routes only; names come from the store). */
  adopt(nl: Netlink, id: string, cidrs: readonly string[]): void {
    this.#route(nl, id, ipsOf(cidrs));
  }

  /** After attach: routes, names and resolv.conf (see the module comment). */
  async attached(nl: Netlink, c: AttachedNames): Promise<void> {
    const ips = ipsOf(c.cidrs);
    this.#route(nl, c.id, ips);
    if (c.withoutDns) return;
    const ns = this.#opts.nameserver;
    if (c.hostname) {
      const name = c.hostname.includes(".") ? fqdn(c.hostname) : `${c.hostname}.${ns.domain}`;
      for (const ip of ips) {
        if (!ns.addEntry(c.id, parseIPv4(ip), name)) {
          this.#opts.log.warn(`Not registering ${name} for "${c.id}": outside ${ns.domain}`);
        }
      }
    }
    if (this.address && isNetnsName(c.id)) {
      const conf = { containerID: c.id, nameserver: this.address, domain: ns.domain };
      if (!(await writeResolvConf(conf, this.#opts.resolvConf))) {
        this.#opts.log.info(`Leaving the resolv.conf of "${c.id}" alone: not written by weave`);
      }
    }
  }

  /** After detach: the routes and entries of the removed addresses; all of it when `full`. */
  async detached(nl: Netlink, c: DetachedNames): Promise<void> {
    const known = this.#addrs.get(c.id) ?? new Set<string>();
    const ips = c.full ? [...known, ...ipsOf(c.cidrs)] : ipsOf(c.cidrs);
    removeHostRoutes(nl, this.#opts.bridge, ips);
    for (const ip of ips) known.delete(ip);
    const ns = this.#opts.nameserver;
    if (c.full) {
      this.#addrs.delete(c.id);
      ns.deleteEntry({ containerID: c.id });
      if (isNetnsName(c.id)) await removeResolvConf(c.id, this.#opts.resolvConf);
      return;
    }
    for (const ip of ips) ns.deleteEntry({ containerID: c.id, addr: parseIPv4(ip) });
  }

  /** The container's namespace disappeared: forget everything about it. */
  gone(nl: Netlink, id: string): Promise<void> {
    this.#opts.log.info(`Container "${id}" is gone: removing its DNS entries`);
    return this.detached(nl, { id, cidrs: [], full: true });
  }

  #route(nl: Netlink, id: string, ips: string[]): void {
    const set = this.#addrs.get(id) ?? new Set<string>();
    this.#addrs.set(id, set);
    for (const ip of ips) set.add(ip);
    if (this.address) addHostRoutes(nl, this.#opts.bridge, ips);
  }
}

/** The dotted quads of `a.b.c.d/n` addresses, normalised. */
function ipsOf(cidrs: readonly string[]): string[] {
  return cidrs.map((c) => formatIPv4(parseIPv4(c.split("/")[0])));
}
