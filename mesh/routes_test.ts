import assert from "node:assert/strict";
import { formatPeerName, type PeerName } from "../lib/peer_name.ts";
import { connectedPeers, type PeerLookup, peerRoutes } from "./peer.ts";
import { Peers } from "./peers.ts";
import { Routes } from "./routes.ts";
import type { ConnectionSummary, PeerSummary } from "./topology_types.ts";

/** name → the connections it lists: [remote, established]. */
type Listing = Map<PeerName, [PeerName, boolean][]>;

function summary(name: PeerName): PeerSummary {
  return {
    name,
    nickName: `n${name}`,
    uid: 100n + name,
    version: 1n,
    shortID: Number(name),
    hasShortID: true,
  };
}

function conns(list: [PeerName, boolean][]): ConnectionSummary[] {
  return list.map(([name, established]) => ({
    name,
    remoteTCPAddr: `10.0.0.${name}:6783`,
    outbound: true,
    established,
  }));
}

/** The route tables of peer `me` when everyone's listing is known. */
function routesAt(me: PeerName, listing: Listing): Routes {
  const peers = new Peers({ ...summary(me), version: 0n });
  for (const c of conns(listing.get(me) ?? [])) peers.addLocalConnection(c);
  const others = [...listing].filter(([name]) => name !== me);
  peers.applyUpdate(
    others.map(([name, list]) => ({ peer: summary(name), connections: conns(list) })),
  );
  return new Routes(peers);
}

/** A listing where every edge is listed, established, at both ends. */
function undirected(edges: [number, number][]): Listing {
  const listing: Listing = new Map();
  for (const [a, b] of edges) {
    for (const [x, y] of [[a, b], [b, a]]) {
      const list = listing.get(BigInt(x)) ?? [];
      list.push([BigInt(y), true]);
      listing.set(BigInt(x), list);
    }
  }
  return listing;
}

/** Delivers one broadcast from `origin` hop by hop; returns copies received per peer. */
function flood(all: Map<PeerName, Routes>, origin: PeerName, data: boolean): Map<PeerName, number> {
  const got = new Map<PeerName, number>([...all.keys()].map((n) => [n, 0]));
  const queue = [origin];
  while (queue.length > 0) {
    const at = queue.shift()!;
    const routes = all.get(at)!;
    for (const hop of data ? routes.broadcast(origin) : routes.broadcastAll(origin)) {
      got.set(hop, got.get(hop)! + 1);
      assert.ok(got.get(hop)! <= 1, `peer ${hop} got a second copy from ${origin}`);
      queue.push(hop);
    }
  }
  return got;
}

function everyone(listing: Listing): Map<PeerName, Routes> {
  return new Map([...listing.keys()].map((n) => [n, routesAt(n, listing)]));
}

function assertFloodReachesAllOnce(listing: Listing, data: boolean): void {
  const all = everyone(listing);
  for (const origin of all.keys()) {
    const got = flood(all, origin, data);
    for (const [name, copies] of got) {
      assert.equal(copies, name === origin ? 0 : 1, `origin ${origin}, peer ${name}`);
    }
  }
}

Deno.test("Routes on a line: next hops, broadcast hops and report tables", () => {
  // The 3host sample: 02:..:01 - 02:..:02 - 02:..:03.
  const [h1, h2, h3] = [0x020000000001n, 0x020000000002n, 0x020000000003n];
  const listing: Listing = new Map([
    [h1, [[h2, true]]],
    [h2, [[h1, true], [h3, true]]],
    [h3, [[h2, true]]],
  ]);
  const r1 = routesAt(h1, listing);
  assert.equal(r1.unicast(h1), 0n);
  assert.equal(r1.unicast(h2), h2);
  assert.equal(r1.unicast(h3), h2);
  assert.deepEqual(r1.broadcast(h1), [h2]);
  assert.deepEqual(r1.broadcast(h3), []);
  assert.deepEqual(r1.broadcast(h2), []);
  assert.deepEqual(routesAt(h2, listing).broadcast(h1), [h3]);
  // As `h1-report.json` of the 3host sample shows them.
  assert.deepEqual(r1.unicastTable(), [
    { Dest: "02:00:00:00:00:01", Via: "00:00:00:00:00:00" },
    { Dest: "02:00:00:00:00:02", Via: "02:00:00:00:00:02" },
    { Dest: "02:00:00:00:00:03", Via: "02:00:00:00:00:02" },
  ]);
  assert.deepEqual(r1.broadcastTable(), [
    { Source: "02:00:00:00:00:01", Via: ["02:00:00:00:00:02"] },
    { Source: "02:00:00:00:00:03", Via: null },
    { Source: "02:00:00:00:00:02", Via: null },
  ]);
  assertFloodReachesAllOnce(listing, true);
});

