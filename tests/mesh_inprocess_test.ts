/**
 * Ten mesh routers in one process, on loopback addresses 127.0.0.1–10 sharing
 * one port (so discovery's "same port" rule holds), with the NullOverlay.
 * Router i is told only about router i−1; discovery must complete the mesh.
 */
import assert from "node:assert/strict";
import { discardLogger } from "../lib/log.ts";
import { MeshRouter } from "../mesh/router.ts";
import { NullOverlay } from "../mesh/overlay.ts";
import { HeldPort } from "./harness/loopback.ts";
import { waitUntil } from "./harness/wait.ts";

const waitFor = (what: string, ok: () => boolean, timeoutMs = 20_000) =>
  waitUntil(what, ok, timeoutMs, 50);

Deno.test("ten in-process routers converge to one full-mesh topology", async () => {
  const n = 10;
  const hosts = Array.from({ length: n }, (_, i) => `127.0.0.${i + 1}`);
  using held = HeldPort.on(hosts);
  const port = held.port;
  const routers = hosts.map((host, i) =>
    new MeshRouter({
      name: BigInt(0x020000000000 + i + 1),
      nickName: `r${i + 1}`,
      port,
      host,
      listener: held.take(host),
      connLimit: 200,
      discovery: true,
      overlay: new NullOverlay(),
      log: discardLogger,
      topologyDeferMs: 50,
    })
  );
  try {
    for (const r of routers) r.start();
    routers.forEach((r, i) => {
      if (i > 0) r.connectionMaker.initiateConnections([`${hosts[i - 1]}:${port}`], false);
    });
    await waitFor(
      "every router to know every peer",
      () => routers.every((r) => r.peers.size === n),
    );
    await waitFor(
      "every router to hold n-1 established connections",
      () => routers.every((r) => r.connections().filter((c) => c.established).length === n - 1),
    );
    await waitFor(
      "every router to see every peer with n-1 connections",
      () => routers.every((r) => r.peers.all().every((p) => p.connections.size === n - 1)),
    );
    // Routes are recomputed at most every peers²/10 ms after a change (as Go, asynchronously).
    await waitFor(
      "every router to have a data route to each peer",
      () => routers.every((r) => routers.every((o) => r.routes.unicast(o.ourName) !== undefined)),
    );
    // Everyone agrees on every peer's version and UID.
    const view = (r: MeshRouter) => r.peers.all().map((p) => `${p.name}:${p.uid}`).sort().join(",");
    assert.equal(new Set(routers.map(view)).size, 1);
  } finally {
    for (const r of routers) r.stop();
    await new Promise((r) => setTimeout(r, 50));
  }
});
