/**
 * Write-behind with a durability barrier: the allocator marks its state
 * dirty after each change and waits on {@link Persister.whenDurable} before
 * anything leaves the process (an address to a client, a ring to a peer).
 * Saves never overlap; changes made during a save are written by the next
 * one, and one save covers every change made before it started. A save
 * starts at the end of the current task (a microtask), so the changes of one
 * action (an address handed out, then the free count it changes in the
 * ring) share one save.
 *
 * @module
 */

interface Waiter {
  generation: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * Serialises saves of a changing state.
 *
 * @example
 * ```ts
 * import { Persister } from "./_persister.ts";
 * let saved = 0;
 * const p = new Persister(() => Promise.resolve(void saved++));
 * p.markDirty();
 * await p.whenDurable(); // saved === 1
 * ```
 */
export class Persister {
  #save: () => Promise<void>;
  #changed = 0;
  #saved = 0;
  #saving = false;
  #kickQueued = false;
  #waiters: Waiter[] = [];

  /** `save` must capture the state synchronously when called. */
  constructor(save: () => Promise<void>) {
    this.#save = save;
  }

  /** Records a change and starts a save unless one is running. */
  markDirty(): void {
    this.#changed++;
    this.#kick();
  }

  /** Whether changes are waiting to be written. */
  get dirty(): boolean {
    return this.#saved < this.#changed;
  }

  /** Resolves once every change made so far is saved; rejects if that save fails. */
  whenDurable(): Promise<void> {
    if (!this.dirty) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#waiters.push({ generation: this.#changed, resolve, reject });
      this.#kick();
    });
  }

  #kick(): void {
    if (this.#kickQueued) return;
    this.#kickQueued = true;
    queueMicrotask(() => {
      this.#kickQueued = false;
      this.#start();
    });
  }

  #start(): void {
    if (this.#saving || !this.dirty) return;
    const generation = this.#changed;
    this.#saving = true;
    let saving: Promise<void>;
    try {
      saving = this.#save();
    } catch (e) {
      saving = Promise.reject(e);
    }
    saving.then(
      () => {
        this.#saved = generation;
        this.#saving = false;
        this.#settle(generation, undefined);
        this.#kick();
      },
      (e: unknown) => {
        this.#saving = false;
        this.#settle(generation, e instanceof Error ? e : new Error(String(e)));
        // After a failure, retry only when something changes again or someone waits.
        if (this.#waiters.length > 0) this.#kick();
      },
    );
  }

  #settle(generation: number, error: Error | undefined): void {
    const done = this.#waiters.filter((w) => w.generation <= generation);
    this.#waiters = this.#waiters.filter((w) => w.generation > generation);
    for (const w of done) error ? w.reject(error) : w.resolve();
  }
}