Deno.test("Routes in a full mesh of 4 go direct and broadcast once to each", () => {
  const listing = undirected([[1, 2], [1, 3], [1, 4], [2, 3], [2, 4], [3, 4]]);
  const r1 = routesAt(1n, listing);
  for (const n of [2n, 3n, 4n]) assert.equal(r1.unicast(n), n);
  assert.deepEqual(r1.broadcast(1n), [2n, 3n, 4n]);
  assert.deepEqual(r1.broadcast(2n), [], "2 reaches 3 and 4 before us");
  assertFloodReachesAllOnce(listing, true);
  assertFloodReachesAllOnce(listing, false);
});

Deno.test("Routes in a star relay through the centre", () => {
  const listing = undirected([[1, 2], [1, 3], [1, 4], [1, 5]]);
  const leaf = routesAt(2n, listing);
  assert.equal(leaf.unicast(5n), 1n);
  assert.deepEqual(leaf.broadcast(2n), [1n]);
  assert.deepEqual(leaf.broadcast(3n), []);
  assert.deepEqual(routesAt(1n, listing).broadcast(2n), [3n, 4n, 5n]);
  assertFloodReachesAllOnce(listing, true);
});

Deno.test("Routes: a connection one side does not list back carries gossip, not data", () => {
  const listing: Listing = new Map([[1n, [[2n, true]]], [2n, []]]);
  const r1 = routesAt(1n, listing);
  assert.equal(r1.unicast(2n), undefined);
  assert.equal(r1.unicastAll(2n), 2n);
  assert.deepEqual(r1.broadcast(1n), []);
  assert.deepEqual(r1.broadcastAll(1n), [2n]);
  assert.deepEqual(r1.unicastTable(), [{ Dest: "00:00:00:00:00:01", Via: "00:00:00:00:00:00" }]);
});

Deno.test("Routes: unestablished connections carry gossip, not data", () => {
  const listing: Listing = new Map([
    [1n, [[2n, false], [3n, true]]],
    [2n, [[1n, true]]],
    [3n, [[1n, true]]],
  ]);
  const r1 = routesAt(1n, listing);
  assert.equal(r1.unicast(2n), undefined);
  assert.equal(r1.unicast(3n), 3n);
  assert.equal(r1.unicastAll(2n), 2n);
  assert.deepEqual(r1.broadcast(1n), [3n]);
  assert.deepEqual(r1.broadcastAll(1n), [2n, 3n]);
});

Deno.test("Routes cache broadcast hops until recalculated", () => {
  const peers = new Peers({ ...summary(1n), version: 0n });
  peers.addLocalConnection(conns([[2n, true]])[0]);
  peers.applyUpdate([{ peer: summary(2n), connections: conns([[1n, true]]) }]);
  const routes = new Routes(peers);
  assert.deepEqual(routes.broadcast(1n), [2n]);
  peers.addLocalConnection(conns([[3n, true]])[0]);
  peers.applyUpdate([{ peer: summary(3n), connections: conns([[1n, true]]) }]);
  assert.deepEqual(routes.broadcast(1n), [2n], "cached");
  assert.equal(routes.unicast(3n), undefined, "not yet recalculated");
  routes.recalculate();
  assert.deepEqual(routes.broadcast(1n), [2n, 3n]);
  assert.equal(routes.unicast(3n), 3n);
  assert.deepEqual(routes.broadcast(9n), [], "unknown origin");
});

