import assert from "node:assert/strict";
import type { PluginDeps } from "./deps.ts";
import { parseCniEnv } from "./env.ts";
import { CniCode, CniError } from "./errors.ts";
import { FakeIpam } from "./fake_ipam.ts";
import { FakePlumbing } from "./fake_plumbing.ts";
import { podRoutes, runNetPlugin } from "./net_plugin.ts";
import type { Delegate } from "./delegate.ts";
import { memoryRecords } from "./records.ts";
import { netnsId } from "../sys/netns.ts";

const ID = "4b0c1d2e3f405162738495a6b7c8d9e0";
const NETNS = "/var/run/netns/cni-1";

function setup(delegate?: Delegate) {
  const ipam = new FakeIpam();
  const kernel = new FakePlumbing();
  kernel.namespaces.add(NETNS);
  const calls: string[] = [];
  const deps: PluginDeps = {
    ipam,
    plumbing: () => kernel,
    delegate: delegate ?? (() => Promise.reject(new Error("no delegate"))),
  };
  const run = (
    command: string,
    conf: Record<string, unknown> = {},
    env: Record<string, string> = {},
  ) =>
    runNetPlugin({
      args: parseCniEnv({
        CNI_COMMAND: command,
        CNI_CONTAINERID: ID,
        CNI_NETNS: NETNS,
        CNI_IFNAME: "eth0",
        CNI_PATH: "/opt/cni/bin",
        ...env,
      }),
      stdin: JSON.stringify({ cniVersion: "1.0.0", name: "weave", type: "weave-net", ...conf }),
    }, deps);
  return { ipam, kernel, deps, run, calls };
}

async function rejectsWith(p: Promise<unknown>, code: number, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CniError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });
}

Deno.test("ADD allocates for the container id, attaches the pod and answers interfaces and ips", async () => {
  const { ipam, kernel, run } = setup();
  const out = await run("ADD", { dns: { nameservers: ["10.96.0.10"] } });
  assert.deepEqual(out, {
    cniVersion: "1.0.0",
    interfaces: [
      { name: "vethwepl4b0c1d2", mac: "02:00:00:00:01:01" },
      { name: "eth0", mac: "02:00:00:00:00:01", sandbox: NETNS },
    ],
    ips: [{ address: "10.32.0.1/12", gateway: "10.32.0.254", interface: 1 }],
    routes: [{ dst: "0.0.0.0/0", gw: "10.32.0.254" }],
    dns: { nameservers: ["10.96.0.10"] },
  });
  assert.deepEqual(ipam.held.get(ID), ["10.32.0.1/12"]);
  const pod = kernel.pods.get(`${NETNS}#eth0`)!;
  assert.equal(pod.spec.bridge, "weave");
  assert.equal(pod.spec.hairpin, false);
  assert.equal(pod.spec.mtu, 1376, "mtu 0: the datapath's");
});

Deno.test("ADD retried for the same container and interface gives the same answer", async () => {
  const { ipam, run } = setup();
  const first = await run("ADD", { hairpinMode: true, mtu: 1400 });
  const again = await run("ADD", { hairpinMode: true, mtu: 1400 });
  assert.deepEqual(again, first);
  assert.deepEqual([...ipam.held.keys()], [ID]);
});

Deno.test("ADD in ipam.subnet with ipam.gateway and ipam.routes uses them", async () => {
  const { ipam, kernel, run } = setup();
  const out = await run("ADD", {
    ipam: {
      subnet: "10.40.0.0/16",
      gateway: "10.40.0.1",
      routes: [{ dst: "10.0.0.0/8" }, { dst: "192.168.0.0/16", gw: "10.40.0.9" }],
    },
  });
  assert.deepEqual(ipam.held.get(ID), ["10.40.0.1/16"]);
  assert.deepEqual(kernel.pods.get(`${NETNS}#eth0`)!.spec.routes, [
    { dst: "10.0.0.0/8", gw: "10.40.0.1" },
    { dst: "192.168.0.0/16", gw: "10.40.0.9" },
  ]);
  assert.deepEqual((out as { ips: unknown }).ips, [
    { address: "10.40.0.1/16", gateway: "10.40.0.1", interface: 1 },
  ]);
});

Deno.test("ADD gives the bridge an address from IPAM (weave:expose) when it has none but weaveDNS's", async () => {
  const { ipam, kernel, run } = setup();
  kernel.bridges.set("weave", { mtu: 65521, cidrs: ["169.254.53.1/32"] });
  const out = await run("ADD");
  assert.deepEqual(ipam.held.get("weave:expose"), ["10.32.0.2/12"]);
  assert.deepEqual(kernel.bridges.get("weave")!.cidrs, ["169.254.53.1/32", "10.32.0.2/12"]);
  assert.deepEqual((out as { routes: unknown }).routes, [{ dst: "0.0.0.0/0", gw: "10.32.0.2" }]);
});

