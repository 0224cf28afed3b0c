import assert from "node:assert/strict";
import { isNewerThan, Peer, type PeerLookup, peerRoutes } from "./peer.ts";
import type { PeerSummary } from "./topology_types.ts";

const base: PeerSummary = {
  name: 1n,
  nickName: "a",
  uid: 50n,
  version: 10n,
  shortID: 3,
  hasShortID: true,
};

Deno.test("isNewerThan follows version, then UID, then HasShortID", () => {
  const noShort = { ...base, hasShortID: false };
  const cases: [string, PeerSummary, PeerSummary, boolean][] = [
    ["higher version", { ...base, version: 11n }, base, true],
    ["lower version, higher UID", { ...base, version: 9n, uid: 99n }, base, false],
    ["equal version, higher UID", { ...base, uid: 51n }, base, true],
    ["equal version, lower UID", { ...base, uid: 49n }, base, false],
    ["equal both, gains short ID", base, noShort, true],
    ["equal both, loses short ID", noShort, base, false],
    ["equal both, both with short ID", { ...base, shortID: 9 }, base, false],
    ["identical", base, base, false],
  ];
  for (const [label, received, ours, want] of cases) {
    assert.equal(isNewerThan(received, ours), want, label);
  }
});

Deno.test("Peer.placeholder has UID 0 and no short ID", () => {
  assert.deepEqual(Peer.placeholder(0x0a0bn).summary(), {
    name: 0x0a0bn,
    nickName: "",
    uid: 0n,
    version: 0n,
    shortID: 0,
    hasShortID: false,
  });
});

Deno.test("Peer.entry returns copies that do not alias the peer", () => {
  const peer = new Peer(base, [conn(2n, true)]);
  const entry = peer.entry();
  entry.peer.version = 99n;
  entry.connections[0].established = false;
  assert.equal(peer.version, 10n);
  assert.equal(peer.connections.get(2n)?.established, true);
  assert.deepEqual(entry.connections.map((c) => c.name), [2n]);
});

function conn(name: bigint, established: boolean) {
  return { name, remoteTCPAddr: `10.0.0.${name}:6783`, outbound: true, established };
}

/** Builds peers from name → [remote, established][] listings. */
function graph(listing: Record<string, [number, boolean][]>): PeerLookup {
  const peers = new Map<bigint, Peer>();
  for (const [name, conns] of Object.entries(listing)) {
    const summary = { ...base, name: BigInt(name) };
    peers.set(summary.name, new Peer(summary, conns.map(([n, e]) => conn(BigInt(n), e))));
  }
  return (name) => peers.get(name);
}

Deno.test("peerRoutes gives next hops along a line", () => {
  const lookup = graph({ 1: [[2, true]], 2: [[1, true], [3, true]], 3: [[2, true]] });
  const { found, routes } = peerRoutes(lookup(1n)!, lookup, { establishedAndSymmetric: true });
  assert.equal(found, false);
  assert.deepEqual([...routes], [[1n, 0n], [2n, 2n], [3n, 2n]]);
});

Deno.test("peerRoutes visits each level in name order whatever the listing order", () => {
  // Diamond 1-{3,2}-4: 4 is reached through 2, the lower name, in both listings.
  for (const first of [[3, 2], [2, 3]]) {
    const lookup = graph({
      1: first.map((n) => [n, true]),
      2: [[4, true], [1, true]],
      3: [[4, true], [1, true]],
      4: [[3, true], [2, true]],
    });
    const { routes } = peerRoutes(lookup(1n)!, lookup, { establishedAndSymmetric: true });
    assert.equal(routes.get(4n), 2n);
  }
});

Deno.test("peerRoutes stops when it takes stopAt off the worklist", () => {
  const lookup = graph({
    1: [[2, true]],
    2: [[1, true], [3, true]],
    3: [[2, true], [4, true]],
    4: [[3, true]],
  });
  const { found, routes } = peerRoutes(lookup(1n)!, lookup, {
    stopAt: 2n,
    establishedAndSymmetric: true,
  });
  assert.equal(found, true);
  assert.deepEqual([...routes.keys()], [1n, 2n]);
  const missing = peerRoutes(lookup(1n)!, lookup, { stopAt: 9n, establishedAndSymmetric: true });
  assert.equal(missing.found, false);
  assert.equal(missing.routes.size, 4);
});

Deno.test("peerRoutes in symmetric mode needs established listings at both ends", () => {
  const lookup = graph({
    1: [[2, true], [3, true], [4, false]],
    2: [[1, true]], // symmetric and established
    3: [], // does not list 1 back
    4: [[1, true]], // our side not established
  });
  const strict = peerRoutes(lookup(1n)!, lookup, { establishedAndSymmetric: true }).routes;
  assert.deepEqual([...strict.keys()], [1n, 2n]);
  const all = peerRoutes(lookup(1n)!, lookup, { establishedAndSymmetric: false }).routes;
  assert.deepEqual([...all.keys()], [1n, 2n, 3n, 4n]);
});

Deno.test("peerRoutes skips connections to peers the table does not hold", () => {
  const lookup = graph({ 1: [[2, true], [7, true]], 2: [[1, true]] });
  const { routes } = peerRoutes(lookup(1n)!, lookup, { establishedAndSymmetric: false });
  assert.deepEqual([...routes.keys()], [1n, 2n]);
});
