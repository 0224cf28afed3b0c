/**
 * The IPAM measurements: consensus and first addresses on an
 * {@link IpamCluster}, and the allocation rate of one peer.
 *
 * @module
 */
import process from "node:process";
import { Allocator } from "../ipam/allocator.ts";
import type { IpamState, IpamStore, IpamUpdate, OwnedAddress } from "../ipam/store/mod.ts";
import { FileStore } from "../ipam/store/mod.ts";
import { formatIPv4 } from "../lib/cidr.ts";
import { discardLogger } from "../lib/log.ts";
import { BENCH_RANGE, type IpamCluster, RingTimingStore } from "./_ipam_cluster.ts";
import { MemoryGossipNetwork } from "./_ipam_mesh.ts";

/** Who asks for an address at time zero. */
export type Askers = "one" | "all";

/** The outcome of one consensus run. */
export interface ConsensusResult {
  n: number;
  mesh: IpamCluster["mesh"];
  askers: Askers;
  meshS: number | null;
  /** Seconds until the first peer saved a ring (consensus reached); null: never. */
  firstRingS: number | null;
  /** Seconds until every peer saved the ring; null: not within the timeout. */
  allRingS: number | null;
  /** Seconds until the askers got their first address: first, median, last (null: timeout). */
  firstAddress: { first: number; median: number; last: number } | null;
  /** Every address handed out is distinct. */
  distinct: boolean;
  /**
   * Seconds until every peer reported the same range owners (peers that got
   * no range from consensus ask others for space, so rings keep changing for
   * a while); null: not within {@link AGREE_TIMEOUT_MS} after the run, or the
   * run timed out.
   */
  ringsAgreeS: number | null;
  /** Gossip KiB sent per peer from time zero to the end. */
  kibPerPeer: number;
  /** CPU seconds (user + system) of this process from time zero to the end, per peer. */
  cpuPerPeerS: number;
  errors: number;
}

/** How long rings may take to agree after every asker got its address. */
export const AGREE_TIMEOUT_MS = 10_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * From time zero the askers (peer 1, or every peer) each allocate one
 * address; waits until every asker has one and every peer holds the ring.
 */
export async function measureConsensus(
  cluster: IpamCluster,
  askers: Askers,
  timeoutMs: number,
): Promise<ConsensusResult> {
  const { allocators, stores } = cluster;
  const n = allocators.length;
  const who = askers === "one" ? [0] : allocators.map((_, i) => i);
  const sent0 = cluster.sentBytes();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const got = new Map<number, { at: number; addr: OwnedAddress }>();
  for (const i of who) {
    allocators[i].allocate(`container-${i + 1}`).then(
      (addr) => void got.set(i, { at: performance.now(), addr }),
      () => {}, // cancelled at stop after a timeout
    );
  }
  const done = () => got.size === who.length && stores.every((s) => s.ringSavedAt !== undefined);
  while (!done() && performance.now() - t0 < timeoutMs) await sleep(10);
  const cpu = process.cpuUsage(cpu0);
  const sent = cluster.sentBytes();
  const secs = (t: number | undefined) => (t === undefined ? null : (t - t0) / 1000);
  const ringTimes = stores.map((s) => s.ringSavedAt).filter((t) => t !== undefined);
  const addrTimes = [...got.values()].map((g) => (g.at - t0) / 1000).sort((a, b) => a - b);
  const addrs = [...got.values()].map((g) => formatIPv4(g.addr.addr));
  return {
    n,
    mesh: cluster.mesh,
    askers,
    meshS: cluster.meshS,
    firstRingS: ringTimes.length ? secs(Math.min(...ringTimes)) : null,
    allRingS: ringTimes.length === n ? secs(Math.max(...ringTimes)) : null,
    firstAddress: got.size === who.length
      ? { first: addrTimes[0], median: quantile(addrTimes, 0.5), last: addrTimes.at(-1)! }
      : null,
    distinct: new Set(addrs).size === addrs.length,
    ringsAgreeS: done() ? await ringsAgree(allocators, t0) : null,
    kibPerPeer: (sent - sent0) / 1024 / n,
    cpuPerPeerS: (cpu.user + cpu.system) / 1e6 / n,
    errors: cluster.errors(),
  };
}