Deno.test("ADD refuses a missing bridge (code 11) and releases the address it took", async () => {
  const { ipam, kernel, run } = setup();
  kernel.bridges.clear();
  await rejectsWith(run("ADD"), CniCode.TryAgainLater, /bridge "weave" does not exist/);
  assert.equal(ipam.held.size, 0);
});

Deno.test("ADD of a vanished namespace is code 3 and leaves no address held", async () => {
  const { ipam, run } = setup();
  await rejectsWith(run("ADD", {}, { CNI_NETNS: "/var/run/netns/gone" }), 3, /does not exist/);
  assert.equal(ipam.held.size, 0);
});

Deno.test("ADD with the router unreachable is code 11", async () => {
  const { ipam, run } = setup();
  ipam.down = true;
  await rejectsWith(run("ADD"), CniCode.TryAgainLater, /router/);
});

Deno.test("ADD refuses isGateway / ipMasq as Weave does (code 2)", async () => {
  const { run } = setup();
  await rejectsWith(run("ADD", { isGateway: true }), CniCode.UnsupportedField, /isGateway/);
  await rejectsWith(run("ADD", { ipMasq: true }), CniCode.UnsupportedField, /ipMasq/);
});

Deno.test("ADD with another ipam.type delegates ADD to it, and DEL to it on failure", async () => {
  const seen: string[] = [];
  const delegate: Delegate = (type, command) => {
    seen.push(`${type} ${command}`);
    return Promise.resolve({
      cniVersion: "1.0.0",
      ips: [{ address: "10.99.0.5/24", gateway: "10.99.0.1" }],
    });
  };
  const { ipam, kernel, run } = setup(delegate);
  const out = await run("ADD", { ipam: { type: "host-local" } });
  assert.deepEqual((out as { ips: unknown }).ips, [
    { address: "10.99.0.5/24", gateway: "10.99.0.1", interface: 1 },
  ]);
  assert.equal(ipam.held.size, 0);
  kernel.failSetup = new CniError(CniCode.PlumbingFailed, "no");
  await rejectsWith(run("ADD", { ipam: { type: "host-local" } }), CniCode.PlumbingFailed, /no/);
  assert.deepEqual(seen, ["host-local ADD", "host-local ADD", "host-local DEL"]);
});

Deno.test("DEL removes the interface and releases; twice, vanished namespace, garbage config all succeed", async () => {
  const { ipam, kernel, run, deps } = setup();
  await run("ADD");
  assert.equal(await run("DEL"), undefined);
  assert.equal(kernel.pods.size, 0);
  assert.equal(ipam.held.size, 0);
  assert.equal(await run("DEL"), undefined);
  assert.equal(await run("DEL", {}, { CNI_NETNS: "/var/run/netns/gone" }), undefined);
  assert.equal(await run("DEL", {}, { CNI_NETNS: "" }), undefined);
  await run("ADD");
  const out = await runNetPlugin({
    args: parseCniEnv({
      CNI_COMMAND: "DEL",
      CNI_CONTAINERID: ID,
      CNI_IFNAME: "eth0",
      CNI_NETNS: NETNS,
    }),
    stdin: "{ not json",
  }, deps);
  assert.equal(out, undefined);
  assert.equal(ipam.held.size, 0, "released although the config did not parse");
});

Deno.test("DEL with the router gone is code 11 after removing the interface", async () => {
  const { ipam, kernel, run } = setup();
  await run("ADD");
  ipam.down = true;
  await rejectsWith(run("DEL"), CniCode.TryAgainLater, /router/);
  assert.equal(kernel.pods.size, 0);
});

Deno.test("CHECK passes what ADD left and names what is missing", async () => {
  const { ipam, kernel, run } = setup();
  const prevResult = await run("ADD");
  assert.equal(await run("CHECK", { prevResult }), undefined);
  const pod = kernel.pods.get(`${NETNS}#eth0`)!;
  pod.up = false;
  await rejectsWith(run("CHECK", { prevResult }), CniCode.CheckFailed, /"eth0" is down/);
  pod.up = true;
  pod.peer = 7;
  await rejectsWith(run("CHECK", { prevResult }), CniCode.CheckFailed, /not the other end/);
  pod.peer = undefined;
  pod.spec = { ...pod.spec, routes: [] };
  await rejectsWith(run("CHECK", { prevResult }), CniCode.CheckFailed, /route 0\.0\.0\.0\/0 via/);
  pod.spec = { ...pod.spec, cidr: "10.32.0.9/12" };
  await rejectsWith(
    run("CHECK", { prevResult }),
    CniCode.CheckFailed,
    /10\.32\.0\.1\/12 is missing/,
  );
  kernel.pods.clear();
  await rejectsWith(run("CHECK", { prevResult }), CniCode.CheckFailed, /"eth0" is missing/);
  await run("ADD");
  ipam.held.clear();
  await rejectsWith(run("CHECK", { prevResult }), CniCode.CheckFailed, /router no longer holds/);
});

