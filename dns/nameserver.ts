/**
 * weaveDNS as one subsystem, after Weave's `nameserver/nameserver.go`: the
 * zone ({@link Entries}), its gossip channel `nameserver`, the DNS server,
 * the upstream forwarder and the status report. Its HTTP routes are
 * `dnsRoutes` (`http.ts`), which the router composes with the others.
 *
 * Lifecycle: construct, {@link Nameserver.register} with the mesh (creates the
 * channel, learns which peers exist and when they go), then
 * {@link Nameserver.start} (binds the DNS sockets, starts the tombstone purge)
 * and finally {@link Nameserver.stop}.
 *
 * Our own changes (add, delete, corrections of stale copies) are broadcast as
 * deltas; the mesh gossips the full zone periodically.
 *
 * Listening: `listenAddress` is the address advertised (`GET /dns-address`,
 * the status report, what attached containers are told to use); `alsoListen`
 * adds further sockets answering the same zone (the router adds
 * `127.0.0.1:53` for the host itself). Each may restrict its clients.
 *
 * With a {@link DnsStore}, our live entries are saved after every change and
 * {@link Nameserver.restore} adds them back at start.
 *
 * @module
 */
import type { DnsReport } from "../api/report.ts";
import { formatIPv4 } from "../lib/cidr.ts";
import type { Logger } from "../lib/log.ts";
import { formatPeerName, type PeerName } from "../lib/peer_name.ts";
import type { TimerId } from "../lib/timer.ts";
import type { GossipData, Gossiper } from "../mesh/gossip_types.ts";
import { Entries, type Entry, type EntryMatch, TOMBSTONE_TIMEOUT_S } from "./entry.ts";
import { DnsGossipData, DnsGossiper } from "./gossip.ts";
import { createQueryHandler } from "./handler.ts";
import { fqdn } from "./resolver.ts";
import {
  DEFAULT_DNS_LISTEN_ADDRESS,
  DnsServer,
  type DnsServerOptions,
  splitHostPort,
} from "./server.ts";
import type { DnsRecord, DnsStore } from "./store.ts";
import { Upstream, type UpstreamOptions } from "./upstream.ts";

/** Default `--dns-domain`. */
export const DEFAULT_DOMAIN = "weave.local.";
/** Default `--dns-ttl`, seconds. */
export const DEFAULT_TTL = 1;
/** Name of the gossip channel. */
export const NAMESERVER_CHANNEL = "nameserver";

/** How long a peer must stay out of the topology before its entries are dropped. */
export const PEER_GONE_GRACE_MS = 5_000;

/** What the nameserver needs from the mesh router (a `MeshRouter` fits). */
export interface NameserverMesh {
  newGossip(name: string, gossiper: Gossiper): { gossipBroadcast(data: GossipData): void };
  onPeerGone(fn: (name: PeerName) => void): void;
  readonly peers: { get(name: PeerName): unknown };
}

/** Options of {@link Nameserver}. */
export interface NameserverOptions {
  /** How long a departed peer must stay away before its entries go (default {@link PEER_GONE_GRACE_MS}). */
  peerGoneGraceMs?: number;
  ourName: PeerName;
  /** `--dns-domain` (default `weave.local.`; a trailing dot is added). */
  domain?: string;
  /** `--dns-ttl` (default 1). */
  ttl?: number;
  /** `--dns-listen-address` (default `0.0.0.0:53`): the advertised address. */
  listenAddress?: string;
  /** Which clients the advertised address answers (default: all). */
  allow?: (source: string) => boolean;
  /** Further addresses answering the same zone. */
  alsoListen?: readonly DnsListener[];
  /** Where our own entries are kept across restarts (default: nowhere). */
  store?: DnsStore;
  /** `--resolv-conf`, `--dns-fallback-timeout` (as `timeoutMs`), or fixed servers. */
  upstream?: Omit<UpstreamOptions, "log" | "filterAddress">;
  log: Logger;
  /** Milliseconds clock (default Date.now). */
  clock?: () => number;
  /** Random source for answer shuffling (default Math.random). */
  random?: () => number;
  /** Server limits (defaults in {@link DnsServer}). */
  server?: Pick<DnsServerOptions, "maxInFlight" | "maxTcpConnections" | "tcpIdleMs">;
}

/** A further address the DNS server listens on. */
export interface DnsListener {
  /** `host:port`. */
  address: string;
  /** Which clients it answers (default: all). */
  allow?: (source: string) => boolean;
}

