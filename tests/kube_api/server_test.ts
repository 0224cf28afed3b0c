// The stand-in API server, driven through weave's own client (kube/client.ts).
import assert from "node:assert/strict";
import { KubeApiError, KubeClient, type KubeObject } from "../../kube/client.ts";
import { StandInApi } from "./server.ts";

const CM = "/api/v1/namespaces/kube-system/configmaps";

function node(name: string, ip: string): KubeObject {
  return { metadata: { name }, status: { addresses: [{ type: "InternalIP", address: ip }] } };
}

async function rejectsWith(p: Promise<unknown>, code: number, reason: string) {
  await assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof KubeApiError, String(e));
    assert.deepEqual([e.code, e.reason], [code, reason]);
    return true;
  });
}

Deno.test("stand-in API: bearer token required", async () => {
  await using api = StandInApi.create();
  const bad = new KubeClient({ server: api.url, token: "wrong" });
  await rejectsWith(bad.list("/api/v1/nodes"), 401, "Unauthorized");
  const none = new KubeClient({ server: api.url });
  await rejectsWith(none.get("/version" as never), 401, "Unauthorized");
  const ok = new KubeClient({ server: api.url, token: "test-token" });
  assert.equal((await ok.list("/api/v1/nodes")).items.length, 0);
});

Deno.test("stand-in API: create, get, list, update with optimistic concurrency, delete", async () => {
  await using api = StandInApi.create();
  const kube = new KubeClient({ server: api.url, token: "test-token" });
  const created = await kube.create<KubeObject>(CM, { metadata: { name: "weave-net" } });
  assert.equal(created.metadata.namespace, "kube-system");
  assert.equal(created.kind, "ConfigMap");
  await rejectsWith(kube.create(CM, { metadata: { name: "weave-net" } }), 409, "AlreadyExists");
  const a = await kube.get(`${CM}/weave-net`);
  a.metadata.annotations = { k: "1" };
  const b = await kube.update(`${CM}/weave-net`, a);
  assert.ok(Number(b.metadata.resourceVersion) > Number(a.metadata.resourceVersion));
  // The same stale object again: 409 Conflict, and nothing changed.
  a.metadata.annotations = { k: "2" };
  await assert.rejects(kube.update(`${CM}/weave-net`, a), (e: KubeApiError) => e.isConflict);
  assert.deepEqual((await kube.get(`${CM}/weave-net`)).metadata.annotations, { k: "1" });
  const list = await kube.list(CM);
  assert.deepEqual(list.items.map((i) => i.metadata.name), ["weave-net"]);
  assert.equal(list.metadata.resourceVersion, b.metadata.resourceVersion);
  await kube.request("DELETE", `${CM}/weave-net`);
  await rejectsWith(kube.get(`${CM}/weave-net`), 404, "NotFound");
  await rejectsWith(kube.get("/api/v1/namespaces/x/nodes/n"), 404, "NotFound");
});

Deno.test("stand-in API: strategic merge patch merges node conditions by type", async () => {
  await using api = StandInApi.create();
  const kube = new KubeClient({ server: api.url, token: "test-token" });
  api.store.create("nodes", undefined, {
    metadata: { name: "n1" },
    status: {
      conditions: [{ type: "Ready", status: "True" }, {
        type: "NetworkUnavailable",
        status: "True",
      }],
    },
  });
  const patched = await kube.patch<KubeObject & { status: { conditions: unknown[] } }>(
    "/api/v1/nodes/n1/status",
    {
      status: {
        conditions: [{ type: "NetworkUnavailable", status: "False", reason: "WeaveIsUp" }],
      },
    },
  );
  assert.deepEqual(patched.status.conditions, [
    { type: "Ready", status: "True" },
    { type: "NetworkUnavailable", status: "False", reason: "WeaveIsUp" },
  ]);
  // A merge patch replaces lists; a stale resourceVersion in a patch is a conflict.
  const merged = await kube.patch<KubeObject & { status: { conditions: unknown[] } }>(
    "/api/v1/nodes/n1",
    { status: { conditions: [] } },
    false,
  );
  assert.deepEqual(merged.status.conditions, []);
  await rejectsWith(
    kube.patch("/api/v1/nodes/n1", { metadata: { resourceVersion: "1" } }, false),
    409,
    "Conflict",
  );
  await rejectsWith(
    kube.request("PATCH", "/api/v1/nodes/n1", {
      body: [],
      contentType: "application/json-patch+json",
    }),
    415,
    "UnsupportedMediaType",
  );
});

