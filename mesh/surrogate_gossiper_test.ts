import assert from "node:assert/strict";
import {
  fnv64a,
  SURROGATE_DEDUP_MAX_BYTES,
  SurrogateGossipData,
  SurrogateGossiper,
} from "./surrogate_gossiper.ts";

Deno.test("fnv64a matches the reference values", () => {
  assert.equal(fnv64a(new Uint8Array()), 0xcbf29ce484222325n);
  assert.equal(fnv64a(new TextEncoder().encode("a")), 0xaf63dc4c8601ec8cn);
  assert.equal(fnv64a(new TextEncoder().encode("foobar")), 0x85944171f73967e8n);
});

Deno.test("SurrogateGossiper suppresses duplicates within the interval", () => {
  let now = 0;
  const g = new SurrogateGossiper(() => now);
  const msg = new Uint8Array([1, 2, 3]);
  assert.ok(g.onGossip(msg));
  assert.equal(g.onGossip(new Uint8Array([1, 2, 3])), null);
  assert.ok(g.onGossip(new Uint8Array([1, 2, 4])));
  now = 31_000;
  assert.ok(g.onGossip(msg), "relayed again after the interval");
});

Deno.test("SurrogateGossiper relays broadcasts and merges data", () => {
  const g = new SurrogateGossiper();
  const a = g.onGossipBroadcast(1n, new Uint8Array([9]))!;
  const b = g.onGossipBroadcast(2n, new Uint8Array([8]))!;
  assert.deepEqual(a.merge(b).encode(), [new Uint8Array([9]), new Uint8Array([8])]);
  assert.equal(g.gossip(), null);
  assert.ok(new SurrogateGossipData([]).encode().length === 0);
});

Deno.test("SurrogateGossiper holds at most SURROGATE_DEDUP_MAX_BYTES, and nothing once the interval passed", () => {
  let now = 0;
  const g = new SurrogateGossiper(() => now);
  const big = new Uint8Array(1 << 16);
  for (let i = 0; i < 100; i++) {
    big[0] = i;
    assert.ok(g.onGossip(big.subarray(0, 50_000)));
  }
  assert.ok(g.heldBytes <= SURROGATE_DEDUP_MAX_BYTES, `${g.heldBytes} bytes held`);
  assert.ok(g.heldBytes >= SURROGATE_DEDUP_MAX_BYTES - 50_000);
  now = 30_000;
  assert.equal(g.gossip(), null);
  assert.equal(g.heldBytes, 0, "periodic gossip forgets what expired, with no new message");
});