/** The weaveDNS subsystem. */
export class Nameserver {
  readonly ourName: PeerName;
  readonly domain: string;
  readonly ttl: number;
  readonly listenAddress: string;
  /** The zone (read it; change it through this object). */
  readonly entries = new Entries();
  readonly gossiper: DnsGossiper;
  readonly upstream: Upstream;
  #log: Logger;
  #clock: () => number;
  /** The advertised listener first. */
  #servers: DnsServer[];
  #store?: DnsStore;
  #saving: Promise<void> = Promise.resolve();
  #channel?: { gossipBroadcast(data: GossipData): void };
  #isKnownPeer: (name: PeerName) => boolean = () => true;
  #registered = false;
  #peerGoneGraceMs: number;
  #goneTimers = new Set<ReturnType<typeof setTimeout>>();
  #purgeTimer?: TimerId;

  constructor(opts: NameserverOptions) {
    this.#peerGoneGraceMs = opts.peerGoneGraceMs ?? PEER_GONE_GRACE_MS;
    this.ourName = opts.ourName;
    this.domain = fqdn(opts.domain ?? DEFAULT_DOMAIN);
    this.ttl = opts.ttl ?? DEFAULT_TTL;
    this.listenAddress = opts.listenAddress ?? DEFAULT_DNS_LISTEN_ADDRESS;
    this.#log = opts.log.withPrefix(`[nameserver ${formatPeerName(opts.ourName)}]`);
    this.#clock = opts.clock ?? Date.now;
    this.upstream = new Upstream({
      ...opts.upstream,
      filterAddress: splitHostPort(this.listenAddress).host,
      log: this.#log,
    });
    this.gossiper = new DnsGossiper({
      ourName: this.ourName,
      entries: this.entries,
      isKnownPeer: (name) => name === this.ourName || this.#isKnownPeer(name),
      now: () => this.#now(),
      broadcast: (es) => this.#broadcast(es),
      log: this.#log,
    });
    const handler = createQueryHandler({
      zone: this.entries,
      domain: this.domain,
      ttl: this.ttl,
      upstream: this.upstream,
      log: this.#log,
      random: opts.random,
    });
    const listeners = [
      { address: this.listenAddress, allow: opts.allow },
      ...(opts.alsoListen ?? []),
    ];
    this.#servers = listeners.map((l) =>
      new DnsServer({
        ...opts.server,
        listenAddress: l.address,
        allow: l.allow,
        handler,
        log: this.#log,
      })
    );
    this.#store = opts.store;
  }

  /** Creates the `nameserver` gossip channel and follows the topology. */
  register(mesh: NameserverMesh): void {
    this.#isKnownPeer = (name) => mesh.peers.get(name) !== undefined;
    this.#registered = true;
    this.#channel = mesh.newGossip(NAMESERVER_CHANNEL, this.gossiper);
    mesh.onPeerGone((name) => this.peerGone(name));
  }

  /** Binds the DNS sockets and starts purging old tombstones; throws if it cannot listen. */
  async start(): Promise<void> {
    const started: DnsServer[] = [];
    try {
      for (const server of this.#servers) {
        await server.start();
        started.push(server);
      }
    } catch (e) {
      for (const server of started) await server.stop();
      throw e;
    }
    this.#purgeTimer = setInterval(() => this.purgeTombstones(), TOMBSTONE_TIMEOUT_S * 1000);
    const where = this.#servers.map((s) => s.address).join(", ");
    this.#log.info(`listening on ${where}, for domain ${this.domain}`);
  }

  /** Stops the DNS servers and the purge timer; waits for the last save. */
  async stop(): Promise<void> {
    clearInterval(this.#purgeTimer);
    for (const t of this.#goneTimers) clearTimeout(t);
    this.#goneTimers.clear();
    for (const server of this.#servers) await server.stop();
    await this.#saving;
  }

  /**
   * Adds back the stored entries whose container still exists (`exists`), and
   * saves the file again without the others; returns the entries added.
   */
  async restore(exists: (containerID: string) => boolean): Promise<Entry[]> {
    if (!this.#store) return [];
    const records = await this.#store.load();
    const added: Entry[] = [];
    for (const r of records) {
      if (!exists(r.containerID)) {
        this.#log.info(`not restoring ${r.hostname} of ${r.containerID}: the container is gone`);
        continue;
      }
      const e = this.addEntry(r.containerID, r.addr, r.hostname);
      if (e) added.push(e);
    }
    if (added.length !== records.length) this.#persist();
    await this.#saving;
    return added;
  }

  /**
   * Resolves once our entries as they are now are saved (at once without a store; a failed
   * save is logged, and resolves too).
   */
  saved(): Promise<void> {
    return this.#saving;
  }

  /** Our live entries as stored records. */
  ownRecords(): DnsRecord[] {
    return this.entries.all()
      .filter((e) => e.origin === this.ourName && e.tombstone === 0)
      .map((e) => ({ containerID: e.containerID, addr: e.addr, hostname: e.hostname }));
  }

  /**
   * Adds (or revives) our entry for a container, if `fqdn` is inside the
   * domain, and broadcasts it; returns it, or undefined when ignored.
   */
  addEntry(containerID: string, addr: number, name: string): Entry | undefined {
    const hostname = fqdn(name);
    if (!isSubDomain(this.domain, hostname)) {
      this.#log.info(
        `Ignoring registration ${hostname} ${
          formatIPv4(addr)
        } ${containerID} (not a subdomain of ${this.domain})`,
      );
      return undefined;
    }
    this.#log.info(`adding entry for ${containerID}: ${hostname} -> ${formatIPv4(addr)}`);
    const entry = this.entries.add({ hostname, containerID, origin: this.ourName, addr });
    this.#broadcast([entry]);
    this.#persist();
    return entry;
  }

  /** Tombstones our entries that match (parts left out match anything) and broadcasts them. */
  deleteEntry(match: EntryMatch): Entry[] {
    const done = this.entries.tombstone(this.ourName, match, this.#now());
    for (const e of done) {
      this.#log.info(`tombstoning entry ${e.hostname} -> ${formatIPv4(e.addr)}`);
    }
    this.#broadcast(done);
    if (done.length > 0) this.#persist();
    return done;
  }

  /**
   * Drops the entries of a peer that left the topology. A restarted peer comes back under
   * the same name, and its fresh entries can arrive before the old instance is collected
   * (Go then loses them until the next periodic gossip): so when the mesh is known, the
   * entries go only if the peer is still absent {@link PEER_GONE_GRACE_MS} later.
   */
  peerGone(name: PeerName): void {
    const drop = () => {
      const n = this.entries.deleteOrigin(name);
      this.#log.info(`peer ${formatPeerName(name)} gone (${n} entries dropped)`);
    };
    if (!this.#registered) return drop();
    const known = this.#isKnownPeer;
    const timer = setTimeout(() => {
      this.#goneTimers.delete(timer);
      if (!known(name)) drop();
    }, this.#peerGoneGraceMs);
    this.#goneTimers.add(timer);
  }

  /** Drops tombstones older than 30 minutes; returns how many. */
  purgeTombstones(): number {
    return this.entries.purgeTombstones(this.#now());
  }

  /** Live entries originated here (`weave_dns_entries`). */
  localEntryCount(): number {
    return this.entries.countLive(this.ourName);
  }

  /** The advertised DNS address as `host:port` (the bound port once started). */
  dnsAddressPort(): string {
    return this.#servers[0].address ?? this.listenAddress;
  }

  /** Every address listened on, advertised first (`host:port` once started, else `""`). */
  listenAddresses(): string[] {
    return this.#servers.map((s) => s.address ?? "");
  }

  /** The DNS part of the status report. */
  report(): DnsReport {
    const all = this.entries.all();
    return {
      Domain: this.domain,
      Upstream: this.upstream.servers(),
      Address: this.listenAddress,
      TTL: this.ttl,
      Entries: all.length === 0 ? null : all.map((e) => ({
        Hostname: e.hostname,
        Origin: formatPeerName(e.origin),
        ContainerID: e.containerID,
        Address: formatIPv4(e.addr),
        Version: e.version,
        Tombstone: e.tombstone,
      })),
    };
  }

  #now(): number {
    return Math.floor(this.#clock() / 1000);
  }

  /** Saves our live entries (the latest state wins; failures are logged). */
  #persist(): void {
    const store = this.#store;
    if (!store) return;
    const records = this.ownRecords();
    this.#saving = store.save(records).catch((e) => {
      this.#log.warn(`Cannot save DNS records to "${store.path}": ${(e as Error).message}`);
    });
  }

  #broadcast(entries: Entry[]): void {
    if (!this.#channel || entries.length === 0) return;
    this.#channel.gossipBroadcast(new DnsGossipData(this.#now(), entries));
  }
}

/** Whether `child` is `parent` or below it (case-insensitive, both fully qualified). */
export function isSubDomain(parent: string, child: string): boolean {
  const p = fqdn(parent).toLowerCase(), c = fqdn(child).toLowerCase();
  return p === "." || c === p || c.endsWith("." + p);
}