Deno.test("Routes without a source know nothing", () => {
  const routes = new Routes();
  assert.equal(routes.unicast(1n), undefined);
  assert.deepEqual(routes.broadcastAll(1n), []);
  assert.deepEqual(routes.randomNeighbours(0n), []);
  assert.deepEqual(routes.unicastTable(), []);
});

/** mulberry32: a small seeded PRNG for repeatable property tests. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random connected graph: a random spanning tree plus extra edges. */
function randomGraph(random: () => number): [number, number][] {
  const n = 10 + Math.floor(random() * 11);
  const edges = new Set<string>();
  const add = (a: number, b: number) => edges.add(a < b ? `${a},${b}` : `${b},${a}`);
  for (let i = 2; i <= n; i++) add(i, 1 + Math.floor(random() * (i - 1)));
  const extra = Math.floor(random() * n * 1.5);
  for (let k = 0; k < extra; k++) {
    const a = 1 + Math.floor(random() * n);
    const b = 1 + Math.floor(random() * n);
    if (a !== b) add(a, b);
  }
  return [...edges].map((e) => e.split(",").map(Number) as [number, number]);
}

Deno.test("Routes property: broadcasts reach every peer once, unicast hops reach the target", () => {
  for (let seed = 1; seed <= 12; seed++) {
    const listing = undirected(randomGraph(seeded(seed)));
    assertFloodReachesAllOnce(listing, true);
    assertFloodReachesAllOnce(listing, false);
    const all = everyone(listing);
    for (const src of all.keys()) {
      for (const dst of all.keys()) {
        let at = src;
        for (let steps = 0; at !== dst; steps++) {
          assert.ok(steps < all.size, `seed ${seed}: loop from ${src} to ${dst}`);
          at = all.get(at)!.unicast(dst)!;
        }
      }
    }
  }
});

Deno.test("Routes property: data broadcasts stay within established connections", () => {
  for (let seed = 100; seed < 106; seed++) {
    const random = seeded(seed);
    const edges = randomGraph(random);
    const down = edges.filter(() => random() < 0.3);
    const listing = undirected(edges);
    for (const [a, b] of down) {
      for (const [x, y] of [[a, b], [b, a]]) {
        const c = listing.get(BigInt(x))!.find(([n]) => n === BigInt(y))!;
        c[1] = false; // listed, not established
      }
    }
    const all = everyone(listing);
    for (const origin of all.keys()) {
      const got = flood(all, origin, true);
      const reach = all.get(origin)!;
      for (const [name, copies] of got) {
        const reachable = name !== origin && reach.unicast(name) !== undefined;
        assert.equal(copies, reachable ? 1 : 0, `seed ${seed}, origin ${origin}, peer ${name}`);
      }
    }
    assertFloodReachesAllOnce(listing, false);
  }
});

Deno.test("randomNeighbours picks ⌊log2(#routes)⌋ distinct neighbours, never `except`", () => {
  const star = routesAt(1n, undirected([[1, 2], [1, 3], [1, 4], [1, 5]]));
  const random = seeded(7);
  for (let i = 0; i < 200; i++) {
    const picked = star.randomNeighbours(2n, random);
    assert.equal(picked.length, 2, "5 routes → 2");
    assert.equal(new Set(picked).size, 2);
    assert.ok(!picked.includes(2n) && !picked.includes(1n));
  }
  const line = routesAt(1n, undirected([[1, 2], [2, 3]]));
  assert.deepEqual(line.randomNeighbours(0n, random), [2n], "3 routes → 1");
  assert.deepEqual(line.randomNeighbours(2n, random), [], "only neighbour excluded");
  const full = routesAt(1n, undirected([[1, 2], [1, 3], [2, 3]]));
  assert.equal(full.randomNeighbours(0n, random).length, 1, "3 routes → 1 of 2");
});

