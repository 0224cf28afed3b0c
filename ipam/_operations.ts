/**
 * The allocator's client operations (Weave's `operation`: allocate, claim,
 * prime): what was asked with its once-only completion, the queue of those
 * that wait, and the decisions for each, taken from a read-only view of the
 * allocator's state and returned as data for the {@link Allocator} to carry
 * out.
 *
 * An operation is tried when it arrives; if it cannot finish it waits in the
 * {@link PendingOps} queue, which the allocator retries after every change
 * of the ring (once, at the end of the task that made the change), at start
 * and on every tick: primes first, then claims, then allocations. A
 * caller's AbortSignal takes an operation out of the queue; shutdown and stop
 * cancel them all.
 *
 * @module
 */
import { type Cidr, formatCidr, formatIPv4 } from "../lib/cidr.ts";
import { type PeerName, UNKNOWN_PEER_NAME } from "../lib/peer_name.ts";
import { type Address, cidrRange, type Range } from "./address/mod.ts";
import { peerText, type Ring } from "./ring/mod.ts";
import type { OwnedBook } from "./_owned.ts";
import type { OwnedAddress } from "./store/mod.ts";

/**
 * How long a claim of an address owned by a peer we cannot reach waits for it to become
 * reachable before it fails with "owned by other peer" (two IPAM ticks).
 */
export const CLAIM_UNREACHABLE_GRACE_MS = 10_000;

/** A waiting operation was cancelled (client gone, shutdown, container died). */
export class CancelledError extends Error {
  constructor(kind: string, ident: string) {
    super(`${kind} request for ${ident} cancelled`);
    this.name = "CancelledError";
  }
}

/**
 * A promise with its settle functions; settles once, later calls are ignored.
 *
 * @example
 * ```ts
 * import { Once } from "./_operations.ts";
 * const done = new Once<number>();
 * done.resolve(1);
 * done.resolve(2); // ignored
 * await done.promise; // 1
 * ```
 */
export class Once<T> {
  readonly promise: Promise<T>;
  #resolve!: (v: T) => void;
  #reject!: (e: Error) => void;
  #settled = false;

  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // A caller that stopped listening must not cause an unhandled rejection.
    this.promise.catch(() => {});
  }

  /** Whether it was resolved or rejected. */
  get settled(): boolean {
    return this.#settled;
  }

  /** Resolves, unless settled already. */
  resolve(value: T): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve(value);
  }

  /** Rejects, unless settled already. */
  reject(error: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reject(error);
  }
}

/** Allocate any address in `subnet` for `ident`. */
export interface AllocateOp {
  kind: "allocate";
  ident: string;
  subnet: Cidr;
  isContainer: boolean;
  done: Once<OwnedAddress>;
}

/** Claim the given address for `ident`. */
export interface ClaimOp {
  kind: "claim";
  ident: string;
  cidr: OwnedAddress;
  isContainer: boolean;
  /** Succeed (and keep trying) when the owner is not known yet. */
  noErrorOnUnknown: boolean;
  done: Once<void>;
  /** When the claim first found its owner unreachable (clock ms). */
  unreachableSince?: number;
}

/** Wait for the ring to exist. */
export interface PrimeOp {
  kind: "prime";
  ident: string;
  done: Once<void>;
}

/** Any waiting operation. */
export type Operation = AllocateOp | ClaimOp | PrimeOp;

/** The kind as Weave words it in cancellation messages. */
export function opKindText(op: Operation): string {
  return op.kind === "allocate" ? "Allocate" : op.kind === "claim" ? "Claim" : "Prime";
}

/** Rejects `op` with its {@link CancelledError}. */
export function cancel(op: Operation): void {
  op.done.reject(new CancelledError(opKindText(op), op.ident));
}

/**
 * The operations that wait, in arrival order per kind, and the space
 * requests sent during the current pass over them (many waiting allocations
 * need the same space: one request per donor and range per pass).
 *
 * @example
 * ```ts
 * import { Once, PendingOps } from "./_operations.ts";
 * const queue = new PendingOps();
 * const done = new Once<void>();
 * queue.add({ kind: "prime", ident: "ring", done });
 * queue.retry(() => (done.resolve(), true));
 * queue.size; // 0
 * ```
 */
