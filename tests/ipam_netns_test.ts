/**
 * IPAM end to end: three hosts launched with `--ipalloc-init consensus=3`, containers
 * attached with no address get distinct addresses from 10.32.0.0/12, every host's
 * `weave status ipam` lists the three peers, and a restarted router keeps its
 * allocations. Needs root; ignored otherwise.
 */
import assert from "node:assert/strict";
import { netnsSkipReason, TestNet, waitFor } from "./harness/netns.ts";

const skip = netnsSkipReason();
const label = (name: string) => skip ? `${name} (ignored: ${skip})` : name;

Deno.test({
  name: label("consensus=3: automatic addresses are distinct and survive a kill -9"),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 3 });
    const args = ["--ipalloc-init", "consensus=3", "--no-fastdp"];
    await net.launch(1, { args });
    await net.launch(2, { args, peers: [net.host(1).ip] });
    await net.launch(3, { args, peers: [net.host(2).ip] });
    const addrs: string[] = [];
    const containers: string[] = [];
    for (const i of [1, 2, 3]) {
      const c = await net.container(i, 1);
      const r = await net.weave(i, ["attach", c], { timeoutMs: 40_000 });
      assert.equal(r.code, 0, `attach on h${i}: ${r.stdout}${r.stderr}`);
      const ip = r.stdout.trim();
      assert.match(ip, /^10\.(3[2-9]|4[0-7])\.\d+\.\d+$/, `h${i} got ${ip}`);
      addrs.push(ip);
      containers.push(c);
    }
    assert.equal(new Set(addrs).size, 3, `distinct: ${addrs}`);
    for (const i of [1, 2, 3]) {
      await waitFor(async () => {
        const s = (await net.weave(i, ["status", "ipam"])).stdout;
        return s.trim().split("\n").length === 3 || s;
      }, { what: `h${i}'s ipam status to list 3 peers`, timeoutMs: 10_000 });
      const status = (await net.weave(i, ["status"])).stdout;
      assert.match(status, / {9}Status: ready\n/);
      assert.match(status, / {10}Range: 10\.32\.0\.0\/12\n/);
    }
    // kill -9 and relaunch h2: its container keeps its address; new allocations differ.
    await net.killRouter(2);
    await net.launch(2, { args, peers: [net.host(1).ip] });
    const again = await net.weave(2, ["attach", containers[1]], { timeoutMs: 20_000 });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.trim(), addrs[1], "same address after restart");
    const c2 = await net.container(2, 2);
    const fresh = await net.weave(2, ["attach", c2], { timeoutMs: 20_000 });
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.ok(!addrs.includes(fresh.stdout.trim()), `no duplicate: ${fresh.stdout}`);
  },
});

Deno.test({
  name: label("rmpeer takes over a dead host's range; an observer alone never reaches consensus"),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 3 });
    const args = ["--ipalloc-init", "consensus=2", "--no-fastdp"];
    // h3 is an observer: alone it cannot start consensus.
    await net.launch(3, { args: ["--ipalloc-init", "observer", "--no-fastdp"] });
    const lone = await net.weave(3, ["status", "ipam"]);
    assert.equal(lone.code, 0);
    const waiting = await net.weave(3, ["prime", "--timeout", "2s"], { timeoutMs: 10_000 });
    assert.notEqual(waiting.code, 0, "an observer alone never reaches consensus");
    assert.doesNotMatch((await net.weave(3, ["status"])).stdout, / {9}Status: ready\n/);

    await net.launch(1, { args });
    await net.launch(2, { args, peers: [net.host(1).ip] });
    await net.weave(3, ["connect", net.host(1).ip]);
    const c1 = await net.container(1, 1);
    const first = await net.weave(1, ["attach", c1], { timeoutMs: 30_000 });
    assert.equal(first.code, 0, first.stderr);
    const c2 = await net.container(2, 1);
    assert.equal((await net.weave(2, ["attach", c2], { timeoutMs: 30_000 })).code, 0);
    await waitFor(async () => {
      const s = (await net.weave(3, ["status"])).stdout;
      return / {9}Status: ready\n/.test(s) || s;
    }, { what: "the observer to get the ring", timeoutMs: 20_000 });

    // h2 dies for good; h1 takes over its range.
    const h2Name = JSON.parse((await net.weave(2, ["report"])).stdout).Router.Name;
    await net.killRouter(2);
    await waitFor(async () => {
      const s = (await net.weave(1, ["status", "ipam"])).stdout;
      return s.includes("unreachable") || s;
    }, { what: "h1 to see h2's range as unreachable", timeoutMs: 20_000 });
    const rm = await net.weave(1, ["rmpeer", h2Name]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.match(rm.stdout, new RegExp(`^\\d+ IPs taken over from ${h2Name}`));
    const taken = Number(rm.stdout.split(" ")[0]);
    assert.ok(taken > 0, rm.stdout);
    await waitFor(async () => {
      const s = (await net.weave(1, ["status", "ipam"])).stdout;
      return !s.includes(h2Name) || s;
    }, { what: "h2 to disappear from h1's ipam status", timeoutMs: 10_000 });
  },
});
