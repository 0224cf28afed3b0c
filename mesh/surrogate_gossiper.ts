/**
 * The gossiper for channels this node does not implement (mesh
 * `surrogate_gossiper.go`): broadcasts are relayed unchanged, gossip is relayed
 * after duplicate suppression, and unicasts addressed to us are dropped. This
 * lets a node carry channels (e.g. `IPallocation` before IPAM exists here)
 * between peers that do understand them.
 *
 * @module
 */
import type { PeerName } from "../lib/peer_name.ts";
import type { GossipData, Gossiper } from "./gossip_types.ts";

/** Raw messages to relay as they came. */
export class SurrogateGossipData implements GossipData {
  constructor(readonly messages: Uint8Array[]) {}
  encode(): Uint8Array[] {
    return this.messages;
  }
  merge(other: GossipData): GossipData {
    return new SurrogateGossipData([...this.messages, ...(other as SurrogateGossipData).messages]);
  }
}

/** How long a gossip message counts as already seen (one gossip interval). */
export const SURROGATE_DEDUP_MS = 30_000;
/**
 * Most bytes of messages a surrogate keeps for duplicate suppression; the oldest go first.
 * Without a bound, a peer sending large messages on made-up channels leaves them all in memory.
 */
export const SURROGATE_DEDUP_MAX_BYTES = 256 * 1024;

/** Relays a channel it does not understand. */
export class SurrogateGossiper implements Gossiper {
  #seen: { hash: bigint; bytes: Uint8Array; at: number }[] = [];
  #seenBytes = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Bytes held for duplicate suppression (at most {@link SURROGATE_DEDUP_MAX_BYTES}). */
  get heldBytes(): number {
    return this.#seenBytes;
  }

  onGossipUnicast(_sender: PeerName, _message: Uint8Array): void {}

  onGossipBroadcast(_origin: PeerName, update: Uint8Array): GossipData | null {
    return new SurrogateGossipData([update]);
  }

  /** Nothing of its own to gossip; forgets what is too old to be a duplicate (run periodically). */
  gossip(): GossipData | null {
    this.#forget(this.now());
    return null;
  }

  onGossip(update: Uint8Array): GossipData | null {
    const now = this.now();
    this.#forget(now);
    const hash = fnv64a(update);
    if (this.#seen.some((s) => s.hash === hash && equalBytes(s.bytes, update))) return null;
    // A copy: `update` may be a view of a much larger receive buffer, which it would pin.
    this.#seen.push({ hash, bytes: update.slice(), at: now });
    this.#seenBytes += update.length;
    while (this.#seenBytes > SURROGATE_DEDUP_MAX_BYTES && this.#seen.length > 1) {
      this.#seenBytes -= this.#seen.shift()!.bytes.length;
    }
    return new SurrogateGossipData([update]);
  }

  #forget(now: number): void {
    let i = 0;
    while (i < this.#seen.length && now - this.#seen[i].at >= SURROGATE_DEDUP_MS) {
      this.#seenBytes -= this.#seen[i++].bytes.length;
    }
    if (i > 0) this.#seen = this.#seen.slice(i);
  }
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = (1n << 64n) - 1n;

/** FNV-1a 64-bit hash. */
export function fnv64a(bytes: Uint8Array): bigint {
  let h = FNV_OFFSET;
  for (const b of bytes) h = ((h ^ BigInt(b)) * FNV_PRIME) & MASK64;
  return h;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
