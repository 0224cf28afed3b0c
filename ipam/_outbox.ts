/**
 * Everything the allocator sends, behind the durability barrier: an answer
 * to a client or a ring to a peer leaves only once the state it reflects is
 * saved (see `_persister.ts`), so a `kill -9` can never make us hand out an
 * address twice or forget a range we gave away. Send failures are logged,
 * never thrown into the operation that caused them; after
 * {@link Outbox.close} nothing more leaves.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import type { PeerName } from "../lib/peer_name.ts";
import type { GossipData } from "../mesh/gossip_types.ts";
import type { Once } from "./_operations.ts";
import type { Persister } from "./_persister.ts";

/** The channel operations the allocator uses. */
export interface IpamChannel {
  gossipUnicast(dst: PeerName, payload: Uint8Array): void;
  gossipBroadcast(data: GossipData): void;
}

/**
 * The allocator's sending side: owns the channel, waits on the persister.
 *
 * @example
 * ```ts ignore
 * const outbox = new Outbox(persister, log);
 * outbox.attach(channel);
 * outbox.afterDurable(() => outbox.broadcast(data));
 * ```
 */
export class Outbox {
  #persister: Persister;
  #log: Logger;
  #channel: IpamChannel | undefined;
  #closed = false;

  constructor(persister: Persister, log: Logger) {
    this.#persister = persister;
    this.#log = log;
  }

  /** The channel to send on (from `register`). */
  attach(channel: IpamChannel): void {
    this.#channel = channel;
  }

  /** Nothing leaves from now on (the allocator stopped). */
  close(): void {
    this.#closed = true;
  }

  /** Runs `f` (errors logged) once the state is saved, unless closed by then. */
  afterDurable(f: () => void): void {
    this.#persister.whenDurable().then(
      () => {
        if (!this.#closed) this.guarded(f);
      },
      (e: Error) => this.#log.error(`Not sending IPAM data: state not saved: ${e.message}`),
    );
  }

  /** Settles `done` with `value` once the state is saved, or with the save's error. */
  answer<T>(done: Once<T>, value: T, ident: string): void {
    this.#persister.whenDurable().then(
      () => done.resolve(value),
      (e: Error) =>
        done.reject(new Error(`Cannot answer for ${ident}: ${e.message}`, { cause: e })),
    );
  }

  /** Broadcasts `data` now (errors logged). */
  broadcast(data: GossipData): void {
    this.guarded(() => this.#channel?.gossipBroadcast(data));
  }

  /** Sends `payload` to `dst` now (errors logged). */
  unicast(dst: PeerName, payload: Uint8Array): void {
    this.guarded(() => this.#channel?.gossipUnicast(dst, payload));
  }

  /** Runs `f`, logging instead of throwing what it throws. */
  guarded(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.#log.error((e as Error).message);
    }
  }
}
