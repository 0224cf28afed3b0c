/**
 * The control API of a live MeshRouter attacked through `POST /connect`: the
 * targets are bounded and validated, and the API keeps answering other calls
 * while the targets it accepted are being dialled.
 */
import assert from "node:assert/strict";
import { FakeRouterOps } from "../api/fake_ops.ts";
import { ApiError } from "../api/ops.ts";
import { startApiServers } from "../api/server.ts";
import { loadReport } from "../api/_samples.ts";
import { discardLogger, memoryLogger } from "../lib/log.ts";
import { MAX_DIRECT_PEERS } from "../mesh/connection_maker.ts";
import { NullOverlay } from "../mesh/overlay.ts";
import { MeshRouter } from "../mesh/router.ts";

/** A router on 127.0.0.1 whose API's connect is the mesh's, as the weaver wires it. */
async function routerWithApi() {
  const log = memoryLogger("info");
  const mesh = new MeshRouter({
    name: 0x020000000001n,
    nickName: "victim",
    port: 0,
    host: "127.0.0.1",
    connLimit: 200,
    discovery: false,
    overlay: new NullOverlay(),
    log,
  });
  mesh.start();
  const ops = new FakeRouterOps(loadReport("plain", "h1"));
  ops.connect = (peers, replace) => {
    const errors = mesh.connectionMaker.initiateConnections(peers, replace);
    if (errors.length) throw new ApiError(400, errors.map((e) => e.message).join("\n"));
  };
  ops.routes = [{
    method: "DELETE",
    pattern: /^\/peer$/,
    scope: "control",
    handle: () => new Response(null, { status: 204 }),
  }];
  const servers = await startApiServers(ops, { httpAddr: "127.0.0.1:0", log: discardLogger });
  const url = (path: string) => `http://${servers.addresses.http}${path}`;
  const connect = async (peers: string[]) => {
    const body = new URLSearchParams(peers.map((p) => ["peer", p]));
    const res = await fetch(url("/connect"), { method: "POST", body });
    return { status: res.status, body: await res.text() };
  };
  return {
    mesh,
    log,
    url,
    connect,
    async [Symbol.asyncDispose]() {
      mesh.stop();
      await servers.close();
    },
  };
}

/** Targets on 127.x.y.z, port 9 (not listened on): refused at once, never leaving the host. */
function loopbackTargets(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `127.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}:9`);
}

Deno.test("api hostile: POST /connect of 3000 targets is refused naming the bound, none added", async () => {
  await using r = await routerWithApi();
  const res = await r.connect(loopbackTargets(3_000));
  assert.equal(res.status, 400);
  assert.match(res.body, new RegExp(`Cannot add 3000 peers: .*the limit is ${MAX_DIRECT_PEERS}`));
  assert.deepEqual(r.mesh.connectionMaker.directPeers(), []);
  assert.deepEqual(r.mesh.connectionMaker.status(), []);
});

Deno.test("api hostile: POST /connect refuses NUL, 0xff and shell junk; dials only the good one", async () => {
  await using r = await routerWithApi();
  const form = "peer=%00%ff&peer=%3Brm%20-rf%20%2F&peer=127.0.0.9:9";
  const res = await fetch(r.url("/connect"), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: form,
  });
  const body = await res.text();
  assert.equal(res.status, 400);
  assert.match(body, /^Cannot parse peer address "\\u0000\ufffd": expected a host name/m);
  assert.match(body, /^Cannot parse peer address ";rm -rf \/": expected a host name/m);
  assert.deepEqual(r.mesh.connectionMaker.directPeers(), ["127.0.0.9:9"]);
  // deno-lint-ignore no-control-regex
  assert.ok(r.log.lines.every((l) => !/[\x00-\x08\x0a-\x1f]/.test(l)), "log lines are text");
});

Deno.test("api hostile: the API answers at once while the bound's worth of targets is dialled", async () => {
  await using r = await routerWithApi();
  assert.deepEqual(await r.connect(loopbackTargets(MAX_DIRECT_PEERS)), { status: 200, body: "" });
  const slowest = { ms: 0 };
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    const res = await fetch(r.url("/peer"), { method: "DELETE" });
    await res.body?.cancel();
    assert.equal(res.status, 204);
    slowest.ms = Math.max(slowest.ms, performance.now() - started);
    await new Promise((done) => setTimeout(done, 50));
  }
  // Not a benchmark: 2 s is what the hostile probe saw go unanswered.
  assert.ok(slowest.ms < 2_000, `slowest DELETE /peer took ${slowest.ms.toFixed(0)} ms`);
  assert.ok(
    r.log.lines.some((l) => /->\[127\.1\.\d+\.\d+:9\] error during connection attempt/.test(l)),
  );
});