export class PendingOps {
  #primes: PrimeOp[] = [];
  #claims: ClaimOp[] = [];
  #allocates: AllocateOp[] = [];
  #asked = new Set<string>();

  /** How many operations wait. */
  get size(): number {
    return this.#primes.length + this.#claims.length + this.#allocates.length;
  }

  /** The waiting claims, oldest first. */
  get claims(): readonly ClaimOp[] {
    return this.#claims;
  }

  /** The waiting allocations, oldest first. */
  get allocates(): readonly AllocateOp[] {
    return this.#allocates;
  }

  /** Queues `op` behind the others of its kind. */
  add(op: Operation): void {
    this.#list(op).push(op);
  }

  /** Takes `op` out of the queue; false when it was not there. */
  remove(op: Operation): boolean {
    const list = this.#list(op);
    const i = list.indexOf(op);
    if (i === -1) return false;
    list.splice(i, 1);
    return true;
  }

  /** Cancels `op` when `signal` aborts, taking it out of the queue if it waits. */
  cancelOnAbort(op: Operation, signal: AbortSignal): void {
    const onAbort = () => {
      this.remove(op);
      cancel(op);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const cleanup = () => signal.removeEventListener("abort", onAbort);
    op.done.promise.then(cleanup, cleanup);
  }

  /**
   * One pass: tries every waiting operation (primes, claims, allocations)
   * with `tryOp` and takes out those it finishes (true: succeeded or failed).
   */
  retry(tryOp: (op: Operation) => boolean): void {
    this.#asked.clear();
    for (const list of [this.#primes, this.#claims, this.#allocates] as Operation[][]) {
      for (const op of [...list]) {
        if (list.includes(op) && tryOp(op)) this.remove(op);
      }
    }
  }

  /** The waiting claims of addresses in `range`, oldest first. */
  claimsIn(range: Range): ClaimOp[] {
    return this.#claims.filter((op) => op.cidr.addr >= range.start && op.cidr.addr < range.end);
  }

  /** Whether no request for `key` went out in this pass (and records it). */
  firstAsk(key: string): boolean {
    if (this.#asked.has(key)) return false;
    this.#asked.add(key);
    return true;
  }

  /** Starts a new pass for {@link firstAsk} (on every tick). */
  forgetAsks(): void {
    this.#asked.clear();
  }

  /** Cancels every waiting operation. */
  cancelAll(): void {
    for (const list of [this.#primes, this.#claims, this.#allocates] as Operation[][]) {
      for (const op of list.splice(0)) cancel(op);
    }
  }

  #list(op: Operation): Operation[] {
    return op.kind === "prime"
      ? this.#primes
      : op.kind === "claim"
      ? this.#claims
      : this.#allocates;
  }
}

/** The read-only view of the allocator's state the decisions below take. */
export interface OpView {
  readonly universe: Cidr;
  readonly ourName: PeerName;
  /** The ring now (the allocator may replace it between calls). */
  ring(): Pick<Ring, "isEmpty" | "contains" | "owner" | "range" | "choosePeersToAskForSpace">;
  readonly owned: Pick<OwnedBook, "get" | "owner">;
  /** Whether the ring entry holding `addr` is a takeover still on hold. */
  isHeld(addr: Address): boolean;
  /** Whether `peer` is us or reachable. */
  isKnown(peer: PeerName): boolean;
  nickname(peer: PeerName): string | undefined;
  now(): number;
}

/** Dotted-quad text of an address, as every allocator log line writes it. */
export const ipText: (addr: Address) => string = formatIPv4;

/**
 * What an allocation settles before it needs the ring: the address `ident`
 * already has in the subnet, or the error for a subnet outside the range;
 * undefined when it has to allocate.
 */
export function allocateAnswer(
  v: Pick<OpView, "universe" | "owned">,
  op: AllocateOp,
): { existing: OwnedAddress } | { error: Error } | undefined {
  const subnet = cidrRange(op.subnet);
  const existing = v.owned.get(op.ident)?.cidrs.find((c) =>
    c.addr >= subnet.start && c.addr < subnet.end
  );
  if (existing) return { existing: { ...existing } };
  const universe = cidrRange(v.universe);
  if (subnet.start >= universe.end || subnet.end <= universe.start) {
    const error = new RangeError(
      `range ${formatCidr(op.subnet)} out of bounds: ${formatCidr(v.universe)}`,
    );
    return { error };
  }
  return undefined;
}

/** Whom to ask for space in `r` (a reachable owner chosen at random), with the range clipped to the ring. */
export function chooseDonor(
  v: Pick<OpView, "ring" | "isKnown">,
  r: Range,
  random: () => number,
): { donor: PeerName | undefined; range: Range } {
  const ring = v.ring().range();
  const range = { start: Math.max(r.start, ring.start), end: Math.min(r.end, ring.end) };
  const donors = v.ring().choosePeersToAskForSpace(range.start, range.end, random);
  return { donor: donors.find((d) => v.isKnown(d)), range };
}

/** What a claim does now (see {@link claimStep}). */
export type ClaimStep =
  /** Outside the ring: record the address as `ident`'s and answer. */
  | { do: "record" }
  /** In a free address of ours: take it from our space (under `ident`) and answer. */
  | { do: "take"; ident: string }
  /**
   * Answer now (already ours, or a restored container that need not wait);
   * keep trying when `wait`, logging `note` if given.
   */
  | { do: "resolve"; wait: boolean; note?: string }
  | { do: "fail"; error: Error }
  /** Ask `owner` for the address and wait. */
  | { do: "ask"; owner: PeerName }
  /** Wait (the owner may become reachable, the hold may end). */
  | { do: "wait" };

/**
 * The next step of a claim (Weave's `claim.Try`): outside the ring it is
 * simply recorded; in a range of ours it is taken unless another identifier
 * holds it; in another peer's range that peer is asked for it, until it
 * gives or denies it; a peer not reachable yet is waited for up to
 * {@link CLAIM_UNREACHABLE_GRACE_MS} (Weave denies at once). While there is
 * no ring the claim fails, or, for a restored container, waits. Sets
 * `op.unreachableSince` the first time the owner is unreachable.
 */
export function claimStep(v: OpView, op: ClaimOp): ClaimStep {
  const addr = op.cidr.addr;
  if (!v.ring().contains(addr)) return { do: "record" };
  const owner = v.ring().owner(addr);
  if (owner === UNKNOWN_PEER_NAME) {
    if (op.noErrorOnUnknown) {
      const note = `Claim ${ipText(addr)} for ${op.ident}: ` +
        "address allocator still initializing; will try later.";
      return { do: "resolve", wait: true, note };
    }
    const error = new Error(
      `${ipText(addr)} is in the range ${formatCidr(v.universe)}, ` +
        "but the allocator is not initialized yet",
    );
    return { do: "fail", error };
  }
  if (owner !== v.ourName) {
    if (v.isKnown(owner)) return { do: "ask", owner };
    if (op.noErrorOnUnknown) return { do: "resolve", wait: true };
    // Weave denies at once; a peer that cannot be reached *yet* (its topology still on the way,
    // as right after launch behind another peer) gets a grace period, retried every tick.
    op.unreachableSince ??= v.now();
    if (v.now() - op.unreachableSince < CLAIM_UNREACHABLE_GRACE_MS) return { do: "wait" };
    return { do: "fail", error: deniedError(v, op, owner) };
  }
  if (v.isHeld(addr)) return { do: "wait" };
  const existing = v.owned.owner(addr);
  if (existing === undefined) {
    return { do: "take", ident: op.ident === "_" ? ipText(addr) : op.ident };
  }
  if (existing === op.ident) return { do: "resolve", wait: false };
  if (existing === ipText(addr)) {
    return { do: "fail", error: new Error(`address ${ipText(addr)} already in use`) };
  }
  return {
    do: "fail",
    error: new Error(`address ${ipText(addr)} is already owned by ${existing}`),
  };
}

/** The error of a claim whose address `owner` owns. */
export function deniedError(v: Pick<OpView, "nickname">, op: ClaimOp, owner: PeerName): Error {
  const nick = v.nickname(owner);
  return new Error(
    `address ${ipText(op.cidr.addr)} is owned by other peer ${peerText(owner)}${
      nick === undefined ? "" : ` (${nick})`
    }`,
  );
}
