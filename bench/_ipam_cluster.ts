/**
 * N IPAM allocators in this process for the IPAM benchmark, on one of two
 * meshes: the in-memory {@link MemoryGossipNetwork} (real gossip channels, no
 * sockets; usable for hundreds of peers) or real MeshRouters over TCP on
 * 127.0.0.1…N (`_ipam_tcp_mesh.ts`). Every allocator has Weave's defaults
 * (5 s tick, range 10.32.0.0/12) with `--ipalloc-init=consensus=N`, and a
 * {@link RingTimingStore} that notes when its first ring was saved.
 *
 * @module
 */
import { Allocator, type AllocatorPeer } from "../ipam/allocator.ts";
import type { IpamState, IpamStore, IpamUpdate } from "../ipam/store/mod.ts";
import { discardLogger } from "../lib/log.ts";
import { benchPeerName } from "./_inprocess.ts";
import { MemoryGossipNetwork } from "./_ipam_mesh.ts";
import { startTcpMesh } from "./_ipam_tcp_mesh.ts";

/** Weave's default `--ipalloc-range`. */
export const BENCH_RANGE = "10.32.0.0/12";

/**
 * A store that keeps nothing but the moment (performance.now()) the first
 * state with a ring was saved: the allocator only lets a ring leave the
 * process or answers a client after that save, so it marks "has the ring".
 */
export class RingTimingStore implements IpamStore {
  /** When the first ring was saved; undefined while there is none. */
  ringSavedAt: number | undefined;
  /** Completed saves. */
  saves = 0;

  load(): Promise<IpamState | undefined> {
    return Promise.resolve(undefined);
  }

  save(update: IpamUpdate): Promise<void> {
    this.saves++;
    if (update.ring && this.ringSavedAt === undefined) this.ringSavedAt = performance.now();
    return Promise.resolve();
  }
}

/** N allocators on one mesh. */
export interface IpamCluster {
  readonly mesh: "memory" | "tcp";
  readonly allocators: Allocator[];
  readonly stores: RingTimingStore[];
  /** Seconds the TCP mesh took to connect fully (null for the memory mesh). */
  readonly meshS: number | null;
  /** Bytes of gossip (memory) or of mesh TCP traffic (tcp) sent so far, all peers. */
  sentBytes(): number;
  /** Errors receivers threw (memory mesh; a TCP mesh logs and drops the connection). */
  errors(): number;
  /** Stops every allocator and router; safe to call twice. */
  stop(): Promise<void>;
}

function newAllocator(
  i: number,
  n: number,
  uid: bigint,
  peers: () => AllocatorPeer[],
  store: RingTimingStore,
): Allocator {
  return new Allocator({
    ourName: benchPeerName(i),
    ourUID: uid,
    nickName: `h${i + 1}`,
    range: BENCH_RANGE,
    init: `consensus=${n}`,
    store,
    log: discardLogger,
    peers,
  });
}

/** N started allocators on the in-memory mesh (with the mesh's 30 s periodic gossip). */
export async function memoryCluster(n: number): Promise<IpamCluster> {
  const net = new MemoryGossipNetwork();
  const stores = Array.from({ length: n }, () => new RingTimingStore());
  const allocators = stores.map((store, i) => {
    const node = net.join(benchPeerName(i), `h${i + 1}`);
    const alloc = newAllocator(i, n, BigInt(i + 1) * 7919n, () => node.peers(), store);
    alloc.register(node);
    return alloc;
  });
  for (const a of allocators) await a.start();
  net.startPeriodicGossip(30_000);
  let stopped = false;
  return {
    mesh: "memory",
    allocators,
    stores,
    meshS: null,
    sentBytes: () => net.bytes,
    errors: () => net.errors.length,
    stop: () => {
      if (!stopped) {
        stopped = true;
        for (const a of allocators) a.stop();
        net.stop();
      }
      return Promise.resolve();
    },
  };
}

/**
 * N started allocators on N real MeshRouters (see {@link startTcpMesh}),
 * returned once every router holds N−1 established connections and a route
 * to every peer.
 */
export async function tcpCluster(n: number, timeoutMs: number): Promise<IpamCluster> {
  const stores = Array.from({ length: n }, () => new RingTimingStore());
  const allocators: Allocator[] = [];
  const mesh = await startTcpMesh(n, {
    timeoutMs,
    setup: async (routers) => {
      for (const [i, r] of routers.entries()) {
        const peers = () =>
          r.peers.all().map((p) => ({
            name: p.name,
            nickName: p.nickName,
            reachable: p.name === r.ourName || r.routes.unicastAll(p.name) !== undefined,
          }));
        const alloc = newAllocator(i, n, r.ourUID, peers, stores[i]);
        alloc.register(r);
        allocators.push(alloc);
      }
      for (const a of allocators) await a.start();
    },
    teardown: () => allocators.forEach((a) => a.stop()),
  });
  return {
    mesh: "tcp",
    allocators,
    stores,
    meshS: mesh.meshS,
    sentBytes: () => mesh.sentBytes(),
    errors: () => 0,
    stop: () => mesh.stop(),
  };
}
