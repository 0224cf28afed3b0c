/**
 * IPAM end to end: three hosts launched with `--ipalloc-init consensus=3`, containers
 * attached with no address get distinct addresses from 10.32.0.0/12, every host's
 * `weave status ipam` lists the three peers, and a restarted router keeps its
 * allocations; addresses given by hand (`ip:<cidr>`) are claimed, so automatic ones never
 * repeat them; `weave rmpeer` of a dead host makes its range usable again. Needs root;
 * ignored otherwise.
 */
import assert from "node:assert/strict";
import { formatIPv4, parseIPv4 } from "../lib/cidr.ts";
import { netnsSkipReason, TestNet, waitFor } from "./harness/netns.ts";

const skip = netnsSkipReason();
const label = (name: string) => skip ? `${name} (ignored: ${skip})` : name;

/** The address after `ip`. */
const next = (ip: string) => formatIPv4(parseIPv4(ip) + 1);

/** Runs `weave attach [addrs] <container>` on host `i`; returns the result with trimmed stdout. */
async function attach(net: TestNet, i: number, container: string, addrs: string[] = []) {
  const r = await net.weave(i, ["attach", ...addrs, container], { timeoutMs: 40_000 });
  return { ...r, ip: r.stdout.trim() };
}

/** `GET <path>` on host `i`'s control API (127.0.0.1:6784 in its namespace): status and body. */
async function apiGet(net: TestNet, i: number, path: string): Promise<string> {
  const script = `const r = await fetch("http://127.0.0.1:6784${path}");` +
    `console.log(r.status + " " + await r.text());`;
  const r = await net.host(i).exec([Deno.execPath(), "eval", script]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

/** Waits until a container pings `ip`. */
async function waitPing(net: TestNet, from: string, ip: string): Promise<void> {
  await waitFor(async () => {
    const r = await net.inContainer(from, ["ping", "-c", "1", "-W", "1", ip]);
    return r.code === 0 || r.stdout + r.stderr;
  }, { what: `${from} to ping ${ip}`, timeoutMs: 20_000 });
}

Deno.test({
  name: label("consensus=3: automatic addresses are distinct and survive a kill -9"),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 3 });
    await launchConsensus3(net);
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
    await net.launch(2, { args: CONSENSUS3, peers: [net.host(1).ip] });
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
  name: label("consensus=3: an ip: address claimed on h1 is never allocated, shows as owned"),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 3 });
    await launchConsensus3(net);
    const [c11, c12, c13, c14] = [
      await net.container(1, 1),
      await net.container(1, 2),
      await net.container(1, 3),
      await net.container(1, 4),
    ];
    const first1 = await attach(net, 1, c11);
    assert.equal(first1.code, 0, first1.stderr);
    const c21 = await net.container(2, 1);
    const first2 = await attach(net, 2, c21);
    assert.equal(first2.code, 0, first2.stderr);

    // Claim on h1 the address each of h1 and h2 would allocate next; h2's is asked of h2.
    const mine = next(first1.ip);
    const theirs = next(first2.ip);
    assert.deepEqual(
      await attach(net, 1, c12, [`ip:${mine}/12`]).then((r) => r.stdout),
      `${mine}\n`,
    );
    assert.deepEqual(
      await attach(net, 1, c13, [`${theirs}/12`]).then((r) => r.stdout),
      `${theirs}\n`,
    );
    const local = await attach(net, 1, c14, [`ip:${first1.ip}/12`]);
    assert.equal(local.code, 1);
    assert.equal(
      local.stderr,
      `Unable to claim: address ${first1.ip} is already owned by ${c11}\n`,
    );
    const remote = await attach(net, 1, c14, [`ip:${first2.ip}/12`]);
    assert.equal(remote.code, 1);
    assert.match(
      remote.stderr,
      new RegExp(
        `^Unable to claim: address ${first2.ip} is owned by other peer [0-9a-f:]{17} \\(h2\\)\n$`,
      ),
    );

    // Automatic addresses on every host skip the claimed ones.
    const auto = [
      await attach(net, 1, c14),
      await attach(net, 2, await net.container(2, 2)),
      await attach(net, 3, await net.container(3, 1)),
    ];
    for (const r of auto) assert.equal(r.code, 0, r.stderr);
    const all = [first1.ip, first2.ip, mine, theirs, ...auto.map((r) => r.ip)];
    assert.equal(new Set(all).size, all.length, `distinct: ${all}`);

    assert.equal(await apiGet(net, 1, `/ip/${c12}`), `200 ${mine}/12`);
    assert.equal(await apiGet(net, 1, `/ip/${c13}`), `200 ${theirs}/12`);
    const ipam = (await net.weave(1, ["status", "ipam"])).stdout;
    assert.match(ipam.split("\n")[0], /\(h1\) .* \(4 active\)$/, ipam);

    // detach releases the claim: the address is h1's lowest free one again.
    assert.equal((await net.weave(1, ["detach", c12])).stdout, `${mine}\n`);
    assert.equal(await apiGet(net, 1, `/ip/${c12}`), "200");
    const reused = await attach(net, 1, await net.container(1, 5));
    assert.equal(reused.ip, mine, reused.stderr);
  },
});

Deno.test({
  name: label(
    "rmpeer takes over a dead host's range, which is then reused; an observer alone never reaches consensus",
  ),
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
    const second = await attach(net, 2, c2);
    assert.equal(second.code, 0, second.stderr);
    // An address of h2's range, which only h2 may hand out while it lives.
    const ofH2 = second.ip;
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
    const c1b = await net.container(1, 2);
    const refused = await attach(net, 1, c1b, [`ip:${ofH2}/12`]);
    assert.equal(refused.code, 1, "the dead host's range is not ours yet");
    assert.equal(
      refused.stderr,
      `Unable to claim: address ${ofH2} is owned by other peer ${h2Name} (h2)\n`,
    );
    const rm = await net.weave(1, ["rmpeer", h2Name]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.match(rm.stdout, new RegExp(`^\\d+ IPs taken over from ${h2Name}`));
    const taken = Number(rm.stdout.split(" ")[0]);
    assert.ok(taken > 0, rm.stdout);

    // h2's range is reused: h1 claims h2's old address (once the takeover hold of two IPAM
    // ticks ends), while the observer h3 attaches a container of its own.
    const c3 = await net.container(3, 1);
    const [reused, third] = await Promise.all([
      attach(net, 1, c1b, [`ip:${ofH2}/12`]),
      attach(net, 3, c3),
      waitFor(async () => {
        const s = (await net.weave(1, ["status", "ipam"])).stdout;
        return !s.includes(h2Name) || s;
      }, { what: "h2 to disappear from h1's ipam status", timeoutMs: 10_000 }),
    ]);
    assert.equal(reused.code, 0, reused.stderr);
    assert.equal(reused.ip, ofH2);
    assert.equal(third.code, 0, third.stderr);
    assert.notEqual(third.ip, ofH2);
    await waitPing(net, c3, ofH2);
    await waitPing(net, c1b, third.ip);
  },
});

/** Three routers with `consensus=3` on sleeve: h1 alone, h2 naming h1, h3 naming h2. */
async function launchConsensus3(net: TestNet): Promise<void> {
  await net.launch(1, { args: CONSENSUS3 });
  await net.launch(2, { args: CONSENSUS3, peers: [net.host(1).ip] });
  await net.launch(3, { args: CONSENSUS3, peers: [net.host(2).ip] });
}

/** The router flags of {@link launchConsensus3}. */
const CONSENSUS3 = ["--ipalloc-init", "consensus=3", "--no-fastdp"];
