/**
 * Processes fleet: one `deno run bench/_router_child.ts` per router, each on
 * its own loopback address and one shared port, driven over stdin/stdout.
 * Memory is every child's `VmRSS` from `/proc/<pid>/status`; the baseline is
 * their sum once all are listening, before any connection.
 *
 * @module
 */
import { freePortOnAll, loopbackHosts, procMemory, readLines } from "./_host.ts";
import type { Fleet, MemoryReading, RouterSnapshot } from "./_measure.ts";
import { benchPeerName, type FleetOptions, startPeer } from "./_inprocess.ts";

const CHILD = new URL("./_router_child.ts", import.meta.url).pathname;

/** One child router process and its request/answer queue. */
class Child {
  readonly process: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncGenerator<string>;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(args: string[]) {
    this.process = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CHILD, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.process.stdin.getWriter();
    this.#lines = readLines(this.process.stdout);
  }

  /** Reads the next answer line as JSON. */
  async read<T>(): Promise<T> {
    const next = await this.#lines.next();
    if (next.done) throw new Error(`Cannot read from router child ${this.process.pid}: it exited`);
    return JSON.parse(next.value) as T;
  }

  /** Sends a command; with `answer`, waits for the one-line reply (in order). */
  send<T>(line: string, answer: boolean): Promise<T | undefined> {
    const run = async () => {
      await this.#writer.write(new TextEncoder().encode(line + "\n"));
      return answer ? await this.read<T>() : undefined;
    };
    const p = this.#queue.then(run);
    this.#queue = p.catch(() => {});
    return p;
  }

  /** Asks the child to stop, closes its stdin, and kills it if it lingers. */
  async stop(): Promise<void> {
    const timer = setTimeout(() => {
      try {
        this.process.kill("SIGKILL");
      } catch { /* exited */ }
    }, 5_000);
    try {
      await this.#writer.write(new TextEncoder().encode("stop\n"));
      await this.#writer.close();
    } catch { /* already gone */ }
    await this.process.status;
    clearTimeout(timer);
    await this.#lines.return(undefined);
  }
}

/** N routers, one process each. */
export class ProcessFleet implements Fleet {
  readonly n: number;
  #opts: FleetOptions;
  #hosts: string[];
  #port: number;
  #children: Child[] = [];
  #baseline = 0;
  #stopped = false;

  private constructor(opts: FleetOptions) {
    this.n = opts.n;
    this.#opts = opts;
    this.#hosts = loopbackHosts(opts.n);
    this.#port = freePortOnAll(this.#hosts);
  }

  /** Spawns every child and waits until all are listening. */
  static async start(opts: FleetOptions): Promise<ProcessFleet> {
    const fleet = new ProcessFleet(opts);
    try {
      for (let i = 0; i < opts.n; i++) {
        fleet.#children.push(
          new Child([
            "--name",
            benchPeerName(i).toString(16),
            "--host",
            fleet.#hosts[i],
            "--port",
            String(fleet.#port),
            "--conn-limit",
            String(opts.connLimit),
          ]),
        );
      }
      await Promise.all(fleet.#children.map((c) => c.read<{ ready: boolean }>()));
      fleet.#baseline = (await fleet.memory()).totalBytes;
      return fleet;
    } catch (e) {
      await fleet.stop();
      throw e;
    }
  }

  /** Pids of the children (for cleanup checks). */
  pids(): number[] {
    return this.#children.map((c) => c.process.pid);
  }

  async begin(): Promise<void> {
    await Promise.all(this.#children.map((c, i) => {
      const from = startPeer(i, this.#opts.topology);
      return from === undefined
        ? undefined
        : c.send(`connect ${this.#hosts[from]}:${this.#port}`, false);
    }));
  }

  snapshot(): Promise<RouterSnapshot[]> {
    return Promise.all(
      this.#children.map(async (c) => (await c.send<RouterSnapshot>("status", true))!),
    );
  }

  memory(): Promise<MemoryReading> {
    const rss = this.#children.map((c) => procMemory(c.process.pid)?.rss ?? 0);
    const total = rss.reduce((a, b) => a + b, 0);
    return Promise.resolve({
      totalBytes: total,
      perRouterBytes: total / this.n,
      maxRouterBytes: Math.max(0, ...rss),
      baselineBytes: this.#baseline || undefined,
    });
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await Promise.all(this.#children.map((c) => c.stop()));
  }
}