Deno.test("randomNeighbours favours neighbours that front more peers", () => {
  // 1 has neighbours 2..9; behind 2 sit 20 more peers: 29 routes → 4 picks.
  const edges: [number, number][] = [];
  for (let n = 2; n <= 9; n++) edges.push([1, n]);
  for (let n = 10; n < 30; n++) edges.push([2, n]);
  const routes = routesAt(1n, undirected(edges));
  const counts = new Map<PeerName, number>();
  const random = seeded(42);
  const trials = 2000;
  for (let i = 0; i < trials; i++) {
    const picked = routes.randomNeighbours(0n, random);
    assert.equal(picked.length, 4);
    for (const n of picked) counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  assert.ok(counts.get(2n)! / trials > 0.95, `2 picked ${counts.get(2n)} times`);
  for (let n = 3n; n <= 9n; n++) {
    const share = (counts.get(n) ?? 0) / trials;
    assert.ok(share > 0.3 && share < 0.56, `${n} picked with share ${share}`);
  }
});

Deno.test("randomNeighbours is uniform among neighbours of equal weight", () => {
  const edges: [number, number][] = [];
  for (let n = 2; n <= 9; n++) edges.push([1, n]);
  const routes = routesAt(1n, undirected(edges)); // 9 routes → 3 of 8
  const counts = new Map<PeerName, number>();
  const random = seeded(3);
  const trials = 4000;
  for (let i = 0; i < trials; i++) {
    for (const n of routes.randomNeighbours(0n, random)) counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  for (let n = 2n; n <= 9n; n++) {
    const share = counts.get(n)! / trials;
    assert.ok(Math.abs(share - 3 / 8) < 0.05, `${n} picked with share ${share}`);
  }
});

/** A random listing: each peer lists each other with probability `density`, established or not. */
function randomListing(random: () => number, n: number, density: number): Listing {
  const listing: Listing = new Map();
  for (let a = 1; a <= n; a++) {
    const list: [PeerName, boolean][] = [];
    for (let b = 1; b <= n; b++) {
      if (a !== b && random() < density) list.push([BigInt(b), random() < 0.85]);
    }
    listing.set(BigInt(a), list);
  }
  return listing;
}

/** Broadcast hops as mesh `calculateBroadcast` computes them: the plain search. */
function referenceHops(peers: Peers, origin: PeerName, symmetric: boolean): PeerName[] {
  const lookup: PeerLookup = (name) => peers.get(name);
  const start = peers.get(origin);
  if (start === undefined) return [];
  const { found, routes } = peerRoutes(start, lookup, {
    stopAt: peers.ourself.name,
    establishedAndSymmetric: symmetric,
  });
  return found ? connectedPeers(peers.ourself, lookup, symmetric, routes).map((p) => p.name) : [];
}

Deno.test("Routes property: shortcuts give the plain search's tables and broadcast hops", () => {
  const random = seeded(2024);
  for (let round = 0; round < 60; round++) {
    const n = 6 + Math.floor(random() * 25);
    const density = [0.08, 0.3, 0.7, 0.95, 1][round % 5];
    const listing = randomListing(random, n, density);
    const me = BigInt(1 + Math.floor(random() * n));
    const routes = routesAt(me, listing);
    const peers = new Peers({ ...summary(me), version: 0n });
    for (const c of conns(listing.get(me)!)) peers.addLocalConnection(c);
    peers.applyUpdate(
      [...listing].filter(([name]) => name !== me).map(([name, list]) => ({
        peer: summary(name),
        connections: conns(list),
      })),
    );
    const lookup: PeerLookup = (name) => peers.get(name);
    const what = `round ${round} (n ${n}, density ${density}, me ${me})`;
    for (const symmetric of [true, false]) {
      const plain = peerRoutes(peers.ourself, lookup, { establishedAndSymmetric: symmetric });
      if (symmetric) {
        assert.deepEqual(
          routes.unicastTable().map((r) => r.Dest),
          [...plain.routes.keys()].map(formatPeerName),
          `${what}: unicast table order`,
        );
      }
      for (const [dest, via] of plain.routes) {
        const got = symmetric ? routes.unicast(dest) : routes.unicastAll(dest);
        assert.equal(got, via, `${what}: ${symmetric ? "unicast" : "unicastAll"} to ${dest}`);
      }
      for (const origin of listing.keys()) {
        const got = symmetric ? routes.broadcast(origin) : routes.broadcastAll(origin);
        assert.deepEqual(got, referenceHops(peers, origin, symmetric), `${what}: from ${origin}`);
      }
    }
  }
});
