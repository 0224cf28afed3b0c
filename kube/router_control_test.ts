import assert from "node:assert/strict";
import { loadReport } from "../api/_samples.ts";
import { FakeRouterOps } from "../api/fake_ops.ts";
import { startApiServers } from "../api/server.ts";
import { discardLogger } from "../lib/log.ts";
import { httpRouterControl } from "./router_control.ts";

Deno.test("httpRouterControl: ready, peer name, connect with replace, errors named", async () => {
  const ops = new FakeRouterOps(loadReport("3host", "h1"));
  const servers = await startApiServers(ops, { httpAddr: "127.0.0.1:0", log: discardLogger });
  try {
    const router = httpRouterControl(servers.addresses.http!);
    assert.equal(await router.ready(), true);
    assert.equal(await router.peerName(), ops.report().Router.Name);
    await router.connect(["192.0.2.2", "192.0.2.3"]);
    assert.deepEqual(ops.calls.at(-1), {
      op: "connect",
      peers: ["192.0.2.2", "192.0.2.3"],
      replace: true,
    });
    // This fake router has no IPAM routes: the failure names the call and the answer.
    await assert.rejects(
      router.rmpeer("02:00:00:00:00:09"),
      /^Error: Router rmpeer 02:00:00:00:00:09: 404/,
    );
  } finally {
    await servers.close();
  }
  assert.equal(await httpRouterControl("127.0.0.1:1").ready(), false);
});
