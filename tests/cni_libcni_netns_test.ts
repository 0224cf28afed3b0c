/**
 * The CNI plugin through libcni (Debian's golang-github-appc-cni-dev, the
 * library runtimes use) and run directly, on one host with its router:
 * ADD, CHECK, DEL and VERSION for each spec version with the conflist as
 * `weave setup-cni` installs it (portmap chained; a port mapping given as
 * runtime config reaches the pod from another host), `weave-ipam` under
 * Debian's `bridge`, then the faults: ADD
 * twice, DEL twice, DEL with the router gone, a vanished namespace, garbage
 * on stdin, STATUS and GC, STATUS while IPAM awaits consensus and an ADD cut
 * short by a router restart; nothing is left behind (no veth, no address).
 * Needs root and the Debian packages; ignored otherwise.
 */
import assert from "node:assert/strict";
import { netnsSkipReason, TestNet, waitFor } from "./harness/netns.ts";
import { run } from "./harness/exec.ts";
import {
  buildDriver,
  type CniInstall,
  cniSkipReason,
  conflistFor,
  installPlugins,
  libcni,
  linksLike,
  owners,
  plugin,
} from "./_cni.ts";

const skip = netnsSkipReason() ?? cniSkipReason({ libcni: true });
const label = (name: string) => skip ? `${name} (ignored: ${skip})` : name;
const RANGE = /^10\.(3[2-9]|4[0-7])\.\d+\.\d+\/12$/;

interface Ctx {
  net: TestNet;
  cni: CniInstall;
  driver: string;
}

async function start(net: TestNet): Promise<Ctx> {
  await net.launch(1);
  const primed = await net.weave(1, ["prime"], { timeoutMs: 20_000 });
  assert.equal(primed.code, 0, primed.stderr);
  await net.host(1).exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  const cni = await installPlugins(`${net.tempDir}/cni`);
  return { net, cni, driver: await buildDriver(net.tempDir) };
}

