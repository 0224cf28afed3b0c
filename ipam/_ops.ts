/**
 * The allocator's waiting operations (Weave's `operation`: allocate, claim,
 * prime): what was asked, and a once-only completion. The allocator retries
 * them whenever the ring or its space changes and on every tick; a caller's
 * AbortSignal cancels them.
 *
 * @module
 */
import type { Cidr } from "../lib/cidr.ts";
import type { OwnedAddress } from "./store/mod.ts";

/** A waiting operation was cancelled (client gone, shutdown, container died). */
export class CancelledError extends Error {
  constructor(kind: string, ident: string) {
    super(`${kind} request for ${ident} cancelled`);
    this.name = "CancelledError";
  }
}

/** A promise with its settle functions; settles once, later calls are ignored. */
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

  get settled(): boolean {
    return this.#settled;
  }

  resolve(value: T): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve(value);
  }

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
