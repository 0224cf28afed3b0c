/**
 * Several routers on one machine without namespaces: each on its own loopback
 * address (127.0.0.1 … 127.0.0.N) and all on one port, so that discovery's
 * "same port as ours" rule for inbound connections holds.
 *
 * @module
 */

/** 127.0.0.1 … 127.0.0.n. */
export function loopbackHosts(n: number): string[] {
  if (n < 1 || n > 254) throw new RangeError(`Cannot use ${n} loopback addresses: expected 1..254`);
  return Array.from({ length: n }, (_, i) => `127.0.0.${i + 1}`);
}

/** A TCP port that every host in `hosts` can listen on (below the ephemeral range). */
export function freePortOnAll(hosts: string[]): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const held: Deno.Listener[] = [];
    try {
      for (const hostname of hosts) held.push(Deno.listen({ hostname, port }));
      return port;
    } catch {
      // in use somewhere: try another
    } finally {
      for (const l of held) l.close();
    }
  }
  throw new Error(`Cannot find a free port: none free on all ${hosts.length} loopback addresses`);
}
