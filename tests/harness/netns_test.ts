import assert from "node:assert/strict";
import { listNamespaces } from "./cleanup.ts";
import { netnsSkipReason, randomPrefix, TestNet, waitFor } from "./netns.ts";

const skip = netnsSkipReason();
const named = (name: string) => skip ? `${name} (ignored: ${skip})` : name;

async function pings(net: TestNet, from: number, to: number): Promise<boolean> {
  const r = await net.host(from).exec(["ping", "-c1", "-W1", net.host(to).ip]);
  return r.code === 0;
}

/** Interface names of the namespace this test runs in (the root one). */
async function rootLinks(): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir("/sys/class/net")) names.push(e.name);
  return names.sort();
}

Deno.test({
  name: named("TestNet: 3 hosts reach each other over the underlay, nothing in the root namespace"),
  ignore: !!skip,
  fn: async () => {
    const rootLinksBefore = await rootLinks();
    await using net = await TestNet.create({ hosts: 3, subnet: "192.0.2" });
    assert.deepEqual(net.hosts.map((h) => h.ip), ["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
    for (const a of [1, 2, 3]) {
      for (const b of [1, 2, 3]) {
        if (a !== b) assert.ok(await pings(net, a, b), `h${a} cannot ping h${b}`);
      }
    }
    const link = await net.host(2).exec(["ip", "-o", "link", "show", "eth0"]);
    assert.match(link.stdout, /mtu 1500/);
    assert.deepEqual(await rootLinks(), rootLinksBefore, "the root namespace's links changed");
    assert.ok((await Deno.stat(`${net.tempDir}/h3`)).isDirectory);
    assert.equal(net.host(3).dbPrefix, `${net.tempDir}/h3/weave`);
  },
});

Deno.test({
  name: named("TestNet: blockLink stops traffic between two hosts only, unblockLink restores it"),
  ignore: !!skip,
  fn: async () => {
    await using net = await TestNet.create({ hosts: 3 });
    await net.blockLink(1, 2);
    assert.ok(!(await pings(net, 1, 2)), "h1 still pings h2 after blockLink");
    assert.ok(!(await pings(net, 2, 1)), "h2 still pings h1 after blockLink");
    assert.ok(await pings(net, 1, 3), "blockLink(1, 2) cut h1 from h3");
    assert.ok(await pings(net, 3, 2), "blockLink(1, 2) cut h3 from h2");
    await net.blockLink(2, 1); // blocking twice is harmless
    await net.unblockLink(1, 2);
    assert.ok(await pings(net, 1, 2), "h1 cannot ping h2 after unblockLink");
    assert.ok(await pings(net, 2, 1), "h2 cannot ping h1 after unblockLink");
    await net.unblockLink(1, 2); // unblocking twice is harmless
  },
});

Deno.test({
  name: named(
    "TestNet: dispose removes namespaces, processes and temp dir, even when a test throws",
  ),
  ignore: !!skip,
  fn: async () => {
    const prefix = randomPrefix();
    let tempDir = "";
    let sleeper: Deno.ChildProcess | undefined;
    await assert.rejects(async () => {
      await using net = await TestNet.create({ hosts: 2, prefix });
      tempDir = net.tempDir;
      sleeper = net.host(1).spawn(["sleep", "60"]);
      const names = await listNamespaces();
      for (const ns of [`${prefix}sw`, `${prefix}h1`, `${prefix}h2`]) assert.ok(names.includes(ns));
      throw new Error("the test body failed");
    }, /the test body failed/);
    const left = (await listNamespaces()).filter((ns) => ns.startsWith(prefix));
    assert.deepEqual(left, []);
    await assert.rejects(Deno.stat(tempDir), Deno.errors.NotFound);
    assert.ok(sleeper !== undefined);
    assert.equal((await sleeper.status).signal, "SIGKILL");
  },
});

Deno.test({
  name: named("TestNet: dispose twice is harmless, and keep() leaves the network in place"),
  ignore: !!skip,
  fn: async () => {
    const net = await TestNet.create({ hosts: 1 });
    net.keep();
    await net[Symbol.asyncDispose]();
    assert.ok((await listNamespaces()).includes(net.host(1).name), "keep() did not keep");
    const again = await TestNet.create({ hosts: 1 }).catch((e) => e);
    assert.ok(again instanceof TestNet);
    await again[Symbol.asyncDispose]();
    await again[Symbol.asyncDispose]();
    assert.ok(!(await listNamespaces()).includes(again.host(1).name));
    // Remove the kept one the way the demo's --clean does.
    const { cleanupStale } = await import("./cleanup.ts");
    const removed = await cleanupStale(net.prefix);
    assert.ok(removed.includes(net.host(1).name) && removed.includes(net.switchName));
    assert.ok(removed.includes(net.tempDir));
  },
});

Deno.test({
  name: named("TestNet: killRouter kills the process listening on TCP 6783 of that host only"),
  ignore: !!skip,
  fn: async () => {
    await using net = await TestNet.create({ hosts: 2 });
    const listen = "for await (const c of Deno.listen({ port: 6783 })) c.close();";
    const fake = [Deno.execPath(), "eval", listen];
    const r1 = net.host(1).spawn(fake);
    const r2 = net.host(2).spawn(fake);
    for (const i of [1, 2]) {
      await waitFor(async () => (await net.routerPid(i)) !== undefined, {
        what: `the fake router of h${i} listening`,
        timeoutMs: 5000,
        intervalMs: 50,
      });
    }
    assert.equal(await net.routerPid(1), r1.pid);
    assert.equal(await net.killRouter(1), r1.pid);
    assert.equal((await r1.status).signal, "SIGKILL");
    assert.equal(await net.routerPid(1), undefined);
    assert.equal(await net.routerPid(2), r2.pid);
    await assert.rejects(net.killRouter(1), /no process listens on TCP 6783/);
  },
});

Deno.test("TestNet.create: rejects a bad host count, subnet or prefix before touching anything", {
  ignore: !!skip,
}, async () => {
  await assert.rejects(TestNet.create({ hosts: 0 }), RangeError);
  await assert.rejects(TestNet.create({ hosts: 2, subnet: "10.0" }), SyntaxError);
  await assert.rejects(TestNet.create({ hosts: 2, prefix: "Bad-Prefix" }), SyntaxError);
});
