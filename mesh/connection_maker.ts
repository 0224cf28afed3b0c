/**
 * Outbound dialling, after weaveworks/mesh `connection_maker.go`.
 *
 * Targets come from the command line and `weave connect` ("direct peers"),
 * and, with discovery, from the addresses other peers list in their
 * connections. A target is dialled when due; a failure backs off from 2 s by
 * ×1.5 per failure up to 6 min, with jitter in [i/2, 3i/2]; a connection that
 * lived at least a minute resets the backoff. A peer given without a port is
 * not dialled while an inbound connection from that IP exists. A target that
 * turned out to be ourselves is never retried.
 *
 * Unlike Go, at most a few attempts are under way at once (fewer after
 * handshake timeouts), discovered targets are tried in random order, of two
 * peers that discover each other only one dials at first, and the topology
 * is read at most once a second (only the lists that changed): a router
 * joining a large mesh otherwise starts a hundred handshakes at once.
 *
 * All decisions are synchronous; the only side effects are the injected
 * `dial` and the timer.
 *
 * @module
 */
import type { PeerName } from "../lib/peer_name.ts";
import type { TimerId } from "../lib/timer.ts";

export const INITIAL_INTERVAL_MS = 2_000;
export const MAX_INTERVAL_MS = 6 * 60_000;
export const RESET_AFTER_MS = 60_000;
/**
 * Default cap on attempts under way at once (dial plus handshake). Go has
 * none; without one, a router that learns of a hundred peers at once starts
 * a hundred handshakes, and on a loaded host they all miss the 10 s
 * handshake timeout together and are retried together. The cap in force
 * halves on every handshake timeout and grows back as attempts succeed.
 */
export const MAX_CONCURRENT_ATTEMPTS = 8;
/**
 * Of two peers that discover each other, one dials at once and the other
 * waits this long, ×[1/2, 3/2], in case that dial never comes (e.g. it
 * cannot reach us). See {@link prefersToDial}.
 */
export const YIELD_DIAL_MS = 10_000;
/** {@link ConnectionMaker.requestRefresh} reads the topology at most this often (ms). */
export const SCAN_MIN_INTERVAL_MS = 1_000;

type TargetState = "waiting" | "attempting" | "connected";

interface Target {
  state: TargetState;
  lastError?: Error;
  /** When to try next; null = never. */
  tryAfter: number | null;
  tryInterval: number;
}

/** A connection as the maker sees it. */
export interface MakerConnection {
  readonly remoteTCPAddr: string;
  /** For outbound connections: the target address that was dialled (may be a host name). */
  readonly targetAddress?: string;
  readonly outbound: boolean;
  readonly remoteName?: PeerName;
  readonly startedAt: number;
}

/** A peer as the maker sees it (for discovery). */
export interface MakerPeer {
  name: PeerName;
  connections: Iterable<{ name: PeerName; remoteTCPAddr: string; outbound: boolean }>;
  /**
   * The peer's version and UID: while both stay the same its connection list
   * is taken to be unchanged and is not read again (omit to have it read at
   * every scan).
   */
  version?: bigint;
  uid?: bigint;
}

/** One target's status line (for `weave status connections`). */
export interface TargetStatus {
  address: string;
  state: "connecting" | "retrying" | "failed" | "waiting";
  info: string;
}

/** Options of {@link ConnectionMaker}. */
export interface ConnectionMakerOptions {
  ourName: PeerName;
  /** Our mesh port: the default port of targets. */
  port: number;
  discovery: boolean;
  /** The peers of the topology, for discovery. */
  peers(): Iterable<MakerPeer>;
  /** Starts dialling `address`; the router reports back through connectionTerminated/Aborted. */
  dial(address: string, acceptNewPeer: boolean): void;
  now?: () => number;
  random?: () => number;
  /** Cap on attempts under way at once; default {@link MAX_CONCURRENT_ATTEMPTS}. */
  maxAttempts?: number;
}

/** Thrown for a target that is ourselves; such a target is never retried. */
export class ConnectToSelfError extends Error {
  constructor() {
    super("cannot connect to ourself");
    this.name = "ConnectToSelfError";
  }
}

