import assert from "node:assert/strict";
import { A, cluster, ip, stopAll } from "./fake_cluster.ts";
import { FakeStore } from "./store/mod.ts";
import { FileStore } from "./store/mod.ts";

Deno.test("Allocator save cost: a save carries only the identifiers changed, however many are owned", async () => {
  const store = new FakeStore();
  const [, [a]] = await cluster([A], { init: "consensus=1", stores: new Map([[A, store]]) });
  for (let i = 0; i < 300; i++) await a.alloc.allocate(`c${i}`);
  const seq = store.updates.slice(1);
  assert.equal(store.updates[0].full, true, "the first save after start writes everything");
  assert.ok(seq.every((u) => !u.full && u.owned.size <= 1), "one identifier per allocation");
  assert.deepEqual(seq.at(-1)!.owned.get("c299")?.cidrs.length, 1);
  // 64 calls at once share saves (group commit); no identifier is written twice.
  const before = store.updates.length;
  await Promise.all(Array.from({ length: 64 }, (_, i) => a.alloc.allocate(`d${i}`)));
  const batch = store.updates.slice(before);
  assert.equal(batch.reduce((n, u) => n + u.owned.size, 0), 64);
  await a.alloc.free("c7", (await a.alloc.allocate("c7")).addr);
  await a.alloc.delete("c8");
  assert.deepEqual(store.updates.slice(-2).map((u) => [...u.owned]), [[["c7", null]], [[
    "c8",
    null,
  ]]]);
  assert.equal(store.saved!.owned.size, 300 + 64 - 2);
  stopAll([a]);
});

Deno.test("Allocator + FileStore: a restart after hundreds of allocations and frees restores them all", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/weaveipam.json`;
    const opts = { init: "consensus=1", range: "10.0.0.0/22" };
    const [, [a]] = await cluster([A], {
      ...opts,
      store: new FileStore(path, { minCompactBytes: 4096 }),
    });
    const given = new Map<string, string>();
    for (let i = 0; i < 250; i++) given.set(`c${i}`, ip(await a.alloc.allocate(`c${i}`)));
    for (let i = 0; i < 250; i += 5) {
      await a.alloc.delete(`c${i}`);
      given.delete(`c${i}`);
    }
    a.alloc.stop();
    const [, [b]] = await cluster([A], { ...opts, store: new FileStore(path) });
    const restored = new Map(b.alloc.ownedAddresses().map((o) => [o.ident, ip(o.cidrs[0])]));
    assert.deepEqual(restored, given);
    const fresh = ip(await b.alloc.allocate("new"));
    assert.ok(![...given.values()].includes(fresh), `${fresh} handed out twice`);
    b.alloc.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
