/**
 * Allocators on a {@link FakeMesh} for tests: fixed peer names and
 * nicknames, a seeded random source, manual ticks (`tickMs: 0`), proposals at
 * once (`proposalSpreadMs: 0`), a memory logger per peer.
 *
 * @module
 */
import { formatIPv4 } from "../lib/cidr.ts";
import { memoryLogger } from "../lib/log.ts";
import type { PeerName } from "../lib/peer_name.ts";
import { Allocator, type AllocatorOptions } from "./allocator.ts";
import { FakeMesh } from "./fake_mesh.ts";
import { FakeStore } from "./store/mod.ts";

/** Peer names h1, h2, h3. */
export const A = 0x020000000001n;
export const B = 0x020000000002n;
export const C = 0x020000000003n;
const NICK = new Map([[A, "h1"], [B, "h2"], [C, "h3"]]);

/**
 * A seeded pseudo-random source, so failures can be replayed.
 *
 * @example
 * ```ts
 * import { rng } from "./fake_cluster.ts";
 * rng(1)() === rng(1)(); // true
 * ```
 */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** One allocator with its store and log. */
export interface Peer {
  name: PeerName;
  alloc: Allocator;
  store: FakeStore;
  log: ReturnType<typeof memoryLogger>;
}

/** Allocator options plus a shared clock and per-peer stores. */
export interface ClusterOptions extends Partial<AllocatorOptions> {
  now?: { t: number };
  stores?: Map<PeerName, FakeStore>;
}

/** An allocator for `name` registered on `mesh` (not started). */
export function makePeer(mesh: FakeMesh, name: PeerName, opts: ClusterOptions = {}): Peer {
  const store = opts.stores?.get(name) ?? new FakeStore();
  const log = memoryLogger();
  const now = opts.now ?? { t: 1_000_000 };
  const nick = NICK.get(name) ?? `p${name & 0xffffn}`;
  const alloc = new Allocator({
    ourName: name,
    ourUID: name * 7n,
    nickName: nick,
    range: "10.32.0.0/12",
    init: "consensus=3",
    store,
    log,
    peers: mesh.peersOf(name),
    clock: () => now.t,
    random: rng(Number(name & 0xffffn)),
    tickMs: 0,
    proposalSpreadMs: 0,
    ...opts,
  });
  alloc.register(mesh.join(name, nick));
  return { name, alloc, store, log };
}

/** Started allocators for `names` on a new mesh. */
export async function cluster(
  names: PeerName[],
  opts: ClusterOptions = {},
): Promise<[FakeMesh, Peer[]]> {
  const mesh = new FakeMesh();
  const peers = names.map((n) => makePeer(mesh, n, opts));
  for (const p of peers) await p.alloc.start();
  return [mesh, peers];
}

/** A peer's ring as `token/size@peer vVersion` lines. */
export function ringOf(p: Peer): string[] {
  return p.alloc.report().Entries.map((e) => `${e.Token}/${e.Size}@${e.Peer}v${e.Version}`);
}

/** An owned address as `a.b.c.d/len`. */
export const ip = (a: { addr: number; prefix: number }): string =>
  `${formatIPv4(a.addr)}/${a.prefix}`;

/** Stops every allocator. */
export function stopAll(peers: Peer[]): void {
  for (const p of peers) p.alloc.stop();
}
