/**
 * What the allocator sends on the `IPallocation` channel (spec §6.2): the
 * `gossipState` built from its nicknames, its last saved ring or else its
 * Paxos claims, encoded once per change rather than once per connection.
 *
 * The encoding is Go's, byte for byte; only the choice of content is ours: a
 * message about some Paxos nodes (see `paxos/consensus.ts`) carries only their
 * claims and nicknames, everything else carries the whole state.
 *
 * @module
 */
import type { PeerName } from "../lib/peer_name.ts";
import { encodeGossipState, type GossipState } from "./gossip_codec.ts";
import type { Participant } from "./paxos/mod.ts";
import type { RingData } from "./ring/mod.ts";

/**
 * A Map that counts its changes, so that encodings made from it can be
 * reused until it changes.
 *
 * @example
 * ```ts
 * import { VersionedMap } from "./_gossip_out.ts";
 * const m = new VersionedMap<number, string>();
 * m.set(1, "a");
 * m.set(1, "a"); // same value: no change
 * m.version; // 1
 * ```
 */
export class VersionedMap<K, V> extends Map<K, V> {
  /** Goes up on every change. */
  version = 0;

  override set(key: K, value: V): this {
    if (!this.has(key) || this.get(key) !== value) this.version++;
    return super.set(key, value);
  }

  override delete(key: K): boolean {
    const had = super.delete(key);
    if (had) this.version++;
    return had;
  }

  override clear(): void {
    if (this.size > 0) this.version++;
    super.clear();
  }
}

/** What an outgoing state is made of. */
export interface OutgoingInput {
  /** Milliseconds since the epoch. */
  now: number;
  ourName: PeerName;
  nicknames: ReadonlyMap<PeerName, string>;
  /** The last saved ring (sent instead of Paxos once it exists). */
  ring: RingData | undefined;
  paxos: Participant;
  /** Paxos nodes to include (by `nodeKey`); all when undefined. */
  only?: ReadonlySet<string>;
}

/**
 * The `gossipState` to send: the ring when there is one (with every
 * nickname), otherwise the Paxos claims of `only` (or all) with the
 * nicknames of their peers and ours.
 *
 * @example
 * ```ts
 * import { outgoingState } from "./_gossip_out.ts";
 * import { PaxosNode } from "./paxos/mod.ts";
 * const paxos = new PaxosNode({ name: 1n, uid: 1n }, 1);
 * const s = outgoingState({ now: 5000, ourName: 1n, nicknames: new Map([[1n, "h1"]]),
 *   ring: undefined, paxos });
 * s.paxos; // [] (no round yet)
 * ```
 */
export function outgoingState(input: OutgoingInput): GossipState {
  const now = BigInt(Math.floor(input.now / 1000));
  if (input.ring && input.ring.entries.length > 0) {
    return { now, nicknames: new Map(input.nicknames), ring: input.ring };
  }
  const paxos = input.paxos.gossipState(input.only);
  if (input.only === undefined || paxos === undefined) {
    return { now, nicknames: new Map(input.nicknames), paxos };
  }
  const nicknames = new Map<PeerName, string>();
  for (const name of [input.ourName, ...paxos.map(([id]) => id.name)]) {
    const nick = input.nicknames.get(name);
    if (nick !== undefined) nicknames.set(name, nick);
  }
  return { now, nicknames, paxos };
}

/**
 * Encodes states, reusing the last encoding while its key is unchanged (the
 * key names everything the state is made of, the clock in seconds included).
 *
 * @example
 * ```ts
 * import { EncodeCache } from "./_gossip_out.ts";
 * const cache = new EncodeCache();
 * let made = 0;
 * cache.get("k", () => new Uint8Array([++made]));
 * cache.get("k", () => new Uint8Array([++made])); // reused: made === 1
 * ```
 */
export class EncodeCache {
  #key: string | undefined;
  #bytes: Uint8Array = new Uint8Array();
  /** Encodings made so far (for tests). */
  made = 0;

  /** The encoding for `key`, made by `make` when the key changed. */
  get(key: string, make: () => Uint8Array): Uint8Array {
    if (this.#key !== key) {
      this.#bytes = make();
      this.#key = key;
      this.made++;
    }
    return this.#bytes;
  }
}

/** Encodes an outgoing state (Go's gob, byte for byte). */
export function encodeOutgoing(input: OutgoingInput): Uint8Array {
  return encodeGossipState(outgoingState(input));
}
