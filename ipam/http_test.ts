import assert from "node:assert/strict";
import { FakeRouterOps } from "../api/fake_ops.ts";
import { renderIpam, renderStatus } from "../api/render_status.ts";
import { loadReport, readSample } from "../api/_samples.ts";
import { createApiHandler } from "../api/server.ts";
import { discardLogger } from "../lib/log.ts";
import { Allocator } from "./allocator.ts";
import { FakeMesh } from "./fake_mesh.ts";
import { FakeStore } from "./fake_store.ts";
import { parseTimeout } from "./http.ts";

const H1 = 0x020000000001n;
const H2 = 0x020000000002n;

async function setup(init = "consensus=1") {
  const mesh = new FakeMesh();
  const alloc = new Allocator({
    ourName: H1,
    ourUID: 1n,
    nickName: "h1",
    range: "10.32.0.0/12",
    init,
    store: new FakeStore(),
    log: discardLogger,
    peers: mesh.peersOf(H1),
    tickMs: 0,
  });
  alloc.register(mesh.join(H1, "h1"));
  await alloc.start();
  const ops = new FakeRouterOps(loadReport("plain", "h1"));
  ops.routes = alloc.routes();
  const handler = createApiHandler(ops, "control", { log: discardLogger });
  const call = async (method: string, path: string, init: RequestInit = {}) => {
    const res = await handler(new Request(`http://x${path}`, { method, ...init }));
    return { status: res.status, body: await res.text() };
  };
  return { alloc, call, mesh, ops };
}

Deno.test("IPAM HTTP: allocate, look up, claim, free and delete", async () => {
  const { alloc, call } = await setup();
  assert.deepEqual(await call("POST", "/ip/c1"), { status: 200, body: "10.32.0.1/12" });
  assert.deepEqual(await call("POST", "/ip/c1"), { status: 200, body: "10.32.0.1/12" });
  assert.deepEqual(await call("POST", "/ip/c2/10.33.0.0/16"), {
    status: 200,
    body: "10.33.0.1/16",
  });
  assert.deepEqual(await call("GET", "/ip/c1"), { status: 200, body: "10.32.0.1/12" });
  assert.deepEqual(await call("GET", "/ip/c2/10.33.0.0/16"), { status: 200, body: "10.33.0.1/16" });
  assert.deepEqual(await call("PUT", "/ip/c3/10.32.5.5/12"), { status: 204, body: "" });
  assert.deepEqual(await call("PUT", "/ip/c4/10.32.5.6"), { status: 204, body: "" });
  const dup = await call("PUT", "/ip/c9/10.32.5.5/12");
  assert.deepEqual(dup, {
    status: 400,
    body: "Unable to claim: address 10.32.5.5 is already owned by c3\n",
  });
  const owned = JSON.parse((await call("GET", "/ip")).body);
  assert.deepEqual(owned.owned.find((o: { containerid: string }) => o.containerid === "c3"), {
    containerid: "c3",
    addrs: ["10.32.5.5/12"],
  });
  assert.deepEqual(await call("DELETE", "/ip/c3/10.32.5.5"), { status: 204, body: "" });
  assert.deepEqual(await call("DELETE", "/ip/c3/10.32.5.5"), {
    status: 400,
    body: "Unable to free: Free: address 10.32.5.5 not found for c3\n",
  });
  assert.deepEqual(await call("DELETE", "/ip/c1"), { status: 204, body: "" });
  assert.deepEqual(await call("DELETE", "/ip/c1"), {
    status: 400,
    body: "Delete: no addresses for c1\n",
  });
  assert.equal((await call("POST", "/ip/c5/10.32.0.1/12")).status, 400); // host bits set
  assert.deepEqual(await call("POST", "/ip/c5/10.32.0.0/31"), {
    status: 400,
    body: "invalid subnet - smaller than minimum size 4: 10.32.0.0/31\n",
  });
  assert.deepEqual(await call("GET", "/ipinfo/defaultsubnet"), {
    status: 200,
    body: "10.32.0.0/12",
  });
  assert.deepEqual(await call("GET", "/ipinfo/tracker"), { status: 200, body: "" });
  assert.deepEqual(await call("GET", "/ring"), { status: 200, body: "" });
  assert.equal((await call("PATCH", "/ip/c1")).status, 405);
  alloc.stop();
});

