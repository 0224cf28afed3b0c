import assert from "node:assert/strict";
import { memoryLogger } from "../lib/log.ts";
import { StandInApi } from "../tests/kube_api/server.ts";
import { KubeClient } from "./client.ts";
import { type KubeNode, type NodeChange, watchNodes } from "./node_watch.ts";

function node(name: string): KubeNode {
  return {
    metadata: { name },
    status: { addresses: [{ type: "InternalIP", address: "192.0.2.1" }] },
  };
}

async function waitFor(cond: () => boolean, what: string, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function run(api: StandInApi) {
  const client = new KubeClient({ server: api.url, token: "test-token" });
  const ac = new AbortController();
  const log = memoryLogger();
  const changes: NodeChange[] = [];
  let names: string[] = [];
  const done = watchNodes({
    client,
    log,
    signal: ac.signal,
    backoffMs: 20,
    maxBackoffMs: 100,
    onChange(nodes, change) {
      names = [...nodes.keys()].sort();
      changes.push(change);
    },
  });
  return {
    changes,
    log,
    names: () => names,
    async stop() {
      ac.abort();
      await done;
      client.close();
    },
  };
}

Deno.test("watchNodes: list, then every change; resumes after a cut without relisting", async () => {
  await using api = StandInApi.create({ bookmarkMs: 30 });
  api.store.create("nodes", undefined, node("a"));
  const w = run(api);
  await waitFor(() => w.names().join() === "a", "the list");
  api.store.create("nodes", undefined, node("b"));
  await waitFor(() => w.names().join() === "a,b", "b added");
  api.cutWatches();
  api.store.delete("nodes", undefined, "a"); // while the watch is down
  await waitFor(() => w.names().join() === "b", "a deleted");
  assert.deepEqual(w.changes.filter((c) => c.relist).length, 1);
  assert.deepEqual(w.changes.at(-1), { upserted: [], deleted: ["a"], relist: false });
  await w.stop();
});

Deno.test("watchNodes: 410 Gone after compaction leads to a relist that reports what vanished", async () => {
  await using api = StandInApi.create({ bookmarkMs: 10_000 });
  api.store.create("nodes", undefined, node("a"));
  api.store.create("nodes", undefined, node("b"));
  const w = run(api);
  await waitFor(() => w.names().join() === "a,b", "the list");
  // The watch is cut, and while it is down b goes away and the history is compacted.
  await api.down();
  api.store.delete("nodes", undefined, "b");
  api.store.create("nodes", undefined, node("c"));
  api.store.compact();
  api.up();
  await waitFor(() => w.names().join() === "a,c", "the relist");
  const relists = w.changes.filter((c) => c.relist);
  assert.equal(relists.length, 2);
  assert.deepEqual(relists[1].deleted, ["b"]);
  await w.stop();
});

Deno.test("watchNodes: API down at start — retries with backoff, one log line, then lists", async () => {
  await using api = StandInApi.create({ up: false });
  api.store.create("nodes", undefined, node("a"));
  const w = run(api);
  await new Promise((r) => setTimeout(r, 300)); // several retries
  assert.deepEqual(w.names(), []);
  const warnings = w.log.lines.filter((l) => l.startsWith("WARN"));
  assert.equal(warnings.length, 1, w.log.lines.join("\n"));
  assert.match(warnings[0], /keeping the last 0 nodes as peers, retrying with backoff/);
  api.up();
  await waitFor(() => w.names().join() === "a", "the list after the API returned");
  assert.ok(w.log.lines.some((l) => /reachable again/.test(l)));
  await w.stop();
});