Deno.test("CHECK is refused before CNI 0.4.0", async () => {
  const { run } = setup();
  await rejectsWith(run("CHECK", { cniVersion: "0.3.1" }), CniCode.IncompatibleVersion, /0\.4\.0/);
});

Deno.test("STATUS: fine when IPAM is ready, else code 50 with the reason", async () => {
  const { ipam, run } = setup();
  const v = { cniVersion: "1.1.0" };
  assert.equal(await run("STATUS", v), undefined);
  ipam.ipamStatus = "idle";
  assert.equal(await run("STATUS", v), undefined, "idle: the first ADD starts the ring");
  ipam.ipamStatus = "awaiting consensus";
  await rejectsWith(run("STATUS", v), CniCode.NotAvailable, /IPAM is awaiting consensus/);
  ipam.ipamStatus = undefined;
  await rejectsWith(run("STATUS", v), CniCode.NotAvailable, /without IPAM/);
  ipam.down = true;
  await rejectsWith(run("STATUS", v), CniCode.NotAvailable, /router not running/);
  await rejectsWith(run("STATUS", { cniVersion: "1.0.0" }), CniCode.IncompatibleVersion, /1\.1\.0/);
});

Deno.test("GC releases owners not in cni.dev/valid-attachments, never weave's own", async () => {
  const { ipam, deps, run } = setup();
  for (const id of ["live1", "gone1", "gone2", "weave:expose", "pid:42", "attached-ns"]) {
    await ipam.allocate(id);
  }
  deps.keepOwner = (id) => id === "attached-ns";
  const valid = [{ containerID: "live1", ifname: "eth0" }];
  assert.equal(
    await run("GC", { cniVersion: "1.1.0", "cni.dev/valid-attachments": valid }),
    undefined,
  );
  assert.deepEqual([...ipam.held.keys()].sort(), [
    "attached-ns",
    "live1",
    "pid:42",
    "weave:expose",
  ]);
});

Deno.test("GC also removes the interface of a recorded pod it releases", async () => {
  const { ipam, kernel, deps, run } = setup();
  const records = memoryRecords();
  deps.records = records;
  await run("ADD");
  assert.equal(kernel.pods.size, 1);
  assert.equal(
    await run("GC", { cniVersion: "1.1.0", "cni.dev/valid-attachments": [] }),
    undefined,
  );
  assert.equal(kernel.pods.size, 0);
  assert.equal(records.map.size, 0);
  assert.equal(ipam.held.has(ID), false);
});

Deno.test("podRoutes: default route via the gateway; a link route first when it is off-subnet", () => {
  const table: [string, string | undefined, { dst: string; gw?: string }[] | undefined, unknown][] =
    [
      ["10.32.0.2/12", "10.32.0.1", undefined, [{ dst: "0.0.0.0/0", gw: "10.32.0.1" }]],
      ["10.40.0.2/16", "10.32.0.1", undefined, [
        { dst: "10.32.0.1/32" },
        { dst: "0.0.0.0/0", gw: "10.32.0.1" },
      ]],
      ["10.40.0.2/16", undefined, undefined, []],
      ["10.40.0.2/16", "10.40.0.1", [], []],
      ["10.40.0.2/16", undefined, [{ dst: "10.0.0.0/8" }], [{ dst: "10.0.0.0/8" }]],
    ];
  for (const [cidr, gw, given, want] of table) {
    assert.deepEqual(podRoutes(cidr, gw, given), want, `${cidr} ${gw} ${JSON.stringify(given)}`);
  }
});

Deno.test("ADD records the pod for weave ps and DEL forgets it; a failing record store fails nothing", async () => {
  const { deps, run } = setup();
  const records = memoryRecords();
  deps.records = records;
  await run("ADD");
  assert.deepEqual([...records.map.values()], [
    {
      containerId: ID,
      netns: NETNS,
      ifname: "eth0",
      hostVeth: "vethwepl4b0c1d2",
      hostNetns: netnsId(),
    },
  ]);
  await run("DEL");
  assert.equal(records.map.size, 0);
  deps.records = {
    ...records,
    write: () => {
      throw new Error("read-only");
    },
  };
  await run("ADD");
});
