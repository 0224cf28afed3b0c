/**
 * The datapaths the throughput benchmark compares, each set up on a fresh two-host
 * {@link TestNet}: the underlay itself, a plain kernel VXLAN made with `ip` (no weave), and
 * weave's fast datapath, sleeve and encrypted sleeve between one container per host.
 *
 * @module
 */
import { type TestNet, waitFor } from "../tests/harness/netns.ts";

/** Where traffic flows for one datapath: client and server namespaces and the address to hit. */
export interface BenchEnv {
  /** Namespace iperf3's client and ping run in. */
  clientNs: string;
  /** Namespace iperf3's server runs in. */
  serverNs: string;
  /** Address of the server as the client reaches it over the datapath. */
  target: string;
  /** Pids of the weave routers of both hosts (empty without weave). */
  routerPids: number[];
}

/** The datapaths, in the order they run. */
export const DATAPATHS = ["underlay", "vxlan", "fastdp", "sleeve", "sleeve-enc"] as const;

/** One of {@link DATAPATHS}. */
export type Datapath = typeof DATAPATHS[number];

/** Password of the encrypted sleeve. */
const PASSWORD = "bench-throughput";

/** Sets up `datapath` on `net` (two hosts) and returns where to measure. */
export function setUp(net: TestNet, datapath: Datapath): Promise<BenchEnv> {
  switch (datapath) {
    case "underlay":
      return Promise.resolve({
        clientNs: net.host(1).name,
        serverNs: net.host(2).name,
        target: net.host(2).ip,
        routerPids: [],
      });
    case "vxlan":
      return plainVxlan(net);
    case "fastdp":
      return weave(net, [], /established\s+(unencrypted\s+)?fastdp/);
    case "sleeve":
      return weave(net, ["--no-fastdp"], /established\s+(unencrypted\s+)?sleeve/);
    case "sleeve-enc":
      return weave(
        net,
        ["--no-fastdp", "--password", PASSWORD],
        /established\s+encrypted\s+sleeve/,
      );
  }
}

async function ok(net: TestNet, ns: string, cmd: string[]): Promise<void> {
  const r = await net.inContainer(ns, cmd);
  if (r.code !== 0) {
    throw new Error(`Cannot run "${cmd.join(" ")}" in ${ns}: exit ${r.code}: ${r.stderr.trim()}`);
  }
}

/** A VXLAN (id 42, port 4789) between the hosts' eth0, 10.99.0.<i>/24, MTU 1450. */
async function plainVxlan(net: TestNet): Promise<BenchEnv> {
  for (const [i, other] of [[1, 2], [2, 1]]) {
    const h = net.host(i);
    await ok(net, h.name, [
      ...["ip", "link", "add", "vx42", "type", "vxlan", "id", "42", "dstport", "4789"],
      ...["local", h.ip, "remote", net.host(other).ip, "dev", "eth0"],
    ]);
    await ok(net, h.name, ["ip", "link", "set", "vx42", "mtu", "1450", "up"]);
    await ok(net, h.name, ["ip", "addr", "add", `10.99.0.${i}/24`, "dev", "vx42"]);
  }
  const env = {
    clientNs: net.host(1).name,
    serverNs: net.host(2).name,
    target: "10.99.0.2",
    routerPids: [],
  };
  await waitForPing(net, env);
  return env;
}

/**
 * Launches weave with `args` on both hosts (h2 given h1 as peer), attaches container 1 of each
 * host as 10.32.0.<i>/12, and waits until h1 lists an established connection matching
 * `overlay` and a ping crosses.
 */
async function weave(net: TestNet, args: string[], overlay: RegExp): Promise<BenchEnv> {
  await net.launch(1, { args });
  await net.launch(2, { args, peers: [net.host(1).ip] });
  const containers: string[] = [];
  for (const i of [1, 2]) {
    const c = await net.container(i, 1);
    const r = await net.weave(i, ["attach", `10.32.0.${i}/12`, c]);
    if (r.code !== 0) throw new Error(`Cannot attach ${c} on h${i}: ${r.stderr.trim()}`);
    containers.push(c);
  }
  await waitFor(async () => {
    const s = (await net.weave(1, ["status", "connections"])).stdout;
    return overlay.test(s) || s;
  }, { what: `h1's connection to match ${overlay}`, timeoutMs: 60_000, intervalMs: 500 });
  const pids: number[] = [];
  for (const i of [1, 2]) {
    const pid = await net.routerPid(i);
    if (pid === undefined) throw new Error(`Cannot find the router of h${i}: nothing on TCP 6783`);
    pids.push(pid);
  }
  const env = {
    clientNs: containers[0],
    serverNs: containers[1],
    target: "10.32.0.2",
    routerPids: pids,
  };
  await waitForPing(net, env);
  return env;
}

async function waitForPing(net: TestNet, env: BenchEnv): Promise<void> {
  await waitFor(async () => {
    const r = await net.inContainer(env.clientNs, ["ping", "-c", "1", "-W", "1", env.target]);
    return r.code === 0 || r.stdout + r.stderr;
  }, { what: `${env.clientNs} to ping ${env.target}`, timeoutMs: 30_000 });
}

/** MTU of the interface `ns` routes `target` through. */
export async function pathMtu(net: TestNet, ns: string, target: string): Promise<number> {
  const route = await net.inContainer(ns, ["ip", "-o", "route", "get", target]);
  const dev = / dev (\S+)/.exec(route.stdout)?.[1];
  if (!dev) throw new Error(`Cannot find the route to ${target} in ${ns}: ${route.stderr.trim()}`);
  const link = await net.inContainer(ns, ["ip", "-o", "link", "show", "dev", dev]);
  const mtu = Number(/ mtu (\d+)/.exec(link.stdout)?.[1]);
  if (!mtu) throw new Error(`Cannot read the MTU of ${dev} in ${ns}: ${link.stderr.trim()}`);
  return mtu;
}