/**
 * Most direct peers (`weave launch` peers plus `weave connect`) a router
 * keeps: Go has no bound, and one `POST /connect` of thousands of targets
 * then costs memory and a scan of them all at every connection event. The
 * connection limit (200 by default) is far below it.
 */
export const MAX_DIRECT_PEERS = 1_000;

// Dot-separated DNS labels (RFC 1123, `_` allowed as resolvers do), 253 characters at most.
const LABEL = "[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?";
const HOST_NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*\\.?$`);
// A bracketed IPv6 address, with an optional zone.
const BRACKETED_V6 = /^\[[0-9A-Fa-f:.]{2,45}(?:%[A-Za-z0-9_.-]{1,15})?\]$/;

/**
 * Parses `host[:port]`; port 0 means "not given". The host must be a DNS
 * name, an IPv4 address or a bracketed IPv6 address: an address from the API
 * is dialled and logged, so NUL bytes, spaces or shell characters are refused.
 *
 * @example
 * ```ts
 * import { parsePeerAddress } from "./connection_maker.ts";
 * parsePeerAddress("192.0.2.2:6783"); // { host: "192.0.2.2", port: 6783 }
 * ```
 */
export function parsePeerAddress(peer: string): { host: string; port: number } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(peer.trim());
  if (!m || m[1] === "") throw new SyntaxError(`Cannot parse peer address ${quote(peer)}`);
  const host = m[1];
  if (!(host.startsWith("[") ? BRACKETED_V6 : HOST_NAME).test(host)) {
    throw new SyntaxError(
      `Cannot parse peer address ${quote(peer)}: expected a host name, an IPv4 address or ` +
        `[an IPv6 address], optionally followed by :port`,
    );
  }
  const port = m[2] === undefined ? 0 : Number(m[2]);
  if (port > 65535) {
    throw new RangeError(`Cannot parse peer address ${quote(peer)}: port out of range`);
  }
  return { host, port };
}

/** A value from outside, quoted with its control characters escaped (`"\u0000"`). */
function quote(text: string): string {
  return JSON.stringify(text.length > 100 ? text.slice(0, 100) + "…" : text);
}

/** Chooses and dials targets. */
export class ConnectionMaker {
  #opts: ConnectionMakerOptions;
  #targets = new Map<string, Target>();
  #direct = new Map<string, { host: string; port: number }>();
  #connections = new Set<MakerConnection>();
  #timer?: TimerId;
  /** When {@link #timer} fires (clock of `now`). */
  #timerAt = 0;
  /** Discovery candidates: peer → addresses others list for it → how many list it. */
  #discovered = new Map<PeerName, Map<string, number>>();
  /** What each peer's list contributed to {@link #discovered}, as of its version. */
  #lists = new Map<PeerName, { version?: bigint; uid?: bigint; list: [PeerName, string][] }>();
  #listenAddresses = new Map<string, string>();
  /** The topology changed since the last scan. */
  #stale = true;
  #scannedAt = -Infinity;
  #stopped = false;
  #now: () => number;
  #random: () => number;
  #maxAttempts: number;
  /**
   * Attempts allowed at once now: halved when a handshake times out, grown
   * by one for every `cap` attempts that succeed, up to `maxAttempts`.
   */
  #cap: number;

  constructor(opts: ConnectionMakerOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
    this.#maxAttempts = opts.maxAttempts ?? MAX_CONCURRENT_ATTEMPTS;
    this.#cap = this.#maxAttempts;
  }

  /**
   * Adds (or with `replace`, sets) direct peers; returns errors for
   * unparseable ones. Adds none when they would be more than
   * {@link MAX_DIRECT_PEERS}, and returns that error.
   */
  initiateConnections(peers: string[], replace: boolean): Error[] {
    const total = new Set([...(replace ? [] : this.#direct.keys()), ...peers]).size;
    if (total > MAX_DIRECT_PEERS) {
      return [
        new RangeError(
          `Cannot add ${peers.length} peers: that makes ${total} direct peers, ` +
            `the limit is ${MAX_DIRECT_PEERS}`,
        ),
      ];
    }
    const errors: Error[] = [];
    const parsed: [string, { host: string; port: number }][] = [];
    for (const peer of peers) {
      try {
        parsed.push([peer, parsePeerAddress(peer)]);
      } catch (e) {
        errors.push(e as Error);
      }
    }
    if (replace) this.#direct.clear();
    for (const [peer, addr] of parsed) {
      this.#direct.set(peer, addr);
      const target = this.#targets.get(this.#complete(addr));
      if (target) this.#nextTryNow(target);
    }
    this.refresh();
    return errors;
  }

  /** Removes direct peers. */
  forgetConnections(peers: string[]): void {
    for (const peer of peers) this.#direct.delete(peer);
    this.refresh();
  }

  /** The direct peers, as given. */
  directPeers(): string[] {
    return [...this.#direct.keys()];
  }

  /** A connection was added to the router. */
  connectionCreated(conn: MakerConnection): void {
    this.#connections.add(conn);
    const target = conn.outbound ? this.#targets.get(targetKey(conn)) : undefined;
    if (target) {
      if (target.state === "attempting") {
        this.#cap = Math.min(this.#maxAttempts, this.#cap + 1 / Math.floor(this.#cap));
      }
      target.state = "connected";
      this.#recheck(); // an attempt slot is free
    }
  }

  /** A connection (added or not) has ended. */
  connectionTerminated(conn: MakerConnection, error: Error | undefined): void {
    this.#connections.delete(conn);
    const target = conn.outbound ? this.#targets.get(targetKey(conn)) : undefined;
    if (target) {
      if (target.state === "attempting" && error && /timed out/.test(error.message)) {
        // Handshakes are too slow (a busy host or peer): fewer at once, so that they finish.
        this.#cap = Math.max(1, this.#cap / 2);
      }
      target.state = "waiting";
      target.lastError = error ?? new Error("connection closed");
      if (error instanceof ConnectToSelfError) this.#nextTryNever(target);
      else if (target.tryAfter !== null && this.#now() > target.tryAfter + RESET_AFTER_MS) {
        this.#nextTryNow(target);
      } else this.#nextTryLater(target);
    }
    this.#recheck();
  }

  /** A dial failed before any connection existed. */
  connectionAborted(address: string, error: Error): void {
    const target = this.#targets.get(address);
    if (target) {
      target.state = "waiting";
      target.lastError = error;
      this.#nextTryLater(target);
    }
    this.#recheck();
  }

  /** Re-checks targets now, reading the peers' connection lists afresh. */
  refresh(): void {
    this.#stale = true;
    this.#scannedAt = -Infinity;
    this.#recheck();
  }

  /**
   * The topology changed: re-checks targets at the next turn of the event
   * loop, reading the peers' connection lists at most once per
   * {@link SCAN_MIN_INTERVAL_MS} however many changes come in the meantime
   * (they come in bursts, and a scan walks every connection of every peer).
   */
  requestRefresh(): void {
    if (this.#stopped) return;
    this.#stale = true;
    this.#wakeAt(this.#scannedAt + SCAN_MIN_INTERVAL_MS);
  }

  /** Dials what is due, rescanning the topology first if it changed and the interval allows. */
  #recheck(): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = this.#now();
    let next = this.#checkAndAttempt(now);
    if (this.#stale) {
      const scanAt = this.#scannedAt + SCAN_MIN_INTERVAL_MS - now;
      next = next === null ? scanAt : Math.min(next, scanAt);
    }
    if (next !== null) this.#wakeAt(now + next);
  }

  /** Makes sure {@link #recheck} runs no later than `at` (clock of `now`). */
  #wakeAt(at: number): void {
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#recheck();
    }, Math.max(0, at - this.#now()));
  }

  /** Status of targets that are not connected. */
  status(): TargetStatus[] {
    const out: TargetStatus[] = [];
    for (const [address, t] of this.#targets) {
      if (t.state === "waiting") {
        const until = t.tryAfter === null ? "never" : formatGoTime(new Date(t.tryAfter));
        if (t.lastError) {
          out.push({ address, state: "failed", info: `${t.lastError.message}, retry: ${until}` });
        } else out.push({ address, state: "waiting", info: `until: ${until}` });
      } else if (t.state === "attempting") {
        if (t.lastError) out.push({ address, state: "retrying", info: t.lastError.message });
        else out.push({ address, state: "connecting", info: "" });
      }
    }
    return out;
  }

  /** Stops dialling. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #complete(addr: { host: string; port: number }): string {
    return `${addr.host}:${addr.port === 0 ? this.#opts.port : addr.port}`;
  }

  #checkAndAttempt(now: number): number | null {
    const valid = new Set<string>();
    const direct = new Set<string>();
    const connectedPeers = new Set<PeerName>();
    const connectedAddrs = new Set<string>();
    const inboundIPs = new Set<string>();
    for (const c of this.#connections) {
      if (c.remoteName !== undefined) connectedPeers.add(c.remoteName);
      connectedAddrs.add(c.remoteTCPAddr);
      if (c.targetAddress) connectedAddrs.add(c.targetAddress);
      if (!c.outbound) inboundIPs.add(hostOf(c.remoteTCPAddr));
    }
    const addTarget = (address: string, peer?: PeerName) => {
      if (connectedAddrs.has(address)) return;
      valid.add(address);
      if (this.#targets.has(address)) return;
      const t: Target = { state: "waiting", tryAfter: 0, tryInterval: INITIAL_INTERVAL_MS };
      this.#nextTryNow(t);
      if (peer !== undefined && !prefersToDial(this.#opts.ourName, peer)) {
        // Let the peer dial us first: both dialling at once ends in a tie-break
        // that throws one connection (and a handshake each side) away.
        t.tryAfter = now + YIELD_DIAL_MS / 2 + Math.floor(this.#random() * YIELD_DIAL_MS);
      }
      this.#targets.set(address, t);
    };
    for (const addr of this.#direct.values()) {
      const address = this.#complete(addr);
      direct.add(address);
      if (addr.port === 0 && inboundIPs.has(addr.host)) continue;
      addTarget(address);
    }
    if (this.#opts.discovery) {
      if (this.#stale && now >= this.#scannedAt + SCAN_MIN_INTERVAL_MS) this.#scan(now);
      for (const [name, addresses] of this.#discovered) {
        if (connectedPeers.has(name)) continue;
        for (const address of addresses.keys()) addTarget(address, name);
      }
    }
    return this.#connectToTargets(valid, direct, now);
  }

  /**
   * Brings {@link #discovered} up to date with every address other peers
   * list for a connection to a peer other than us. Only the lists of peers
   * that changed since the last scan are read (the union keeps a count per
   * address), so a scan after one update costs that update's size.
   */
  #scan(now: number): void {
    this.#stale = false;
    this.#scannedAt = now;
    const ours = this.#opts.ourName;
    const seen = new Set<PeerName>();
    for (const peer of this.#opts.peers()) {
      if (peer.name === ours) continue;
      seen.add(peer.name);
      const old = this.#lists.get(peer.name);
      if (
        old !== undefined && peer.version !== undefined && old.version === peer.version &&
        old.uid === peer.uid
      ) continue;
      const list: [PeerName, string][] = [];
      for (const conn of peer.connections) {
        if (conn.name === ours) continue;
        const address = conn.outbound
          ? conn.remoteTCPAddr
          : this.#listenAddress(conn.remoteTCPAddr);
        list.push([conn.name, address]);
      }
      if (old !== undefined) this.#count(old.list, -1);
      this.#count(list, 1);
      this.#lists.set(peer.name, { version: peer.version, uid: peer.uid, list });
    }
    for (const [name, old] of this.#lists) {
      if (seen.has(name)) continue;
      this.#count(old.list, -1);
      this.#lists.delete(name);
    }
  }

  #count(list: [PeerName, string][], delta: 1 | -1): void {
    for (const [name, address] of list) {
      let addresses = this.#discovered.get(name);
      if (addresses === undefined) this.#discovered.set(name, addresses = new Map());
      const n = (addresses.get(address) ?? 0) + delta;
      if (n > 0) addresses.set(address, n);
      else {
        addresses.delete(address);
        if (addresses.size === 0) this.#discovered.delete(name);
      }
    }
  }

  /** `ip:our port` for the `ip:ephemeral` of an inbound connection (memoised: scans are hot). */
  #listenAddress(remoteTCPAddr: string): string {
    let address = this.#listenAddresses.get(remoteTCPAddr);
    if (address === undefined) {
      if (this.#listenAddresses.size >= 4096) this.#listenAddresses.clear();
      address = `${hostOf(remoteTCPAddr)}:${this.#opts.port}`;
      this.#listenAddresses.set(remoteTCPAddr, address);
    }
    return address;
  }

  #connectToTargets(valid: Set<string>, direct: Set<string>, now: number): number | null {
    let after: number | null = null;
    let attempting = 0;
    const due: string[] = [];
    for (const [address, t] of this.#targets) {
      if (t.state === "attempting") attempting++;
      if (t.state !== "waiting") continue;
      if (!valid.has(address)) {
        this.#targets.delete(address);
        continue;
      }
      if (t.tryAfter === null) continue;
      const wait = t.tryAfter - now;
      if (wait <= 0) due.push(address);
      else if (after === null || wait < after) after = wait;
    }
    // Direct peers first, in the order given; discovered ones in random order,
    // so that routers learning the same peers at once do not all dial the same one.
    const ordered = [
      ...due.filter((a) => direct.has(a)),
      ...shuffle(due.filter((a) => !direct.has(a)), this.#random),
    ];
    // The rest stay due: a slot freed by a created, aborted or ended attempt re-checks them.
    for (const address of ordered.slice(0, Math.max(0, Math.floor(this.#cap) - attempting))) {
      this.#targets.get(address)!.state = "attempting";
      this.#opts.dial(address, direct.has(address));
    }
    return after;
  }

  #nextTryNever(t: Target): void {
    t.tryAfter = null;
    t.tryInterval = MAX_INTERVAL_MS;
  }

  #nextTryNow(t: Target): void {
    t.tryAfter = this.#now();
    t.tryInterval = INITIAL_INTERVAL_MS;
  }

  #nextTryLater(t: Target): void {
    t.tryAfter = this.#now() + t.tryInterval / 2 + Math.floor(this.#random() * t.tryInterval);
    t.tryInterval = Math.min(Math.floor(t.tryInterval * 3 / 2), MAX_INTERVAL_MS);
  }
}

