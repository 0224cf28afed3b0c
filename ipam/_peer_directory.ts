/**
 * What the allocator knows about other peers by name: their nicknames (from
 * gossip, Go `alloc.nicknames`) and whether the mesh can reach them (Go
 * `isKnownPeer`); used for logs, `rmpeer <nick>`, choosing an heir at
 * shutdown, and whom to ask for space.
 *
 * @module
 */
import { type PeerName, UNKNOWN_PEER_NAME } from "../lib/peer_name.ts";
import { VersionedMap } from "./_gossip_out.ts";
import { peerText } from "./ring/mod.ts";

/** A peer as the mesh knows it. */
export interface AllocatorPeer {
  name: PeerName;
  nickName: string;
  /** In the topology and reachable (Go `isKnownPeer`). */
  reachable: boolean;
}

/**
 * Nicknames and reachability of peers.
 *
 * @example
 * ```ts
 * import { PeerDirectory } from "./_peer_directory.ts";
 * const dir = new PeerDirectory(1n, "h1", () => [{ name: 2n, nickName: "h2", reachable: true }]);
 * dir.isKnown(2n); // true
 * dir.lookup("h2"); // 2n
 * ```
 */
export class PeerDirectory {
  readonly ourName: PeerName;
  /** Nicknames by peer (gossiped; the version keys encoding caches). */
  readonly nicknames = new VersionedMap<PeerName, string>();
  #peers: () => AllocatorPeer[];

  constructor(ourName: PeerName, nickName: string, peers: () => AllocatorPeer[]) {
    this.ourName = ourName;
    this.#peers = peers;
    this.nicknames.set(ourName, nickName);
  }

  /** Whether `name` is us or reachable (Go `isKnownPeer`). */
  isKnown(name: PeerName): boolean {
    return name === this.ourName || this.#peers().some((p) => p.name === name && p.reachable);
  }

  /** `name(nick)` for logs. */
  annotate(name: PeerName): string {
    const nick = this.nicknames.get(name);
    return nick === undefined ? peerText(name) : `${peerText(name)}(${nick})`;
  }

  /** A peer named by nickname or by name as users type it; undefined when unknown. */
  lookup(text: string): PeerName | undefined {
    for (const [name, nick] of this.nicknames) if (nick === text) return name;
    for (const p of this.#peers()) if (p.nickName === text) return p.name;
    try {
      return parsePeerNameLoose(text);
    } catch {
      return undefined;
    }
  }

  /**
   * The peer to hand our ranges to: reachable ones first, the ring's
   * choice before the nicknames', as Go's `pickPeerForTransfer` chain.
   */
  pickHeir(fromRing: (valid: (n: PeerName) => boolean) => PeerName): PeerName {
    const fromNicknames = (valid: (n: PeerName) => boolean) =>
      [...this.nicknames.keys()].find((n) => n !== this.ourName && valid(n)) ?? UNKNOWN_PEER_NAME;
    const known = (n: PeerName) => this.isKnown(n);
    const any = () => true;
    for (
      const pick of [
        () => fromRing(known),
        () => fromNicknames(known),
        () => fromRing(any),
        () => fromNicknames(any),
      ]
    ) {
      const heir = pick();
      if (heir !== UNKNOWN_PEER_NAME) return heir;
    }
    return UNKNOWN_PEER_NAME;
  }

  /** Forgets nicknames of peers neither in the ring nor reachable (Go `pruneNicknames`). */
  prune(inRing: ReadonlySet<PeerName>): void {
    const reachable = new Set(this.#peers().filter((p) => p.reachable).map((p) => p.name));
    for (const name of [...this.nicknames.keys()]) {
      const known = name === this.ourName || reachable.has(name);
      if (!inRing.has(name) && !known) this.nicknames.delete(name);
    }
  }

  /** A peer left the topology: forget its nickname unless the ring names it. */
  gone(name: PeerName, inRing: ReadonlySet<PeerName>): void {
    if (!inRing.has(name) && name !== this.ourName) this.nicknames.delete(name);
  }
}

/** A peer name as users type it (Go `PeerNameFromUserInput`: MAC form). */
function parsePeerNameLoose(text: string): PeerName {
  if (!/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/.test(text)) {
    throw new SyntaxError(`Cannot parse peer name "${text}"`);
  }
  return BigInt("0x" + text.split(":").map((b) => b.padStart(2, "0")).join(""));
}