Deno.test({
  name: label(
    "libcni drives weave-net + portmap (ADD, CHECK, DEL, VERSION per version) and bridge + weave-ipam",
  ),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 2 });
    const ctx = await start(net);
    const versions = ["0.3.0", "0.3.1", "0.4.0", "1.0.0"];
    for (const [n, version] of versions.entries()) {
      const pod = await net.container(1, n + 1);
      const netns = `/run/netns/${pod}`;
      const id = `${"abcdef0"}${n}${net.prefix}`;
      const conflist = await conflistFor(ctx.cni, version);
      const call = { driver: ctx.driver, conflist, netns, id, cni: ctx.cni };
      const v = await libcni(net, 1, { ...call, action: "version" });
      assert.equal(v.code, 0, JSON.stringify(v));
      assert.ok(
        (v.out as Record<string, string[]>)["weave-net"].includes(version),
        JSON.stringify(v.out),
      );
      const hostPort = 18080 + n;
      const caps = { portMappings: [{ hostPort, containerPort: 80, protocol: "tcp" }] };
      const add = await libcni(net, 1, { ...call, action: "add", caps });
      assert.equal(add.code, 0, `${version} ADD: ${JSON.stringify(add)}`);
      const result = add.out as {
        cniVersion: string;
        interfaces: { name: string; mac: string; sandbox?: string }[];
        ips: { address: string; interface?: number; version?: string }[];
      };
      assert.equal(result.cniVersion, version);
      assert.equal(result.interfaces.length, 2, JSON.stringify(result));
      assert.equal(result.interfaces[0].name, `vethwepl${id.slice(0, 7)}`);
      assert.deepEqual([result.interfaces[1].name, result.interfaces[1].sandbox], ["eth0", netns]);
      assert.match(result.ips[0].address, RANGE);
      assert.equal(result.ips[0].interface, 1);
      assert.equal(result.ips[0].version, version.startsWith("0.") ? "4" : undefined);
      const inPod = (await net.inContainer(pod, ["ip", "-4", "-o", "addr", "show", "eth0"])).stdout;
      assert.ok(inPod.includes(result.ips[0].address), inPod);
      assert.deepEqual((await owners(net, 1))[id], [result.ips[0].address]);
      if (version !== "0.3.0" && version !== "0.3.1") {
        // Without the port mappings: Debian's portmap (plugins 1.1.1) fails CHECK of IPv4-only
        // mappings looking for ip6tables rules (containernetworking/plugins#819), not ours.
        const check = await libcni(net, 1, { ...call, action: "check" });
        assert.equal(check.code, 0, `${version} CHECK: ${JSON.stringify(check)}`);
      }
      if (version === "1.0.0") await assertPortMapped(net, pod, hostPort);
      const del = await libcni(net, 1, { ...call, action: "del", caps });
      assert.equal(del.code, 0, `${version} DEL: ${JSON.stringify(del)}`);
      assert.equal((await owners(net, 1))[id], undefined, "address released");
      assert.deepEqual(await linksLike(pod, "eth0"), []);
    }
    assert.deepEqual(await linksLike(net.host(1).name, "vethwepl"), [], "no veth left");

    // weave-ipam under another main plugin: Debian's bridge.
    const ipamList = `${net.tempDir}/ipam.conflist`;
    await Deno.writeTextFile(
      ipamList,
      JSON.stringify({
        cniVersion: "1.0.0",
        name: "ipamnet",
        plugins: [{ type: "bridge", bridge: "cnibr1", ipam: { type: "weave-ipam" } }],
      }),
    );
    const pod = await net.container(1, 9);
    const call = {
      driver: ctx.driver,
      conflist: ipamList,
      netns: `/run/netns/${pod}`,
      id: `1abc${net.prefix}`,
      cni: ctx.cni,
    };
    const add = await libcni(net, 1, { ...call, action: "add" });
    assert.equal(add.code, 0, JSON.stringify(add));
    const address = (add.out as { ips: { address: string }[] }).ips[0].address;
    assert.match(address, RANGE);
    assert.deepEqual((await owners(net, 1))[call.id], [address]);
    assert.equal((await libcni(net, 1, { ...call, action: "check" })).code, 0);
    assert.equal((await libcni(net, 1, { ...call, action: "del" })).code, 0);
    assert.equal((await owners(net, 1))[call.id], undefined, "weave-ipam DEL released it");
  },
});

/** A server in the pod on port 80 answers host h2 at h1's `hostPort`. */
async function assertPortMapped(net: TestNet, pod: string, hostPort: number): Promise<void> {
  const server = net.host(1).spawn([
    ...["ip", "netns", "exec", pod, Deno.execPath(), "eval"],
    `Deno.serve({ port: 80, hostname: "0.0.0.0", onListen() {} }, () => new Response("pong"));`,
  ]);
  try {
    const url = `http://${net.host(1).ip}:${hostPort}/`;
    const script = `console.log(await (await fetch("${url}")).text())`;
    await waitFor(async () => {
      const r = await net.host(2).exec([Deno.execPath(), "eval", script], { timeoutMs: 5000 })
        .catch((e) => ({ code: 1, stdout: "", stderr: String(e) }));
      return r.stdout.trim() === "pong" || r.stdout + r.stderr;
    }, { what: `h2 to reach the pod at ${url}`, timeoutMs: 15_000 });
  } finally {
    server.kill("SIGKILL");
    await server.status;
  }
}