Deno.test("stand-in API: watch from a resourceVersion, bookmarks, 410 Gone, timeout", async () => {
  await using api = StandInApi.create({ bookmarkMs: 50 });
  const kube = new KubeClient({ server: api.url, token: "test-token" });
  api.store.create("nodes", undefined, node("n1", "192.0.2.1"));
  const list = await kube.list("/api/v1/nodes");
  const ac = new AbortController();
  const seen: string[] = [];
  const done = (async () => {
    for await (
      const e of kube.watch("/api/v1/nodes", {
        resourceVersion: list.metadata.resourceVersion,
        signal: ac.signal,
      })
    ) {
      seen.push(e.type === "BOOKMARK" ? "BOOKMARK" : `${e.type} ${e.object.metadata.name}`);
      if (seen.includes("DELETED n1") && seen.at(-1) === "BOOKMARK") ac.abort();
    }
  })();
  api.store.create("nodes", undefined, node("n2", "192.0.2.2"));
  api.store.create("configmaps", "kube-system", { metadata: { name: "other" } }); // not a node
  api.store.delete("nodes", undefined, "n1");
  await done;
  assert.deepEqual(seen.filter((s) => s !== "BOOKMARK"), ["ADDED n2", "DELETED n1"]);
  assert.equal(seen.at(-1), "BOOKMARK");
  // Without a resourceVersion the current objects come first as ADDED; timeoutSeconds ends it.
  const fromNow = [];
  for await (const e of kube.watch("/api/v1/nodes", { timeoutSeconds: 1 })) {
    if (e.type !== "BOOKMARK") fromNow.push(`${e.type} ${e.object.metadata.name}`);
  }
  assert.deepEqual(fromNow, ["ADDED n2"]);
  // After compaction an old resourceVersion gets one ERROR event with a 410 Status.
  api.store.compact();
  api.store.create("nodes", undefined, node("n3", "192.0.2.3"));
  const old = [];
  for await (
    const e of kube.watch("/api/v1/nodes", { resourceVersion: list.metadata.resourceVersion })
  ) {
    old.push(e);
  }
  assert.equal(old.length, 1);
  assert.equal(old[0].type, "ERROR");
  assert.deepEqual([
    (old[0].object as unknown as { code: number }).code,
    (old[0].object as unknown as { reason: string }).reason,
  ], [410, "Expired"]);
});

Deno.test("stand-in API: faults — down at start, watch cut mid-stream, conflict storm", async () => {
  await using api = StandInApi.create({ up: false });
  const kube = new KubeClient({ server: api.url, token: "test-token" });
  await rejectsWith(kube.list("/api/v1/nodes"), 0, "Unreachable");
  api.up();
  api.store.create("nodes", undefined, node("n1", "192.0.2.1"));
  const events: string[] = [];
  const watching = (async () => {
    for await (const e of kube.watch("/api/v1/nodes")) events.push(e.type);
  })();
  await waitFor(() => events.length === 1);
  api.cutWatches();
  await assert.rejects(watching, (e: KubeApiError) => e.code === 0 && e.reason === "StreamCut");
  // Two writes in a row lose their race; the third gets through.
  api.store.create("configmaps", "kube-system", { metadata: { name: "weave-net" } });
  api.conflictStorm(2);
  let conflicts = 0;
  for (;;) {
    const cm = await kube.get(`${CM}/weave-net`);
    cm.metadata.annotations = { ...cm.metadata.annotations, mine: "yes" };
    try {
      await kube.update(`${CM}/weave-net`, cm);
      break;
    } catch (e) {
      assert.ok((e as KubeApiError).isConflict);
      conflicts++;
    }
  }
  assert.equal(conflicts, 2);
  assert.equal((await kube.get(`${CM}/weave-net`)).metadata.annotations?.mine, "yes");
  await api.down();
  await rejectsWith(kube.get(`${CM}/weave-net`), 0, "Unreachable");
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}
