// startWeaver's teardown stack, in a host namespace: a failure before any start step closes
// everything the earlier steps opened (descriptors, the capture TAP, listening sockets), and a
// router that started and stops leaves nothing open either. Each run is its own process
// (_start_fault_child.ts) inside the namespace.
import assert from "node:assert/strict";
import { netnsSkipReason, REPO_ROOT, TestNet } from "../tests/harness/netns.ts";
import type { FaultRun } from "./_start_fault_child.ts";
import { START_STEPS } from "./weaver.ts";

const skip = netnsSkipReason();
const CHILD = `${REPO_ROOT}router/_start_fault_child.ts`;

async function run(net: TestNet, step: string, flags: string[] = []): Promise<FaultRun> {
  const h = net.host(1);
  const db = `${h.dbPrefix}${step}-`;
  const r = await h.exec([Deno.execPath(), "run", "-A", CHILD, step, db, ...flags], {
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, `child for "${step}" failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

Deno.test({
  name: `startWeaver closes exactly what was opened when any start step fails${
    skip ? ` (ignored: ${skip})` : ""
  }`,
  ignore: skip !== undefined,
  async fn() {
    await using net = await TestNet.create({ hosts: 1 });
    for (const step of START_STEPS) {
      const r = await run(net, step);
      assert.equal(r.error, `injected failure before step "${step}"`);
      assert.ok(r.during, `step "${step}" was reached`);
      assert.deepEqual(r.after, r.before, `nothing left open after a failure before "${step}"`);
      if (step !== "netlink") {
        assert.ok(r.during.fds.length > r.before.fds.length, `"${step}": earlier steps opened fds`);
      }
      if (START_STEPS.indexOf(step) > START_STEPS.indexOf("capture")) {
        assert.ok(r.during.links.includes("vethwe-pcap"), `"${step}": the TAP was up`);
      }
      if (START_STEPS.indexOf(step) > START_STEPS.indexOf("mesh")) {
        assert.ok(r.during.sockets.length > r.before.sockets.length, `"${step}": it listened`);
      }
    }
    const ok = await run(net, "ok");
    assert.equal(ok.error, undefined);
    assert.ok(ok.during!.links.includes("vethwe-pcap"));
    assert.deepEqual(ok.after, ok.before, "a router that stops leaves nothing open");
  },
});
