/**
 * Pacing of inbound mesh connections, per remote address.
 *
 * Go's router takes a token from one global bucket (20, one more every 50 ms) before each
 * accept, so a burst waits in the kernel's backlog. One host opening hundreds of idle
 * connections then holds every real peer behind it: a genuine connection got no header for
 * 5 s behind 300 idle ones. Here the listener accepts at once, and each remote IP address has
 * a bucket of its own with Go's numbers: a connection beyond it waits (without a handshake)
 * until its address earns a token, and beyond {@link ACCEPT_MAX_WAITING_PER_ADDRESS} waiting
 * ones it is closed. Addresses of known peers (in the topology, or targets we dial) are not
 * paced at all. At most {@link ACCEPT_MAX_ADDRESSES} addresses have buckets; past that, new
 * addresses share one.
 *
 * @module
 */

/** Connections an address may open at once. */
export const ACCEPT_MAX_TOKENS = 20;
/** An address earns one more connection every this many ms. */
export const ACCEPT_TOKEN_MS = 50;
/** Connections of one address waiting for a token; more are closed. */
export const ACCEPT_MAX_WAITING_PER_ADDRESS = 128;
/** Addresses with a bucket of their own. */
export const ACCEPT_MAX_ADDRESSES = 1024;
/** The key of the bucket shared by addresses beyond {@link ACCEPT_MAX_ADDRESSES}. */
const SHARED = "*";

/** Options of {@link AcceptPacer}. */
export interface AcceptPacerOptions<T> {
  /** Whether `ip` is a known peer's (never paced). */
  isKnown(ip: string): boolean;
  /** Starts the handshake of an admitted connection. */
  start(conn: T): void;
  /** Closes a connection that is not admitted, saying why. */
  refuse(conn: T, reason: string): void;
  maxTokens?: number;
  tokenMs?: number;
  maxWaiting?: number;
  maxAddresses?: number;
  /** Milliseconds; default `Date.now`. */
  now?: () => number;
}

interface Bucket<T> {
  tokens: number;
  /** When the last token was earned (ms). */
  at: number;
  waiting: T[];
}

/**
 * Admits accepted connections per remote address.
 *
 * @example
 * ```ts
 * import { AcceptPacer } from "./accept_pacer.ts";
 * const started: string[] = [];
 * const pacer = new AcceptPacer<string>({
 *   isKnown: () => false,
 *   start: (c) => started.push(c),
 *   refuse: () => {},
 *   maxTokens: 1,
 * });
 * pacer.admit("192.0.2.9", "first");
 * pacer.admit("192.0.2.9", "second"); // waits for a token
 * pacer.stop(); // ["second"]: the caller closes them
 * ```
 */
export class AcceptPacer<T> {
  readonly #opts: AcceptPacerOptions<T>;
  readonly #buckets = new Map<string, Bucket<T>>();
  readonly #now: () => number;
  readonly #maxTokens: number;
  readonly #tokenMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #sweptAt = -Infinity;
  #stopped = false;

  constructor(opts: AcceptPacerOptions<T>) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#maxTokens = opts.maxTokens ?? ACCEPT_MAX_TOKENS;
    this.#tokenMs = opts.tokenMs ?? ACCEPT_TOKEN_MS;
  }

  /** Connections waiting for a token. */
  get waiting(): number {
    let n = 0;
    for (const b of this.#buckets.values()) n += b.waiting.length;
    return n;
  }

  /** Addresses that have a bucket (for tests: nothing is kept for idle addresses). */
  get addresses(): number {
    return this.#buckets.size;
  }

  /** Starts `conn` now, later (when `ip` earns a token), or refuses it. */
  admit(ip: string, conn: T): void {
    if (this.#stopped) return this.#opts.refuse(conn, "router stopping");
    if (this.#opts.isKnown(ip)) return this.#opts.start(conn);
    const bucket = this.#bucketOf(ip);
    this.#refill(bucket);
    if (bucket.waiting.length === 0 && bucket.tokens > 0) {
      bucket.tokens--;
      return this.#opts.start(conn);
    }
    if (bucket.waiting.length >= (this.#opts.maxWaiting ?? ACCEPT_MAX_WAITING_PER_ADDRESS)) {
      return this.#opts.refuse(conn, `too many connections from ${ip} waiting to be accepted`);
    }
    bucket.waiting.push(conn);
    this.#wakeAt(bucket.at + this.#tokenMs);
  }

  /** Stops pacing; returns the connections still waiting (the caller closes them). */
  stop(): T[] {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const left = [...this.#buckets.values()].flatMap((b) => b.waiting);
    this.#buckets.clear();
    return left;
  }

  #bucketOf(ip: string): Bucket<T> {
    let key = ip;
    if (!this.#buckets.has(key)) {
      // A bucket refills in maxTokens × tokenMs: sweep no more often than that, or when full.
      const now = this.#now();
      if (
        this.#buckets.size >= this.#maxAddresses ||
        now - this.#sweptAt >= this.#maxTokens * this.#tokenMs
      ) {
        this.#sweptAt = now;
        this.#sweep();
      }
      if (this.#buckets.size >= this.#maxAddresses) key = SHARED;
    }
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.#maxTokens, at: this.#now(), waiting: [] };
      this.#buckets.set(key, bucket);
    }
    return bucket;
  }

  get #maxAddresses(): number {
    return this.#opts.maxAddresses ?? ACCEPT_MAX_ADDRESSES;
  }

  #refill(bucket: Bucket<T>): void {
    const now = this.#now();
    const earned = Math.floor((now - bucket.at) / this.#tokenMs);
    if (earned <= 0) return;
    bucket.tokens = Math.min(this.#maxTokens, bucket.tokens + earned);
    bucket.at = bucket.tokens === this.#maxTokens ? now : bucket.at + earned * this.#tokenMs;
  }

  /** Starts waiting connections that have a token now; forgets buckets back to full. */
  #drain(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const ready: T[] = [];
    let next = Infinity;
    for (const bucket of this.#buckets.values()) {
      this.#refill(bucket);
      while (bucket.tokens > 0 && bucket.waiting.length > 0) {
        bucket.tokens--;
        ready.push(bucket.waiting.shift()!);
      }
      if (bucket.waiting.length > 0) next = Math.min(next, bucket.at + this.#tokenMs);
    }
    this.#sweep();
    if (next !== Infinity) this.#wakeAt(next);
    for (const conn of ready) this.#opts.start(conn);
  }

  /** Forgets buckets that are full and have nobody waiting (they are as good as new). */
  #sweep(): void {
    for (const [key, bucket] of this.#buckets) {
      this.#refill(bucket);
      if (bucket.waiting.length === 0 && bucket.tokens === this.#maxTokens) {
        this.#buckets.delete(key);
      }
    }
  }

  #wakeAt(at: number): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) {
      if (this.#timerAt <= at) return;
      clearTimeout(this.#timer);
    }
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#drain(), Math.max(0, at - this.#now()));
  }
}