Deno.test({
  name: label(
    "weave-net faults: ADD twice, DEL twice, router gone, vanished netns, garbage, STATUS, GC",
  ),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 1 });
    const { cni } = await start(net);
    const conf = (v = "1.0.0", extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        ...(cni.conflist.plugins as object[])[0],
        cniVersion: v,
        name: "weave",
        ...extra,
      });
    const pod = await net.container(1, 1);
    const netns = `/run/netns/${pod}`;
    const id = `f00d${net.prefix}`;
    const call = { cni, id, netns, stdin: conf() };

    // ADD twice: the same answer, one address.
    const first = await plugin(net, 1, { ...call, command: "ADD" });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.equal(first.stderr, "");
    const again = await plugin(net, 1, { ...call, command: "ADD" });
    assert.equal(again.stdout, first.stdout);
    assert.equal((await owners(net, 1))[id]?.length, 1);
    // A retry after the router lost the address and with another MTU: only the new address,
    // both ends at the new MTU.
    const lose = `await fetch("http://127.0.0.1:6784/ip/${id}", { method: "DELETE" });`;
    assert.equal((await net.host(1).exec([Deno.execPath(), "eval", lose])).code, 0);
    const moved = await plugin(net, 1, {
      ...call,
      command: "ADD",
      stdin: conf("1.0.0", { mtu: 1400 }),
    });
    assert.equal(moved.code, 0, moved.stdout);
    const newAddr = (moved.out as { ips: { address: string }[] }).ips[0].address;
    const inPod = (await net.inContainer(pod, ["ip", "-4", "-o", "addr", "show", "eth0"])).stdout;
    assert.deepEqual([...inPod.matchAll(/inet (\S+)/g)].map((m) => m[1]), [newAddr], inPod);
    for (const [ns, dev] of [[pod, "eth0"], [net.host(1).name, `vethwepl${id.slice(0, 7)}`]]) {
      const link = (await run(["ip", "-n", ns, "link", "show", dev])).stdout;
      assert.match(link, / mtu 1400 /, `${dev}: ${link}`);
    }
    const settled = await plugin(net, 1, { ...call, command: "ADD" });
    assert.equal(settled.code, 0, settled.stdout);
    // CHECK after a change names it.
    await net.inContainer(pod, ["ip", "route", "del", "default"]);
    const checked = await plugin(net, 1, {
      ...call,
      command: "CHECK",
      stdin: conf("1.0.0", { prevResult: settled.out }),
    });
    assert.equal(checked.code, 1);
    assert.match(String(checked.out?.msg), /route 0\.0\.0\.0\/0 via .* is missing/);

    // DEL twice: both fine, nothing left.
    for (let k = 0; k < 2; k++) {
      const del = await plugin(net, 1, { ...call, command: "DEL" });
      assert.deepEqual([del.code, del.stdout], [0, ""], del.stderr);
    }
    assert.equal((await owners(net, 1))[id], undefined);
    assert.deepEqual(await linksLike(net.host(1).name, "vethwepl"), []);

    // A vanished namespace: ADD is code 3 and holds nothing; DEL succeeds.
    const gone = { ...call, netns: "/run/netns/does-not-exist" };
    const addGone = await plugin(net, 1, { ...gone, command: "ADD" });
    assert.equal(addGone.out?.code, 3, addGone.stdout);
    assert.equal((await owners(net, 1))[id], undefined);
    assert.equal((await plugin(net, 1, { ...gone, command: "DEL" })).code, 0);

    // Garbage on stdin: code 6, one weave-cni line on stderr.
    const garbage = await plugin(net, 1, { ...call, command: "ADD", stdin: "\x00garbage{" });
    assert.equal(garbage.code, 1);
    assert.equal(garbage.out?.code, 6);
    assert.match(garbage.stderr, /^weave-cni: weave-net: Cannot decode network config[^\n]*\n$/);

    // STATUS and GC (CNI 1.1.0).
    const status = await plugin(net, 1, { cni, command: "STATUS", stdin: conf("1.1.0") });
    assert.deepEqual([status.code, status.stdout], [0, ""], status.stderr);
    const pod2 = await net.container(1, 2);
    const id2 = `beef${net.prefix}`;
    for (const [i, n] of [[id, netns], [id2, `/run/netns/${pod2}`]]) {
      assert.equal(
        (await plugin(net, 1, { cni, id: i, netns: n, stdin: conf(), command: "ADD" })).code,
        0,
      );
    }
    const gc = await plugin(net, 1, {
      cni,
      command: "GC",
      stdin: conf("1.1.0", { "cni.dev/valid-attachments": [{ containerID: id, ifname: "eth0" }] }),
    });
    assert.deepEqual([gc.code, gc.stdout], [0, ""], gc.stderr);
    const held = await owners(net, 1);
    assert.ok(held[id] && !held[id2], JSON.stringify(held));
    assert.ok(held["weave:expose"], "the bridge keeps its address");
    assert.deepEqual(await linksLike(pod2, "eth0"), [], "GC removed the forgotten pod's interface");

    // DEL with the router gone: code 11 (retry), the interface is already removed; after the
    // router is back, the retried DEL releases the address.
    await net.killRouter(1);
    const delDown = await plugin(net, 1, { ...call, command: "DEL" });
    assert.equal(delDown.code, 1);
    assert.equal(delDown.out?.code, 11, delDown.stdout);
    assert.match(delDown.stderr, /^weave-cni: weave-net: .*does not answer[^\n]*\n$/);
    assert.deepEqual(await linksLike(pod, "eth0"), []);
    const statusDown = await plugin(net, 1, { cni, command: "STATUS", stdin: conf("1.1.0") });
    assert.equal(statusDown.out?.code, 50);
    assert.match(String(statusDown.out?.msg), /router not running/);
    await net.launch(1);
    await waitFor(async () => {
      const r = await plugin(net, 1, { ...call, command: "DEL" });
      return r.code === 0 || r.stdout;
    }, { what: "DEL to succeed once the router is back", timeoutMs: 20_000 });
    assert.equal((await owners(net, 1))[id], undefined);
    const netns2 = `/run/netns/${pod2}`;
    const del2 = await plugin(net, 1, {
      cni,
      id: id2,
      netns: netns2,
      stdin: conf(),
      command: "DEL",
    });
    assert.equal(del2.code, 0, del2.stdout);
    const left = await run(["ip", "-n", net.host(1).name, "-o", "link", "show"]);
    assert.deepEqual(await linksLike(net.host(1).name, "vethwepl"), [], left.stdout);
    assert.deepEqual(Object.keys(await owners(net, 1)), ["weave:expose"]);
  },
});

