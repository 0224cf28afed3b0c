import assert from "node:assert/strict";
import { memoryLogger } from "../lib/log.ts";
import { ensureBridge, randomLocalMac, removeBridge } from "./bridge.ts";
import { FakeKernel } from "./fake_kernel.ts";

Deno.test("ensureBridge creates an up bridge with the MTU and a fixed MAC", () => {
  const { host } = new FakeKernel();
  const got = ensureBridge(host, { mtu: 1410 });
  const link = host.link("weave")!;
  assert.deepEqual(got, { index: link.index, mac: link.address, created: true, repaired: [] });
  assert.deepEqual([link.kind, link.mtu, link.up], ["bridge", 1410, true]);
  // The MTU is changed away and back once, so that ports do not move it (see pinMtu).
  assert.deepEqual(host.changes().map((op) => op.split(" ").slice(0, 2).join(" ")), [
    "add bridge",
    "set MTU",
    "set MTU",
    "bring up",
  ]);
});

Deno.test("ensureBridge adopts a compatible bridge without any change", () => {
  const { host } = new FakeKernel();
  const first = ensureBridge(host, {});
  host.ops = [];
  assert.deepEqual(ensureBridge(host, {}), { ...first, created: false });
  assert.deepEqual(host.changes(), []);
});

Deno.test("ensureBridge repairs MTU and up state and logs it", () => {
  const { host } = new FakeKernel();
  const old = host.addLink({ name: "weave", kind: "bridge", mtu: 1500, up: false });
  const log = memoryLogger();
  const got = ensureBridge(host, { mtu: 1376, log });
  assert.deepEqual(got, {
    index: old.index,
    mac: old.address,
    created: false,
    repaired: ["MTU 1500 -> 1376", "brought up"],
  });
  assert.deepEqual([old.mtu, old.up], [1376, true]);
  assert.equal(log.lines.filter((l) => l.includes("repaired")).length, 2);
});

Deno.test("ensureBridge replaces a link of another kind", () => {
  const { host } = new FakeKernel();
  const squatter = host.addLink({ name: "weave", kind: "openvswitch", mtu: 1376, up: true });
  const got = ensureBridge(host, {});
  assert.equal(got.created, true);
  assert.deepEqual(got.repaired, ['replaced openvswitch link "weave" with a bridge']);
  assert.notEqual(got.index, squatter.index);
  assert.equal(host.link("weave")!.kind, "bridge");
});

Deno.test("ensureBridge rejects an impossible MTU before touching anything", () => {
  const { host } = new FakeKernel();
  for (const mtu of [0, 575, 65536, 1376.5]) {
    assert.throws(() => ensureBridge(host, { mtu }), RangeError);
  }
  assert.deepEqual(host.ops, []);
});

Deno.test("removeBridge removes the bridge and vethwe* links, and forgives what is gone", () => {
  const { host } = new FakeKernel();
  ensureBridge(host, {});
  host.addLink({ name: "vethwepl1234567", kind: "veth" });
  host.addLink({ name: "eth0", kind: "veth" });
  assert.deepEqual(removeBridge(host), ["weave", "vethwepl1234567"]);
  assert.deepEqual(host.links.map((l) => l.name), ["lo", "eth0"]);
  assert.deepEqual(removeBridge(host), []);
});

Deno.test("randomLocalMac is unicast and locally administered", () => {
  for (let i = 0; i < 50; i++) {
    const mac = randomLocalMac();
    assert.match(mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    assert.equal(parseInt(mac.slice(0, 2), 16) & 3, 2);
  }
});
