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
}

/** Thrown for a target that is ourselves; such a target is never retried. */
export class ConnectToSelfError extends Error {
  constructor() {
    super("cannot connect to ourself");
    this.name = "ConnectToSelfError";
  }
}

/** Parses `host[:port]`; port 0 means "not given". */
export function parsePeerAddress(peer: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(peer.trim());
  if (!m || m[1] === "") throw new SyntaxError(`Cannot parse peer address "${peer}"`);
  const port = m[2] === undefined ? 0 : Number(m[2]);
  if (port > 65535) throw new RangeError(`Cannot parse peer address "${peer}": port out of range`);
  return { host: m[1], port };
}

/** Chooses and dials targets. */
export class ConnectionMaker {
  #opts: ConnectionMakerOptions;
  #targets = new Map<string, Target>();
  #direct = new Map<string, { host: string; port: number }>();
  #connections = new Set<MakerConnection>();
  #timer?: TimerId;
  #stopped = false;
  #now: () => number;
  #random: () => number;

  constructor(opts: ConnectionMakerOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
  }

  /** Adds (or with `replace`, sets) direct peers; returns errors for unparseable ones. */
  initiateConnections(peers: string[], replace: boolean): Error[] {
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
    if (target) target.state = "connected";
  }

  /** A connection (added or not) has ended. */
  connectionTerminated(conn: MakerConnection, error: Error | undefined): void {
    this.#connections.delete(conn);
    const target = conn.outbound ? this.#targets.get(targetKey(conn)) : undefined;
    if (target) {
      target.state = "waiting";
      target.lastError = error ?? new Error("connection closed");
      if (error instanceof ConnectToSelfError) this.#nextTryNever(target);
      else if (target.tryAfter !== null && this.#now() > target.tryAfter + RESET_AFTER_MS) {
        this.#nextTryNow(target);
      } else this.#nextTryLater(target);
    }
    this.refresh();
  }

  /** A dial failed before any connection existed. */
  connectionAborted(address: string, error: Error): void {
    const target = this.#targets.get(address);
    if (target) {
      target.state = "waiting";
      target.lastError = error;
      this.#nextTryLater(target);
    }
    this.refresh();
  }

  /** Re-checks targets now (e.g. after a topology change). */
  refresh(): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    const after = this.#checkAndAttempt();
    if (after !== null) this.#timer = setTimeout(() => this.refresh(), Math.max(after, 0));
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

  #checkAndAttempt(): number | null {
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
    const addTarget = (address: string) => {
      if (connectedAddrs.has(address)) return;
      valid.add(address);
      if (this.#targets.has(address)) return;
      const t: Target = { state: "waiting", tryAfter: 0, tryInterval: INITIAL_INTERVAL_MS };
      this.#nextTryNow(t);
      this.#targets.set(address, t);
    };
    for (const addr of this.#direct.values()) {
      const address = this.#complete(addr);
      direct.add(address);
      if (addr.port === 0 && inboundIPs.has(addr.host)) continue;
      addTarget(address);
    }
    if (this.#opts.discovery) this.#addPeerTargets(connectedPeers, addTarget);
    return this.#connectToTargets(valid, direct);
  }

  #addPeerTargets(connected: Set<PeerName>, addTarget: (a: string) => void): void {
    for (const peer of this.#opts.peers()) {
      if (peer.name === this.#opts.ourName) continue;
      for (const conn of peer.connections) {
        if (conn.name === this.#opts.ourName || connected.has(conn.name)) continue;
        if (conn.outbound) addTarget(conn.remoteTCPAddr);
        else addTarget(`${hostOf(conn.remoteTCPAddr)}:${this.#opts.port}`);
      }
    }
  }

  #connectToTargets(valid: Set<string>, direct: Set<string>): number | null {
    const now = this.#now();
    let after: number | null = null;
    for (const [address, t] of this.#targets) {
      if (t.state !== "waiting") continue;
      if (!valid.has(address)) {
        this.#targets.delete(address);
        continue;
      }
      if (t.tryAfter === null) continue;
      const wait = t.tryAfter - now;
      if (wait <= 0) {
        t.state = "attempting";
        this.#opts.dial(address, direct.has(address));
      } else if (after === null || wait < after) after = wait;
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
