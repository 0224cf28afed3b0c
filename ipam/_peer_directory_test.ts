import assert from "node:assert/strict";
import { UNKNOWN_PEER_NAME } from "../lib/peer_name.ts";
import { type AllocatorPeer, PeerDirectory } from "./_peer_directory.ts";

Deno.test("PeerDirectory: reachability, lookup by nickname or name, heir, pruning", () => {
  const peers: AllocatorPeer[] = [
    { name: 2n, nickName: "h2", reachable: true },
    { name: 3n, nickName: "h3", reachable: false },
  ];
  const dir = new PeerDirectory(1n, "h1", () => peers);
  dir.nicknames.set(4n, "h4");
  assert.deepEqual([1n, 2n, 3n, 4n].map((n) => dir.isKnown(n)), [true, true, false, false]);
  assert.equal(dir.lookup("h4"), 4n, "a gossiped nickname");
  assert.equal(dir.lookup("h3"), 3n, "a nickname the mesh knows");
  assert.equal(dir.lookup("00:00:00:00:00:09"), 9n);
  assert.equal(dir.lookup("nobody"), undefined);
  assert.equal(dir.annotate(4n), "00:00:00:00:00:04(h4)");
  // Reachable peers first (ring, then nicknames), then anyone (ring, then nicknames).
  assert.equal(dir.pickHeir((valid) => (valid(3n) ? 3n : UNKNOWN_PEER_NAME)), 3n);
  assert.equal(dir.pickHeir(() => UNKNOWN_PEER_NAME), 4n, "any nickname when none is reachable");
  dir.nicknames.set(2n, "h2");
  assert.equal(dir.pickHeir(() => UNKNOWN_PEER_NAME), 2n, "a reachable nickname first");
  const v = dir.nicknames.version;
  dir.prune(new Set([1n]));
  assert.deepEqual(
    [...dir.nicknames.keys()].sort(),
    [1n, 2n],
    "4 is neither in the ring nor reachable",
  );
  assert.ok(dir.nicknames.version > v);
  dir.gone(2n, new Set([2n]));
  assert.ok(dir.nicknames.has(2n), "the ring still names it");
  dir.gone(2n, new Set());
  dir.gone(1n, new Set());
  assert.deepEqual([...dir.nicknames.keys()], [1n]);
});
