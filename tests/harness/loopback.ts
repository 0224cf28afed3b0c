/**
 * Several routers on one machine without namespaces: each on its own loopback
 * address (127.0.0.1 … 127.0.0.N) and all on one port, so that discovery's
 * "same port as ours" rule for inbound connections holds.
 *
 * The port is held, not guessed: {@link HeldPort} keeps a listener open on
 * every address from the moment it finds the port free until a router takes
 * it over, so tests running in parallel (or anything else on the machine)
 * cannot take the port in between.
 *
 * @module
 */

/** 127.0.0.1 … 127.0.0.n. */
export function loopbackHosts(n: number): string[] {
  if (n < 1 || n > 254) throw new RangeError(`Cannot use ${n} loopback addresses: expected 1..254`);
  return Array.from({ length: n }, (_, i) => `127.0.0.${i + 1}`);
}

/** Ports tried: below the kernel's ephemeral range (32768–60999), so no dial takes one. */
const FIRST_PORT = 20_000;
const PORT_COUNT = 12_000;

/**
 * One TCP port held open on each of several addresses.
 *
 * @example
 * ```ts ignore
 * using held = HeldPort.on(["127.0.0.1", "127.0.0.2"]);
 * const r = new MeshRouter({ ...opts, host: "127.0.0.1", port: held.port, listener: held.take("127.0.0.1") });
 * ```
 */
export class HeldPort implements Disposable {
  readonly port: number;
  readonly #held: Map<string, Deno.TcpListener>;

  private constructor(port: number, held: Map<string, Deno.TcpListener>) {
    this.port = port;
    this.#held = held;
  }

  /** Finds a port free on every host in `hosts` and holds it there. */
  static on(hosts: readonly string[]): HeldPort {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = FIRST_PORT + Math.floor(Math.random() * PORT_COUNT);
      const held = new Map<string, Deno.TcpListener>();
      try {
        for (const hostname of hosts) held.set(hostname, Deno.listen({ hostname, port }));
        return new HeldPort(port, held);
      } catch {
        for (const l of held.values()) l.close(); // in use somewhere: try another
      }
    }
    throw new Error(`Cannot find a free port: none free on all ${hosts.length} loopback addresses`);
  }

  /**
   * The listener held on `host`, handed over: the taker closes it. Once taken,
   * a new listener on the same port (a router restarted on that host).
   */
  take(host: string): Deno.TcpListener {
    const held = this.#held.get(host);
    if (held) {
      this.#held.delete(host);
      return held;
    }
    return Deno.listen({ hostname: host, port: this.port });
  }

  /** Closes the listeners nobody took. */
  [Symbol.dispose](): void {
    for (const l of this.#held.values()) l.close();
    this.#held.clear();
  }
}

/**
 * A port free on every host in `hosts` now, released again: for routers in
 * other processes (the benchmarks), which cannot take over a listener. Another
 * program may take it before they listen; tests hold theirs ({@link HeldPort}).
 */
export function freePortOnAll(hosts: string[]): number {
  using held = HeldPort.on(hosts);
  return held.port;
}
