/**
 * End to end, as a user runs it: three hosts (network namespaces on an underlay
 * bridge), `weave launch` in each, the CLI to look. Needs root; ignored otherwise.
 */
import assert from "node:assert/strict";
import { netnsSkipReason, TestNet, waitFor } from "./harness/netns.ts";

const skip = netnsSkipReason();
const E2E = { ignore: skip !== undefined, sanitizeOps: false, sanitizeResources: false };
const label = (name: string) => skip ? `${name} (ignored: ${skip})` : name;

async function status(net: TestNet, i: number, sub?: string): Promise<string> {
  const r = await net.weave(i, sub ? ["status", sub] : ["status"]);
  if (r.code !== 0) throw new Error(`weave status ${sub ?? ""} on h${i}: ${r.code} ${r.stderr}`);
  return r.stdout;
}

/** Launches h1 alone, h2 → h1, h3 → h2 (discovery has to add h1–h3). */
async function launchChain(net: TestNet, args: string[] = []): Promise<void> {
  await net.launch(1, { args });
  await net.launch(2, { args, peers: [net.host(1).ip] });
  await net.launch(3, { args, peers: [net.host(2).ip] });
}

async function waitForFullMesh(net: TestNet, hosts = [1, 2, 3]): Promise<void> {
  for (const i of hosts) {
    await waitFor(async () => {
      const s = await status(net, i);
      return (s.includes("Connections: 2 (2 established)")) || s;
    }, { what: `h${i}: Connections: 2 (2 established)`, timeoutMs: 30_000 });
  }
}

Deno.test({
  ...E2E,
  name: label("three hosts form a full mesh through discovery"),
  async fn() {
    await using net = await TestNet.create({ hosts: 3 });
    await launchChain(net);
    await waitForFullMesh(net);
    for (const i of [1, 2, 3]) {
      // Peers' topology updates are coalesced (1 s, as Weave): wait for everyone's view.
      await waitFor(async () => {
        const s = await status(net, i);
        return s.includes("Peers: 3 (with 6 established connections)") || s;
      }, { what: `h${i} to see all 6 connections established`, timeoutMs: 15_000 });
      const s = await status(net, i);
      assert.match(s, /^\n {8}Version: /, "a blank line comes first, as Weave's script prints");
      assert.match(s, / {11}Name: [0-9a-f:]{17}\(h\d\)\n/);
      assert.match(s, / {5}Encryption: disabled\n/);
      assert.match(s, / {10}Peers: 3 \(with 6 established connections\)\n/);
      const conns = await status(net, i, "connections");
      const lines = conns.trim().split("\n");
      assert.equal(lines.length, 2, conns);
      for (const line of lines) {
        assert.match(
          line,
          /^(->|<-) \S+ +established (fastdp|sleeve) [0-9a-f:]{17}\(h\d\) mtu=(1376|1438)( \(fastdp pending\))?$/,
        );
      }
      const peers = await status(net, i, "peers");
      assert.equal(peers.split("\n").filter((l) => /^[0-9a-f]{2}:/.test(l)).length, 3, peers);
    }
    const report = JSON.parse((await net.weave(1, ["report"])).stdout);
    assert.equal(report.Router.Peers.length, 3);
    assert.equal(report.Router.Connections.length, 2);
  },
});

Deno.test({
  ...E2E,
  name: label("with a password every connection is encrypted"),
  async fn() {
    await using net = await TestNet.create({ hosts: 3 });
    await launchChain(net, ["--password", "e2e-secret"]);
    await waitForFullMesh(net);
    for (const i of [1, 2, 3]) {
      assert.match(await status(net, i), / {5}Encryption: enabled\n/);
      const conns = (await status(net, i, "connections")).trim().split("\n");
      assert.equal(conns.length, 2);
      for (const line of conns) {
        assert.match(
          line,
          / established encrypted {3}sleeve \S+ encrypted=truemtu=1414 \(fastdp off: [^)]+\)$/,
        );
      }
    }
  },
});

Deno.test({
  ...E2E,
  name: label("with h1–h3 blocked all peers still know each other through h2"),
  async fn() {
    await using net = await TestNet.create({ hosts: 3 });
    await net.blockLink(1, 3);
    await launchChain(net);
    for (const i of [1, 2, 3]) {
      await waitFor(async () => {
        const s = await status(net, i, "peers");
        return (s.split("\n").filter((l) => /^[0-9a-f]{2}:/.test(l)).length === 3) || s;
      }, { what: `h${i} to know 3 peers`, timeoutMs: 30_000 });
    }
    await waitFor(async () => {
      const s = await status(net, 2);
      return (s.includes("Connections: 2 (2 established)")) || s;
    }, { what: "h2 connected to both", timeoutMs: 30_000 });
    // h1 learns h3's address from h2's gossip and dials it when its connection maker next runs,
    // which may come after h1 already knows all three peers: wait for that target to show.
    const toH3 = new RegExp(`-> ${net.host(3).ip.replaceAll(".", "\\.")}:6783 +\\w+`);
    let h1 = "";
    await waitFor(async () => {
      h1 = await status(net, 1, "connections");
      return toH3.test(h1) || h1;
    }, { what: "h1 to list its discovered target h3", timeoutMs: 30_000 });
    assert.match(h1, /established (fastdp|sleeve) \S+\(h2\)/);
    assert.doesNotMatch(h1, /established \w+ \S+\(h3\)/);
  },
});

Deno.test({
  ...E2E,
  name: label("connect and forget change the targets; a killed router rejoins"),
  async fn() {
    await using net = await TestNet.create({ hosts: 3 });
    await launchChain(net);
    await waitForFullMesh(net);
    assert.equal((await status(net, 3, "targets")).trim(), net.host(2).ip);
    assert.equal((await net.weave(3, ["connect", net.host(1).ip])).code, 0);
    assert.deepEqual(
      (await status(net, 3, "targets")).trim().split("\n").sort(),
      [net.host(1).ip, net.host(2).ip].sort(),
    );
    assert.equal((await net.weave(3, ["forget", net.host(1).ip, net.host(2).ip])).code, 0);
    assert.equal((await status(net, 3, "targets")).trim(), "");

    const before = JSON.parse((await net.weave(1, ["report"])).stdout);
    const oldUID = before.Router.Peers.find((p: { NickName: string }) => p.NickName === "h3").UID;
    await net.killRouter(3);
    await net.launch(3, { peers: [net.host(2).ip] });
    await waitForFullMesh(net);
    await waitFor(async () => {
      const r = await JSON.parse((await net.weave(1, ["report"])).stdout);
      return (r.Router.Peers.some((p: { NickName: string; UID: unknown }) =>
        p.NickName === "h3" && String(p.UID) !== String(oldUID)
      )) || r;
    }, { what: "h1 to see h3's new UID", timeoutMs: 15_000 });
  },
});

Deno.test({
  ...E2E,
  name: label("weave status answers clearly when no router runs, and stop works"),
  async fn() {
    await using net = await TestNet.create({ hosts: 1 });
    const r = await net.weave(1, ["status"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /weave is not running/);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, "no stack trace");
    await net.launch(1);
    const again = await net.weave(1, ["launch", "--db-prefix", net.host(1).dbPrefix]);
    assert.notEqual(again.code, 0, "refuses to start twice");
    const bad = await net.weave(1, ["status", "nonsense"]);
    assert.equal(bad.code, 4);
    assert.equal((await net.weave(1, ["stop"])).code, 0);
    assert.match((await net.weave(1, ["status"])).stderr, /weave is not running/);
  },
});
