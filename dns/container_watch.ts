/**
 * Notices attached containers whose network namespace disappeared (`ip netns
 * delete`, the process died) without a `weave detach`, and tells the router,
 * which then drops their DNS entries, host routes and IPAM addresses — as
 * Weave's router did on Docker's "container died" events.
 *
 * The watch holds the ids of containers attached through this router (and
 * those found attached at start); every `intervalMs` it asks `exists` about
 * each, and calls `onGone` once for every one that is gone, after taking it
 * off the list. A failing `onGone` is logged and not retried.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import type { TimerId } from "../lib/timer.ts";

/** Default time between checks. */
export const DEFAULT_WATCH_INTERVAL_MS = 3_000;

/** Options of {@link ContainerWatch}. */
export interface ContainerWatchOptions {
  /** Whether container `id` still exists (datapath's `containerExists` for the real one). */
  exists: (id: string) => boolean;
  /** Called once for each container found gone. */
  onGone: (id: string) => void | Promise<void>;
  /** Default {@link DEFAULT_WATCH_INTERVAL_MS}. */
  intervalMs?: number;
  log: Logger;
}

/** The watch over attached containers' namespaces. */
export class ContainerWatch {
  #opts: ContainerWatchOptions;
  #ids = new Set<string>();
  #timer?: TimerId;
  #running?: Promise<void>;

  constructor(opts: ContainerWatchOptions) {
    this.#opts = opts;
  }

  /** Starts watching container `id` (again). */
  track(id: string): void {
    this.#ids.add(id);
  }

  /** Stops watching container `id` (it was detached). */
  untrack(id: string): void {
    this.#ids.delete(id);
  }

  /** The ids watched. */
  ids(): string[] {
    return [...this.#ids];
  }

  /** Checks every watched container now; resolves after the `onGone` calls. Returns the gone ids. */
  async check(): Promise<string[]> {
    const gone = [...this.#ids].filter((id) => !this.#safeExists(id));
    for (const id of gone) this.#ids.delete(id);
    for (const id of gone) {
      try {
        await this.#opts.onGone(id);
      } catch (e) {
        this.#opts.log.warn(`Cannot clean up after container "${id}": ${(e as Error).message}`);
      }
    }
    return gone;
  }

  /** Checks periodically until {@link stop}. */
  start(): void {
    if (this.#timer !== undefined) return;
    const interval = this.#opts.intervalMs ?? DEFAULT_WATCH_INTERVAL_MS;
    this.#timer = setInterval(() => {
      if (this.#running) return; // the previous round is still cleaning up
      this.#running = this.check().then(() => {}).finally(() => this.#running = undefined);
    }, interval);
  }

  /** Stops the checks; waits for a round in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #safeExists(id: string): boolean {
    try {
      return this.#opts.exists(id);
    } catch (e) {
      this.#opts.log.warn(`Cannot tell whether container "${id}" exists: ${(e as Error).message}`);
      return true;
    }
  }
}