/**
 * Whether we, rather than `peer`, should dial first when each discovers the
 * other. Both sides compute the same pseudo-random bit from the pair of
 * names, so exactly one of them dials first, and each peer dials about half
 * of the others whatever the names look like (sequential, shared prefix).
 *
 * @example
 * ```ts
 * import { prefersToDial } from "./connection_maker.ts";
 * prefersToDial(1n, 2n) !== prefersToDial(2n, 1n); // true
 * ```
 */
export function prefersToDial(ours: PeerName, peer: PeerName): boolean {
  if (ours === peer) return false;
  const [low, high] = ours < peer ? [ours, peer] : [peer, ours];
  const lowFirst = (mix64(low * 0x9e3779b97f4a7c15n + high) & 1n) === 0n;
  return lowFirst === (ours === low);
}

/** The splitmix64 finaliser: every input bit affects every output bit. */
function mix64(x: bigint): bigint {
  x = BigInt.asUintN(64, x);
  x = BigInt.asUintN(64, (x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n);
  x = BigInt.asUintN(64, (x ^ (x >> 27n)) * 0x94d049bb133111ebn);
  return x ^ (x >> 31n);
}

/** `items` in random order (Fisher–Yates, in place). */
function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(random() * (i + 1)));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

function targetKey(conn: MakerConnection): string {
  return conn.targetAddress ?? conn.remoteTCPAddr;
}

function hostOf(address: string): string {
  const i = address.lastIndexOf(":");
  return i < 0 ? address : address.slice(0, i);
}

/** Formats a time as Go's `time.Time.String()` does in UTC (`2026-11-23 18:44:24.21891415 +0000 UTC`). */
export function formatGoTime(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const frac = String(d.getUTCMilliseconds()).padStart(3, "0").replace(/0+$/, "");
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}` +
    `${frac ? "." + frac : ""} +0000 UTC`;
}