Deno.test("IPAM HTTP: a waiting call explains itself on timeout and answers `cancelled` when the client leaves", async () => {
  const { alloc, call } = await setup("consensus=3");
  assert.deepEqual(await call("GET", "/ring?timeout=20ms"), {
    status: 503,
    body:
      "Cannot prime: no answer within 20ms; IPAM status: awaiting consensus (quorum: 2, known: 1)\n",
  });
  const ctl = new AbortController();
  const waiting = call("POST", "/ip/c1", { signal: ctl.signal });
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(alloc.report().PendingAllocates, ["c1 10.32.0.0/12"]);
  ctl.abort();
  assert.deepEqual(await waiting, { status: 200, body: "cancelled" });
  assert.equal(alloc.report().PendingAllocates, null);
  assert.equal((await call("GET", "/ring?timeout=soon")).status, 400);
  alloc.stop();
});

Deno.test("IPAM HTTP: rmpeer and peer shutdown", async () => {
  const { alloc, call, mesh } = await setup("seed=02:00:00:00:00:01,02:00:00:00:00:02");
  const h2 = new Allocator({
    ourName: H2,
    ourUID: 2n,
    nickName: "h2",
    range: "10.32.0.0/12",
    init: "seed=02:00:00:00:00:01,02:00:00:00:00:02",
    store: new FakeStore(),
    log: discardLogger,
    peers: mesh.peersOf(H2),
    tickMs: 0,
  });
  h2.register(mesh.join(H2, "h2"));
  await h2.start();
  mesh.gossipAll();
  await mesh.deliverAll();
  assert.deepEqual(await call("DELETE", "/peer/nobody"), {
    status: 200,
    body: "0 IPs taken over from nobody\n",
  });
  assert.deepEqual(await call("DELETE", "/peer/h2"), {
    status: 200,
    body: "524288 IPs taken over from h2\n",
  });
  await mesh.deliverAll();
  assert.deepEqual(await call("DELETE", "/peer"), { status: 204, body: "" });
  await mesh.deliverAll();
  for (const a of [alloc, h2]) {
    assert.ok(a.report().Entries.every((e) => e.Peer === "02:00:00:00:00:02"));
  }
  assert.deepEqual(await call("POST", "/ip/c1"), { status: 200, body: "cancelled" });
  assert.deepEqual(mesh.errors, []);
  alloc.stop();
  h2.stop();
});

Deno.test("IPAM report: renderIpam of a two-peer ring matches Weave's sample layout", async () => {
  const { alloc } = await setup("seed=02:00:00:00:00:01,02:00:00:00:00:02");
  await alloc.allocate("c1");
  const report = loadReport("plain", "h1");
  const ipam = alloc.report();
  // h2 is known to the sample's router; our fake mesh knows it under its nickname only via gossip.
  ipam.Entries = ipam.Entries.map((e) => ({
    ...e,
    Nickname: e.Nickname || "h2",
    IsKnownPeer: true,
  }));
  report.IPAM = ipam;
  assert.equal(renderIpam(report), readSample("plain", "h1-status_ipam.txt"));
  assert.match(renderStatus(report), /\n {9}Status: ready\n {10}Range: 10\.32\.0\.0\/12\n/);
  assert.equal(ipam.RangeNumIPs, 1048576);
  assert.equal(ipam.ActiveIPs, 1);
  assert.equal(ipam.Paxos, null);
  alloc.stop();
});

Deno.test("parseTimeout: units and refusals", () => {
  assert.equal(parseTimeout(null), undefined);
  assert.equal(parseTimeout("30"), 30_000);
  assert.equal(parseTimeout("1.5s"), 1500);
  assert.equal(parseTimeout("250ms"), 250);
  assert.equal(parseTimeout("2m"), 120_000);
  assert.throws(() => parseTimeout("-1"), /invalid timeout/);
  assert.throws(() => parseTimeout("1h"), /invalid timeout/);
});
