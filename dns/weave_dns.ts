/**
 * weaveDNS as the router runs it: the {@link Nameserver} listening where
 * containers and the host can ask it, {@link ContainerDns} for attach and
 * detach, the {@link ContainerWatch} over attached containers' namespaces,
 * and the names of the last run restored from `<db-prefix>dns.json`.
 *
 * Where it listens ({@link dnsListenPlan}):
 * - by default on `169.254.53.1:53`, the bridge address every attached
 *   container is routed to (see `reach.ts` for why not docker0's address as
 *   Weave did, nor an exposed one), answering only the host and containers
 *   attached here, and on `127.0.0.1:53` for the host itself; the former is
 *   the advertised address (`GET /dns-address`, resolv.conf);
 * - `--dns-listen-address` overrides both: exactly that socket, unrestricted
 *   (the user's choice). Containers are given its address, or 169.254.53.1
 *   when it is the wildcard `0.0.0.0` (which covers it), or nothing when it
 *   is a loopback address they cannot reach. resolv.conf cannot name a port:
 *   containers always ask port 53.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import type { PeerName } from "../lib/peer_name.ts";
import type { Netlink } from "../sys/mod.ts";
import { ContainerDns } from "./container_dns.ts";
import { ContainerWatch } from "./container_watch.ts";
import { Nameserver, type NameserverMesh } from "./nameserver.ts";
import { CONTAINER_DNS_ADDRESS, ensureDnsAddress } from "./reach.ts";
import { type ResolvConfOptions, sweepResolvConfs } from "./resolv_conf.ts";
import { splitHostPort } from "./server.ts";
import { dnsStatePath, DnsStore } from "./store.ts";
import type { UpstreamOptions } from "./upstream.ts";

/** Where weaveDNS listens, as {@link dnsListenPlan} decides. */
export interface DnsListenPlan {
  /** The advertised address (`host:port`). */
  advertised: string;
  /** Whether the advertised address answers only the host and attached containers. */
  restricted: boolean;
  /** Further addresses (same zone, unrestricted). */
  also: string[];
  /** The address containers are routed to and given in resolv.conf; absent: none. */
  containerAddress?: string;
}

/**
 * Decides the listen addresses from `--dns-listen-address` (`""`: not given). Pure.
 *
 * @example
 * ```ts
 * import { dnsListenPlan } from "./weave_dns.ts";
 * dnsListenPlan("").also; // ["127.0.0.1:53"]
 * dnsListenPlan("0.0.0.0:53").containerAddress; // "169.254.53.1"
 * ```
 */
export function dnsListenPlan(listenAddress: string): DnsListenPlan {
  if (listenAddress === "") {
    return {
      advertised: `${CONTAINER_DNS_ADDRESS}:53`,
      restricted: true,
      also: ["127.0.0.1:53"],
      containerAddress: CONTAINER_DNS_ADDRESS,
    };
  }
  const { host } = splitHostPort(listenAddress);
  const plan: DnsListenPlan = { advertised: listenAddress, restricted: false, also: [] };
  if (host === "0.0.0.0") plan.containerAddress = CONTAINER_DNS_ADDRESS;
  else if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host) && !host.startsWith("127.")) {
    plan.containerAddress = host;
  }
  return plan;
}

/** Options of {@link startWeaveDns}. */
export interface WeaveDnsOptions {
  ourName: PeerName;
  mesh: NameserverMesh;
  /** `--dns-domain`, `--dns-ttl`. */
  domain?: string;
  ttl?: number;
  /** `--dns-listen-address` (`""`: not given). */
  listenAddress: string;
  upstream?: Omit<UpstreamOptions, "log" | "filterAddress">;
  /** `--db-prefix`: the names are kept in `<prefix>dns.json`. */
  dbPrefix: string;
  /** The weave bridge and the host's netlink socket. */
  bridge: string;
  netlink: Netlink;
  /** Containers attached now (`weave ps` without weave:expose): their routes are taken over. */
  attached: () => { id: string; cidrs: string[] }[];
  /** Whether a container still exists (datapath's `containerExists`). */
  exists: (id: string) => boolean;
  /** Called for each container whose namespace went away (IPAM releases its addresses). */
  onGone?: (id: string) => Promise<void>;
  /** Where containers' resolv.conf files go (default /etc/netns). */
  resolvConf?: ResolvConfOptions;
  /** Time between namespace checks (default 3 s). */
  watchIntervalMs?: number;
  log: Logger;
}

/** The running weaveDNS. */
export interface WeaveDns {
  nameserver: Nameserver;
  containers: ContainerDns;
  watch: ContainerWatch;
  /** Stops the watch and the nameserver. */
  stop(): Promise<void>;
}

/** Builds, starts and restores weaveDNS (see the module comment). */
export async function startWeaveDns(o: WeaveDnsOptions): Promise<WeaveDns> {
  const plan = dnsListenPlan(o.listenAddress);
  if (plan.containerAddress === CONTAINER_DNS_ADDRESS) ensureDnsAddress(o.netlink, o.bridge);
  // deno-lint-ignore prefer-const
  let containers: ContainerDns;
  const nameserver = new Nameserver({
    ourName: o.ourName,
    domain: o.domain,
    ttl: o.ttl,
    listenAddress: plan.advertised,
    allow: plan.restricted ? (source) => containers.allows(source) : undefined,
    alsoListen: plan.also.map((address) => ({ address })),
    upstream: o.upstream,
    store: new DnsStore(dnsStatePath(o.dbPrefix)),
    log: o.log,
  });
  containers = new ContainerDns({
    nameserver,
    address: plan.containerAddress,
    bridge: o.bridge,
    resolvConf: o.resolvConf,
    log: o.log,
  });
  const watch = new ContainerWatch({
    exists: o.exists,
    onGone: async (id) => {
      await containers.gone(o.netlink, id);
      await o.onGone?.(id);
    },
    intervalMs: o.watchIntervalMs,
    log: o.log,
  });
  nameserver.register(o.mesh);
  for (const c of o.attached()) {
    containers.adopt(o.netlink, c.id, c.cidrs);
    watch.track(c.id);
  }
  await nameserver.start();
  try {
    const swept = await sweepResolvConfs((n) => o.exists(n), o.resolvConf);
    if (swept.length) o.log.info(`Removed the resolv.conf of gone containers ${swept.join(", ")}`);
  } catch (e) {
    o.log.warn(`Cannot look for stale resolv.conf files: ${(e as Error).message}`);
  }
  try {
    const restored = await nameserver.restore(o.exists);
    if (restored.length) o.log.info(`Restored ${restored.length} DNS entries`);
  } catch (e) {
    o.log.error(`Cannot restore DNS entries: ${(e as Error).message}`);
  }
  watch.start();
  return {
    nameserver,
    containers,
    watch,
    async stop() {
      await watch.stop();
      await nameserver.stop();
    },
  };
}