Deno.test({
  name: label(
    "weave-net while IPAM awaits consensus: STATUS 50, an ADD cut by a router restart is 11",
  ),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 1 });
    await net.launch(1, { args: ["--ipalloc-init", "consensus=2"] });
    const cni = await installPlugins(`${net.tempDir}/cni`);
    const conf = (v: string) =>
      JSON.stringify({ ...(cni.conflist.plugins as object[])[0], cniVersion: v, name: "weave" });
    const pod = await net.container(1, 1);
    const call = { cni, id: `cafe${net.prefix}`, netns: `/run/netns/${pod}`, stdin: conf("1.0.0") };
    // The ADD waits for a quorum of 2 that never comes; the router is restarted meanwhile.
    const adding = plugin(net, 1, { ...call, command: "ADD" });
    await waitFor(async () => {
      const s = await plugin(net, 1, { cni, command: "STATUS", stdin: conf("1.1.0") });
      return /awaiting consensus/.test(String(s.out?.msg)) || s.stdout;
    }, { what: "STATUS to say awaiting consensus", timeoutMs: 10_000 });
    const status = await plugin(net, 1, { cni, command: "STATUS", stdin: conf("1.1.0") });
    assert.equal(status.out?.code, 50);
    await net.killRouter(1);
    const cut = await adding;
    assert.equal(cut.code, 1);
    assert.equal(cut.out?.code, 11, cut.stdout);
    assert.deepEqual(await linksLike(net.host(1).name, "vethwepl"), [], "no veth made");
    assert.deepEqual(await linksLike(pod, "eth0"), []);
    await net.launch(1);
    const primed = await net.weave(1, ["prime"], { timeoutMs: 20_000 });
    assert.equal(primed.code, 0, primed.stderr);
    assert.equal((await owners(net, 1))[call.id], undefined, "the cut ADD holds nothing");
    const again = await plugin(net, 1, { ...call, command: "ADD" });
    assert.equal(again.code, 0, again.stdout);
    assert.equal((await plugin(net, 1, { ...call, command: "DEL" })).code, 0);
  },
});
