/**
 * The Docker network plugin end to end: two test hosts, each with a router and its own
 * dockerd; the plugin serves `weavemesh` (and `weave`) in each host's plugin directory;
 * `docker network create --driver weavemesh --ipam-driver weavemesh weave` (what Weave's
 * `weave launch` ran) on both, containers on it get distinct addresses from the routers'
 * IPAM, are named in weaveDNS after their hostname and ping each other across hosts;
 * removing a container releases its address and its name, and `docker network rm` succeeds. Needs root, docker.io and busybox-static; ignored otherwise.
 */
import assert from "node:assert/strict";
import { dockerdSkipReason, TestDockerd } from "./harness/dockerd.ts";
import { netnsSkipReason, REPO_ROOT, TestNet, waitFor } from "./harness/netns.ts";

const skip = netnsSkipReason() ?? dockerdSkipReason();
const label = (name: string) => skip ? `${name} (ignored: ${skip})` : name;

/** `GET <path>` on host `i`'s control API: the body. */
async function apiGet(net: TestNet, i: number, path: string): Promise<string> {
  const r = await net.host(i).exec(["curl", "-s", `http://127.0.0.1:6784${path}`]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

Deno.test({
  name: label("Docker plugin: containers on the weavemesh network of two hosts ping each other"),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 2 });
    await net.launch(1);
    await net.launch(2, { peers: [net.host(1).ip] });
    const engines: TestDockerd[] = [];
    try {
      for (const i of [1, 2]) {
        const d = await TestDockerd.start(net.host(i).name, `${net.tempDir}/d${i}`);
        engines.push(d);
        net.host(i).spawn([
          Deno.execPath(),
          "run",
          "-A",
          `${REPO_ROOT}docker/main.ts`,
          "--http-addr",
          "127.0.0.1:6784",
          "--docker-api",
          `unix://${d.socket}`,
          "--plugin-dir",
          d.pluginDir,
          "--proxy=false",
        ], { stderr: "inherit" });
      }
      for (const [k, d] of engines.entries()) {
        await waitFor(async () => {
          try {
            await Deno.stat(`${d.pluginDir}/weavemesh.sock`);
            return true;
          } catch {
            return `no socket on h${k + 1}`;
          }
        }, { what: "the plugin sockets", timeoutMs: 20_000 });
        const create = await d.docker([
          "network",
          "create",
          "--driver",
          "weavemesh",
          "--ipam-driver",
          "weavemesh",
          "weave",
        ]);
        assert.equal(create.code, 0, create.stderr);
      }
      const ips: string[] = [];
      for (const [k, d] of engines.entries()) {
        const run = await d.docker(
          [
            "run",
            "-d",
            "--net",
            "weave",
            "--name",
            `c${k + 1}`,
            "--hostname",
            `c${k + 1}`,
            "--domainname",
            "weave.local",
            "busybox:local",
            "sleep",
            "600",
          ],
          { timeoutMs: 60_000 },
        );
        assert.equal(run.code, 0, run.stderr);
        const ip = await d.docker([
          "inspect",
          "-f",
          "{{.NetworkSettings.Networks.weave.IPAddress}}/{{.NetworkSettings.Networks.weave.IPPrefixLen}}",
          `c${k + 1}`,
        ]);
        ips.push(ip.stdout.trim());
      }
      assert.notEqual(ips[0], ips[1]);
      for (const ip of ips) assert.match(ip, /^10\.(3[2-9]|4[0-7])\.\d+\.\d+\/12$/);
      const link = await engines[0].docker(["exec", "c1", "ip", "-o", "addr", "show", "ethwe0"]);
      assert.ok(link.stdout.includes(ips[0]), link.stdout + link.stderr);

      await waitFor(async () => {
        const r = await engines[0].docker([
          "exec",
          "c1",
          "ping",
          "-c",
          "1",
          "-W",
          "1",
          ips[1].split("/")[0],
        ]);
        return r.code === 0 || r.stdout + r.stderr;
      }, { what: "c1 on h1 to ping c2 on h2", timeoutMs: 30_000 });
      const back = await engines[1].docker([
        "exec",
        "c2",
        "ping",
        "-c",
        "1",
        "-W",
        "2",
        ips[0].split("/")[0],
      ]);
      assert.equal(back.code, 0, back.stdout + back.stderr);

      // Names in weaveDNS, seen from the other host.
      for (const [i, k] of [[1, 1], [2, 0]]) {
        await waitFor(async () => {
          const r = await net.weave(i, ["dns-lookup", `c${k + 1}`]);
          return r.stdout.trim() === ips[k].split("/")[0] || r.stdout + r.stderr;
        }, { what: `h${i} to resolve c${k + 1}`, timeoutMs: 10_000 });
      }
      // The global-scope `weave` driver is for swarm, as in Weave 2.8.1: Docker refuses it here.
      const global = await engines[0].docker(["network", "create", "--driver", "weave", "wglobal"]);
      assert.notEqual(global.code, 0);
      assert.match(global.stderr, /swarm/);

      const ip1 = ips[0].split("/")[0];
      assert.match(
        await apiGet(net, 1, "/ip"),
        new RegExp(`"containerid":"${ip1.replace(/\./g, "\\.")}"`),
      );
      assert.equal((await engines[0].docker(["rm", "-f", "c1"])).code, 0);
      await waitFor(async () => {
        const owned = await apiGet(net, 1, "/ip");
        return !owned.includes(`"${ip1}"`) || owned;
      }, { what: "c1's address to be released", timeoutMs: 10_000 });
      await waitFor(async () => {
        const r = await net.weave(2, ["dns-lookup", "c1"]);
        return r.stdout.trim() === "" || r.stdout;
      }, { what: "c1's name to go on h2", timeoutMs: 10_000 });
      const hostVeths = await net.host(1).exec(["ip", "-o", "link", "show", "type", "veth"]);
      assert.ok(!hostVeths.stdout.includes("vethwl"), hostVeths.stdout);
      const rm = await engines[0].docker(["network", "rm", "weave"]);
      assert.equal(rm.code, 0, rm.stderr);
    } finally {
      for (const d of engines.reverse()) await d[Symbol.asyncDispose]();
    }
  },
});