/** Ring owners as a peer reports them (free counts, and the versions they bump, travel later). */
function owners(a: Allocator): string {
  return a.report().Entries.map((e) => `${e.Token}/${e.Size}@${e.Peer}`).join(",");
}

/** Seconds since `t0` when every peer reported the same owners; null if not in time. */
async function ringsAgree(allocators: Allocator[], t0: number): Promise<number | null> {
  const deadline = performance.now() + AGREE_TIMEOUT_MS;
  for (;;) {
    const first = owners(allocators[0]);
    if (allocators.every((a) => owners(a) === first)) return (performance.now() - t0) / 1000;
    if (performance.now() > deadline) return null;
    await sleep(50);
  }
}

/** How one peer's allocation rate is measured. */
export interface RateSpec {
  store: "memory" | "file";
  /** Calls outstanding at any time (1: each awaited before the next). */
  inFlight: number;
  count: number;
}

/** The outcome of one rate run. */
export interface RateResult extends RateSpec {
  seconds: number;
  perSecond: number;
  /** Addresses/s over the first and the last tenth of the run (the state grows as it goes). */
  firstTenthPerSecond: number;
  lastTenthPerSecond: number;
  /** Per-call latency in ms: median and 99th percentile. */
  p50Ms: number;
  p99Ms: number;
  distinct: boolean;
}

/**
 * One peer alone (`consensus=1`) allocates `count` addresses for distinct
 * containers after its ring exists; the file store writes (with fsync) to a
 * temporary directory, as the router's FileStore does. `inFlight` callers
 * each ask again as soon as they are answered (CNI ADDs arriving together).
 */
export async function measureRate(spec: RateSpec): Promise<RateResult> {
  const dir = spec.store === "file" ? await Deno.makeTempDir({ prefix: "weave-ipam-bench-" }) : "";
  const store = new TrackedStore(
    spec.store === "file" ? new FileStore(`${dir}/weave-ipam.json`) : new RingTimingStore(),
  );
  const net = new MemoryGossipNetwork();
  const node = net.join(1n, "h1");
  const alloc = new Allocator({
    ourName: 1n,
    ourUID: 1n,
    nickName: "h1",
    range: BENCH_RANGE,
    init: "consensus=1",
    store,
    log: discardLogger,
    peers: () => node.peers(),
  });
  try {
    alloc.register(node);
    await alloc.start();
    await alloc.prime();
    const latencies: number[] = [];
    const finished: number[] = [];
    const addrs: OwnedAddress[] = [];
    let next = 0;
    const worker = async () => {
      while (next < spec.count) {
        const i = next++;
        const t = performance.now();
        addrs.push(await alloc.allocate(`c${i}`));
        latencies.push(performance.now() - t);
        finished.push(performance.now());
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: spec.inFlight }, worker));
    const seconds = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    const tenth = Math.max(1, Math.floor(spec.count / 10));
    const rateOver = (from: number, to: number) => tenth / ((finished[to] - finished[from]) / 1000);
    return {
      ...spec,
      seconds,
      perSecond: spec.count / seconds,
      firstTenthPerSecond: tenth / ((finished[tenth - 1] - t0) / 1000),
      lastTenthPerSecond: rateOver(spec.count - tenth - 1, spec.count - 1),
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      distinct: new Set(addrs.map((a) => a.addr)).size === addrs.length,
    };
  } finally {
    alloc.stop();
    net.stop();
    await store.idle();
    if (dir) await Deno.remove(dir, { recursive: true });
  }
}

/** A store that counts saves in flight, so a run can wait for the last one before cleaning up. */
class TrackedStore implements IpamStore {
  #inner: IpamStore;
  #saving = 0;

  constructor(inner: IpamStore) {
    this.#inner = inner;
  }

  load(): Promise<IpamState | undefined> {
    return this.#inner.load();
  }

  save(update: IpamUpdate): Promise<void> {
    this.#saving++;
    return this.#inner.save(update).finally(() => this.#saving--);
  }

  /** Resolves once no save has been in flight for 100 ms. */
  async idle(): Promise<void> {
    for (let quiet = 0; quiet < 10;) {
      quiet = this.#saving === 0 ? quiet + 1 : 0;
      await sleep(10);
    }
  }
}
