import assert from "node:assert/strict";
import { A, cluster, ip, stopAll } from "./fake_cluster.ts";

Deno.test("Allocator: ident _ (the Docker plugin's) files each address under itself, as Weave", async () => {
  const [mesh, peers] = await cluster([A], { init: "seed=02:00:00:00:00:01" });
  const [a] = peers;
  await mesh.deliverAll();
  const first = ip(await a.alloc.allocate("_"));
  const second = ip(await a.alloc.allocate("_"));
  assert.notEqual(first, second, "no reuse of an earlier _ allocation");
  const owners = a.alloc.ownedAddresses().map((o) => o.ident).sort();
  assert.deepEqual(owners, [first.split("/")[0], second.split("/")[0]].sort());
  assert.deepEqual(a.alloc.lookup("_"), []);
  await a.alloc.delete(first.split("/")[0]);
  assert.deepEqual(a.alloc.ownedAddresses().map((o) => o.ident), [second.split("/")[0]]);
  stopAll(peers);
});
