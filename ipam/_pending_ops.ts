/**
 * The waiting calls (prime, claim, allocate, as Go's `operation` lists):
 * try at once, else queue and retry whenever the ring or our space changes
 * and on every tick, in that order of lists; a caller's AbortSignal takes a
 * call out of its list; shutdown and stop cancel them all. A retry requested
 * while a pass is running makes that pass go round again instead of nesting.
 *
 * @module
 */
import type { AllocatorState } from "./_allocator_state.ts";
import { tryAllocate } from "./_allocate_ops.ts";
import { tryClaim } from "./_claim_ops.ts";
import { CancelledError, type Operation, opKindText } from "./_ops.ts";
import { establishRing } from "./_ring_seed.ts";
import { reportFreeSpace } from "./_space_sync.ts";

/** Tries `op` now, else queues it in `list` until finished or `signal` aborts. */
export function doOperation(
  s: AllocatorState,
  op: Operation,
  queue: { list: Operation[]; signal?: AbortSignal },
): void {
  const { list, signal } = queue;
  const cancel = () => op.done.reject(new CancelledError(opKindText(op), op.ident));
  if (s.shuttingDown || s.stopped || signal?.aborted) return cancel();
  if (signal) {
    const onAbort = () => {
      const i = list.indexOf(op);
      if (i !== -1) list.splice(i, 1);
      cancel();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const cleanup = () => signal.removeEventListener("abort", onAbort);
    op.done.promise.then(cleanup, cleanup);
  }
  if (s.started && tryOp(s, op)) return reportFreeSpace(s);
  list.push(op);
  if (s.started) {
    s.log.info(`${opKindText(op)} for ${op.ident} is waiting: ${s.self.status()}`);
    reportFreeSpace(s);
  }
}

/** How many calls wait. */
export function pendingCount(s: AllocatorState): number {
  return s.primes.length + s.claims.length + s.allocates.length;
}

/** Retries every waiting call (once started), finished ones leave their list. */
export function tryPendingOps(s: AllocatorState): void {
  if (!s.started) return;
  if (s.tryingOps) {
    s.retryOps = true;
    return;
  }
  s.tryingOps = true;
  s.asked.clear();
  try {
    do {
      s.retryOps = false;
      for (const list of [s.primes, s.claims, s.allocates] as Operation[][]) {
        for (const op of [...list]) {
          if (!list.includes(op)) continue;
          if (tryOp(s, op)) list.splice(list.indexOf(op), 1);
        }
      }
    } while (s.retryOps);
  } finally {
    s.tryingOps = false;
  }
}

/** Tries one operation; true when it is finished (succeeded or failed). */
function tryOp(s: AllocatorState, op: Operation): boolean {
  if (op.kind === "allocate") return tryAllocate(s, op);
  if (op.kind === "claim") return tryClaim(s, op);
  if (!s.ring.isEmpty()) {
    op.done.resolve();
    return true;
  }
  establishRing(s);
  if (s.ring.isEmpty()) return false;
  op.done.resolve();
  return true;
}

/** Cancels every waiting call. */
export function cancelAll(s: AllocatorState): void {
  for (const list of [s.primes, s.claims, s.allocates] as Operation[][]) {
    for (const op of list.splice(0)) {
      op.done.reject(new CancelledError(opKindText(op), op.ident));
    }
  }
}
