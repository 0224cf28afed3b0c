/**
 * How long a new name takes to resolve on every host: N MeshRouters over
 * TCP (`_ipam_tcp_mesh.ts`), each with a {@link Nameserver} whose DNS server
 * listens on that host's loopback address. Per trial one host adds a name;
 * the time each host's zone receives it is taken at the moment its gossiper
 * merges it (the zone's `merge` is wrapped, so there is no polling delay),
 * then every host's DNS server is asked for the name over UDP and must
 * answer with the address. Names are added one at a time, 100 ms apart,
 * starting 3 s after the mesh is full.
 *
 * @module
 */
import { Nameserver } from "../dns/nameserver.ts";
import { decodePacket, DnsFlag, encodePacket } from "../dns/packet.ts";
import { udpExchange } from "../dns/upstream.ts";
import { splitHostPort } from "../dns/server.ts";
import { formatIPv4 } from "../lib/cidr.ts";
import { discardLogger } from "../lib/log.ts";
import { startTcpMesh } from "./_ipam_tcp_mesh.ts";

/** The outcome of the propagation runs. */
export interface PropagationResult {
  n: number;
  trials: number;
  meshS: number;
  /** Per trial, ms until the last host's zone held the name. */
  lastZoneMs: number[];
  /** ms until each host's zone held the name, every (trial, host) pair but the origin. */
  hostZoneMs: number[];
  /** Per trial, ms until every host's DNS server had answered with the address. */
  allResolvedMs: number[];
  /** (trial, host) pairs whose DNS server did not answer with the address. */
  failures: number;
}

/** How long one name may take to reach every zone. */
const NAME_TIMEOUT_MS = 10_000;

/** Quiet time after the mesh is full (topology updates are deferred by 1 s) before names are added. */
const SETTLE_MS = 3_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function resolves(server: string, name: string, addr: number): Promise<boolean> {
  const { host, port } = splitHostPort(server);
  const id = Math.floor(Math.random() * 65536);
  const query = encodePacket({
    id,
    type: "query",
    flags: DnsFlag.RECURSION_DESIRED,
    questions: [{ name, type: "A" }],
  });
  try {
    const res = decodePacket(await udpExchange(query, host, port, 2_000));
    return (res.answers ?? []).some((a) => a.type === "A" && a.data === formatIPv4(addr));
  } catch {
    return false;
  }
}

/**
 * Wraps every zone's `merge` to note when a watched name arrives; the
 * returned function starts watching a name and gives the arrival times
 * (performance.now(), NaN until it arrives), one per host, filled in later.
 */
function watchZones(servers: Nameserver[]): (name: string) => number[] {
  let wanted: { name: string; arrived: number[] } | undefined;
  servers.forEach((ns, i) => {
    const merge = ns.entries.merge.bind(ns.entries);
    ns.entries.merge = (incoming) => {
      const changed = merge(incoming);
      if (wanted && Number.isNaN(wanted.arrived[i]) && ns.entries.lookup(wanted.name).length) {
        wanted.arrived[i] = performance.now();
      }
      return changed;
    };
  });
  return (name) => {
    wanted = { name, arrived: servers.map(() => NaN) };
    return wanted.arrived;
  };
}

/**
 * Runs `trials` names through an N-host mesh, one at a time, origins taking
 * turns; `meshTimeoutMs` bounds the forming of the mesh.
 */
export async function measurePropagation(
  n: number,
  trials: number,
  meshTimeoutMs: number,
): Promise<PropagationResult> {
  const servers: Nameserver[] = [];
  const mesh = await startTcpMesh(n, {
    timeoutMs: meshTimeoutMs,
    setup: async (routers, hosts) => {
      for (const [i, r] of routers.entries()) {
        const ns = new Nameserver({
          ourName: r.ourName,
          listenAddress: `${hosts[i]}:0`,
          upstream: { servers: [] },
          log: discardLogger,
        });
        ns.register(r);
        servers.push(ns);
        await ns.start();
      }
    },
    teardown: async () => void await Promise.all(servers.map((s) => s.stop())),
  });
  const result: PropagationResult = {
    n,
    trials,
    meshS: mesh.meshS,
    lastZoneMs: [],
    hostZoneMs: [],
    allResolvedMs: [],
    failures: 0,
  };
  try {
    const watch = watchZones(servers);
    await sleep(SETTLE_MS);
    for (let k = 0; k < trials; k++) {
      const origin = k % n, name = `probe-${k}.weave.local`, addr = 0x0a280000 + k + 1;
      const t0 = performance.now();
      const arrived = watch(`${name}.`); // the zone holds fully qualified names
      servers[origin].addEntry(`container-${k}`, addr, name);
      arrived[origin] = t0;
      while (arrived.some(Number.isNaN) && performance.now() - t0 < NAME_TIMEOUT_MS) await sleep(1);
      const others = arrived.filter((_, i) => i !== origin).map((t) => t - t0);
      result.hostZoneMs.push(...others);
      result.lastZoneMs.push(Math.max(...others));
      const ok = await Promise.all(servers.map((s) => resolves(s.dnsAddressPort(), name, addr)));
      result.allResolvedMs.push(performance.now() - t0);
      result.failures += ok.filter((x) => !x).length;
      await sleep(100);
    }
  } finally {
    await mesh.stop();
  }
  return result;
}
