/**
 * In-process fleet: N {@link MeshRouter}s in this process, on 127.0.0.1…N
 * sharing one port, with the {@link NullOverlay}. Run as a script, it runs one
 * measurement and prints the {@link RunResult} as JSON on stdout, so that
 * `convergence.ts` can give every size a fresh process (clean RSS, no leftovers):
 *
 *     deno run -A bench/_inprocess.ts --n 50 --topology chain --conn-limit 200 \
 *       --timeout 180 --idle 10
 *
 * @module
 */
import { discardLogger } from "../lib/log.ts";
import { MeshRouter } from "../mesh/router.ts";
import { NullOverlay } from "../mesh/overlay.ts";
import { freePortOnAll, loopbackHosts, openFileLimit, procMemory, writeOut } from "./_host.ts";
import { type Fleet, measure, type MemoryReading, type RouterSnapshot } from "./_measure.ts";
import { routerSnapshot } from "./_snapshot.ts";

/** Options of {@link InProcessFleet}. */
export interface FleetOptions {
  n: number;
  topology: "chain" | "star";
  connLimit: number;
}

/** Peer name of router i (0-based): 02:00:00:00:xx:xx, as the in-process test. */
export function benchPeerName(i: number): bigint {
  return 0x020000000000n + BigInt(i + 1);
}

/** The one peer router i (0-based) starts from, or undefined for the first. */
export function startPeer(i: number, topology: "chain" | "star"): number | undefined {
  if (i === 0) return undefined;
  return topology === "chain" ? i - 1 : 0;
}

/** N routers in this process. */
export class InProcessFleet implements Fleet {
  readonly n: number;
  #opts: FleetOptions;
  #hosts: string[];
  #port: number;
  #routers: MeshRouter[];
  #baseline: number;
  #stopped = false;

  constructor(opts: FleetOptions) {
    this.n = opts.n;
    this.#opts = opts;
    this.#baseline = procMemory("self")?.rss ?? 0;
    this.#hosts = loopbackHosts(opts.n);
    this.#port = freePortOnAll(this.#hosts);
    this.#routers = this.#hosts.map((host, i) =>
      new MeshRouter({
        name: benchPeerName(i),
        nickName: `r${i + 1}`,
        port: this.#port,
        host,
        connLimit: opts.connLimit,
        discovery: true,
        overlay: new NullOverlay(),
        log: discardLogger,
      })
    );
    for (const r of this.#routers) r.start();
  }

  begin(): Promise<void> {
    this.#routers.forEach((r, i) => {
      const from = startPeer(i, this.#opts.topology);
      if (from !== undefined) {
        r.connectionMaker.initiateConnections([`${this.#hosts[from]}:${this.#port}`], false);
      }
    });
    return Promise.resolve();
  }

  snapshot(): Promise<RouterSnapshot[]> {
    return Promise.resolve(this.#routers.map((r) => routerSnapshot(r, this.#opts.connLimit)));
  }

  memory(): Promise<MemoryReading> {
    const m = procMemory("self") ?? { rss: 0, hwm: 0 };
    return Promise.resolve({
      totalBytes: m.rss,
      perRouterBytes: m.rss / this.n,
      baselineBytes: this.#baseline,
      peakBytes: m.hwm,
    });
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const r of this.#routers) r.stop();
    await new Promise((r) => setTimeout(r, 200));
  }
}

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}

/** Runs one in-process measurement from CLI args and prints its result as JSON. */
export async function runInProcess(args: string[]): Promise<void> {
  const n = Number(arg(args, "n", "25"));
  const topology = arg(args, "topology", "chain") as "chain" | "star";
  const connLimit = Number(arg(args, "conn-limit", "200"));
  const notes: string[] = [];
  const fds = openFileLimit();
  const need = 2 * n * (n - 1) + n + 64;
  if (fds < need) {
    notes.push(
      `N=${n}: open-file limit ${fds} < ~${need} sockets a full mesh needs in one process ` +
        "(raise it with `ulimit -n`)",
    );
  }
  const fleet = new InProcessFleet({ n, topology, connLimit });
  try {
    const result = await measure(fleet, {
      mode: "inprocess",
      topology,
      connLimit,
      timeoutMs: Number(arg(args, "timeout", "180")) * 1000,
      idleMs: Number(arg(args, "idle", "10")) * 1000,
      // Polling reads every router's view of every peer (O(N²)) on the routers' own event loop.
      pollMs: Number(arg(args, "poll-ms", n > 50 ? "500" : "200")),
      notes,
    });
    writeOut(JSON.stringify(result) + "\n");
  } finally {
    await fleet.stop();
  }
}

if (import.meta.main) {
  await runInProcess(Deno.args);
  Deno.exit(0);
}
