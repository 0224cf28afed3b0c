import assert from "node:assert/strict";
import { parseCidr } from "../lib/cidr.ts";
import { formatPeerName } from "../lib/peer_name.ts";
import { FakeMesh } from "./fake_mesh.ts";
import { FakeStore } from "./store/mod.ts";
import { A, B, C, cluster, ip, makePeer, ringOf, rng, stopAll } from "./fake_cluster.ts";
import { CLAIM_UNREACHABLE_GRACE_MS } from "./allocator.ts";
import { RingError } from "./ring/mod.ts";
import { IpamStoreCorruptError } from "./store/mod.ts";

Deno.test("Allocator consensus=3: three peers agree on one ring and allocate distinct addresses", async () => {
  const [mesh, peers] = await cluster([A, B, C]);
  const [a, b, c] = peers;
  assert.equal(a.alloc.status(), "idle");
  const first = a.alloc.allocate("ca");
  assert.equal(a.alloc.status(), "awaiting consensus (quorum: 2, known: 1)");
  await mesh.deliverAll({ random: rng(1), duplicates: 0.2 });
  const later = [b.alloc.allocate("cb"), c.alloc.allocate("cc")];
  await mesh.deliverAll({ random: rng(2), duplicates: 0.2 });
  const got = [await first, ...await Promise.all(later)];
  mesh.gossipAll();
  await mesh.deliverAll({ random: rng(2) });
  assert.deepEqual(ringOf(a), ringOf(b));
  assert.deepEqual(ringOf(b), ringOf(c));
  assert.equal(a.alloc.report().Entries.length, 3);
  assert.equal(new Set(got.map(ip)).size, 3);
  assert.equal(ip(got[0]), "10.32.0.1/12");
  for (const p of peers) assert.equal(p.alloc.status(), "ready");
  assert.deepEqual(mesh.errors, []);
  assert.ok(a.log.lines.some((l) => l.includes("Initialising via deferred consensus")));
  stopAll(peers);
});

Deno.test("Allocator: a peer without space asks another and gets a donation", async () => {
  const small = { range: "10.0.0.0/28", init: "seed=02:00:00:00:00:01,02:00:00:00:00:02" };
  const [mesh, peers] = await cluster([A, B], small);
  const [a, b] = peers;
  await mesh.deliverAll();
  // A owns 10.0.0.0-7: hosts .1-.7 (network .0 excluded).
  const mine = [];
  for (let i = 0; i < 7; i++) mine.push(ip(await a.alloc.allocate(`c${i}`)));
  const waiting = a.alloc.allocate("more");
  assert.equal(a.alloc.status(), "waiting for IP(s) to become available");
  assert.deepEqual(a.alloc.report().PendingAllocates, ["more 10.0.0.0/28"]);
  await mesh.deliverAll({ random: rng(3) });
  const extra = ip(await waiting);
  mesh.gossipAll();
  assert.ok(!mine.includes(extra));
  const fromB = ip(await b.alloc.allocate("cb"));
  assert.ok(![...mine, extra].includes(fromB), `${fromB} given twice`);
  mesh.gossipAll();
  await mesh.deliverAll();
  assert.deepEqual(ringOf(a), ringOf(b));
  assert.equal(a.alloc.status(), "ready");
  stopAll(peers);
});

Deno.test("Allocator observer: cannot start consensus alone, gets the ring from electors", async () => {
  const mesh = new FakeMesh();
  const o = makePeer(mesh, C, { init: "observer" });
  await o.alloc.start();
  const primed = o.alloc.prime();
  assert.equal(o.alloc.status(), "priming");
  for (let i = 0; i < 3; i++) o.alloc.tick();
  await mesh.deliverAll();
  assert.equal(o.alloc.status(), "priming");
  const a = makePeer(mesh, A, { init: "consensus=2" });
  const b = makePeer(mesh, B, { init: "consensus=2" });
  await a.alloc.start();
  await b.alloc.start();
  o.alloc.tick(); // the observer asks again; electors establish the ring on its behalf
  await mesh.deliverAll({ random: rng(4) });
  await primed;
  assert.deepEqual(ringOf(o), ringOf(a));
  assert.ok(!ringOf(o).some((e) => e.includes(formatPeerName(C))), "observer owns nothing");
  const pending = o.alloc.allocate("co");
  await mesh.deliverAll();
  const addr = await pending;
  assert.ok(addr.addr > 0);
  assert.deepEqual(mesh.errors, []);
  stopAll([o, a, b]);
});

Deno.test("Allocator seed mode: the ring exists at start on every seed peer", async () => {
  const [, peers] = await cluster([A, B], { init: "seed=02:00:00:00:00:02,02:00:00:00:00:01" });
  assert.deepEqual(ringOf(peers[0]), ringOf(peers[1]));
  assert.equal(peers[0].alloc.status(), "ready");
  assert.deepEqual(peers[0].alloc.report().Entries.map((e) => e.Size), [524288, 524288]);
  assert.ok(peers[0].log.lines.some((l) => l.includes("Initialising with supplied IPAM seed")));
  stopAll(peers);
});

Deno.test("Allocator persistence: a restart keeps the ring and the addresses", async () => {
  const stores = new Map([[A, new FakeStore()]]);
  const [, [a]] = await cluster([A], { init: "consensus=1", stores });
  const x = await a.alloc.allocate("x");
  a.alloc.stop();
  const [, [again]] = await cluster([A], { init: "consensus=1", stores });
  assert.deepEqual(again.alloc.lookup("x"), [x]);
  const y = await again.alloc.allocate("y");
  assert.notEqual(y.addr, x.addr);
  assert.ok(again.log.lines.some((l) => l.includes("Initialising with persisted data")));
  again.alloc.stop();
  // Data of another peer is not used.
  const other = new FakeStore(stores.get(A)!.saved);
  const [, [b]] = await cluster([B], { init: "consensus=1", stores: new Map([[B, other]]) });
  assert.ok(
    b.log.lines.some((l) => l.includes("Deleting persisted data for peername 02:00:00:00:00:01")),
  );
  assert.deepEqual(b.alloc.lookup("x"), []);
  b.alloc.stop();
});

Deno.test("Allocator kill -9: no answered address is ever handed out again after a restart", async () => {
  const random = rng(9);
  for (let round = 0; round < 20; round++) {
    const stores = new Map([[A, new FakeStore()]]);
    const [, [a]] = await cluster([A], { init: "consensus=1", stores, range: "10.0.0.0/26" });
    const store = stores.get(A)!;
    const answered = new Set<string>();
    const calls = [];
    const crashAt = Math.floor(random() * 12);
    for (let i = 0; i < 12; i++) {
      if (i === crashAt) {
        store.paused = true; // the process dies: no later save lands, nothing more is answered
        break;
      }
      if (random() < 0.5) store.paused = true;
      else store.release();
      const p = a.alloc.allocate(`c${i}`).then((r) => {
        // The answer may only leave once the address is on disk.
        assert.ok(store.saved!.owned.has(`c${i}`), "answered before saved");
        answered.add(ip(r));
      });
      calls.push(p);
      if (!store.paused) await p;
      else await new Promise((r) => setTimeout(r, 0));
    }
    // Crash: what is on disk now is all a restart sees.
    const disk = new FakeStore(store.saved);
    a.alloc.stop();
    const [, [b]] = await cluster([A], {
      init: "consensus=1",
      stores: new Map([[A, disk]]),
      range: "10.0.0.0/26",
    });
    for (let i = 0; i < 5; i++) {
      const r = ip(await b.alloc.allocate(`after${i}`));
      assert.ok(!answered.has(r), `round ${round}: ${r} handed out twice`);
    }
    b.alloc.stop();
    store.release();
    await Promise.allSettled(calls);
  }
});

Deno.test("Allocator start: a damaged store is reported and not used", async () => {
  const store = new FakeStore();
  store.loadError = new IpamStoreCorruptError("/x/ipam.json", "not valid JSON (truncated?)");
  const mesh = new FakeMesh();
  const p = makePeer(mesh, A, { store });
  await assert.rejects(p.alloc.start(), IpamStoreCorruptError);
  assert.ok(p.log.lines.some((l) => l.includes("is damaged")));
});

Deno.test("Allocator rmpeer: concurrent takeovers on two peers converge without duplicates", async () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const now = { t: 1_000_000 };
    const [mesh, peers] = await cluster([A, B, C], {
      now,
      range: "10.0.0.0/26",
      init: "seed=02:00:00:00:00:01,02:00:00:00:00:02,02:00:00:00:00:03",
    });
    const [a, b, c] = peers;
    await mesh.deliverAll();
    c.alloc.stop();
    mesh.kill(C);
    assert.equal(
      a.alloc.report().Entries.find((e) => e.Peer === formatPeerName(C))!.IsKnownPeer,
      false,
    );
    const [na, nb] = await Promise.all([a.alloc.rmpeer("h3"), b.alloc.rmpeer(formatPeerName(C))]);
    assert.equal(na, 16);
    assert.equal(nb, 16);
    await mesh.deliverAll({ random: rng(seed), duplicates: 0.3 });
    now.t += 10_001;
    a.alloc.tick();
    b.alloc.tick();
    await mesh.deliverAll({ random: rng(seed + 100), duplicates: 0.3 });
    assert.deepEqual(ringOf(a), ringOf(b), `seed ${seed}`);
    assert.ok(!ringOf(a).some((e) => e.includes(formatPeerName(C))));
    // Exhaust the whole range from both sides: every address once.
    const given: string[] = [];
    const pending = [];
    for (let i = 0; i < 40; i++) {
      pending.push(a.alloc.allocate(`a${i}`).then((r) => given.push(ip(r)), () => {}));
      pending.push(b.alloc.allocate(`b${i}`).then((r) => given.push(ip(r)), () => {}));
    }
    for (let i = 0; i < 4; i++) {
      a.alloc.tick();
      b.alloc.tick();
      await mesh.deliverAll({ random: rng(seed + i), duplicates: 0.1 });
    }
    assert.deepEqual(mesh.errors, []);
    assert.equal(new Set(given).size, given.length, `seed ${seed}: duplicates in ${given}`);
    assert.equal(given.length, 62); // 64 addresses minus network and broadcast
    stopAll([a, b]);
    await Promise.allSettled(pending);
  }
});

Deno.test("Allocator rmpeer without a hold (Go's rule alone) leaves both takers owning the range", async () => {
  const [mesh, peers] = await cluster([A, B, C], {
    takeoverHoldMs: 0,
    init: "seed=02:00:00:00:00:01,02:00:00:00:00:02,02:00:00:00:00:03",
  });
  const [a, b, c] = peers;
  await mesh.deliverAll();
  c.alloc.stop();
  mesh.kill(C);
  assert.deepEqual(await Promise.all([a.alloc.rmpeer("h3"), b.alloc.rmpeer("h3")]), [
    262144,
    262144,
  ]);
  await mesh.deliverAll();
  // Same token, same version, same free: each keeps its own copy forever.
  assert.notDeepEqual(ringOf(a), ringOf(b));
  stopAll([a, b]);
});

Deno.test("Allocator rmpeer: unknown peers and ourselves take nothing", async () => {
  const [, [a]] = await cluster([A], { init: "consensus=1" });
  await a.alloc.prime();
  assert.equal(await a.alloc.rmpeer("nobody"), 0);
  assert.equal(await a.alloc.rmpeer("h1"), 0);
  assert.ok(
    a.log.lines.some((l) => l.includes("attempt to take over range from unknown peer 'nobody'")),
  );
  a.alloc.stop();
});

Deno.test("Allocator: rings seeded by different peers are refused on both sides, and reset recovers", async () => {
  const mesh = new FakeMesh();
  const a = makePeer(mesh, A, { init: "seed=02:00:00:00:00:01" });
  const b = makePeer(mesh, B, { init: "seed=02:00:00:00:00:02" });
  await a.alloc.start();
  await b.alloc.start();
  mesh.gossipAll();
  await mesh.deliverAll();
  const refusals = mesh.errors.length;
  assert.ok(refusals >= 2);
  assert.deepEqual(new Set(mesh.errors.map((e) => e.to)), new Set([A, B]));
  for (const { error } of mesh.errors) {
    assert.ok(error instanceof RingError);
    assert.match(error.message, /IP allocation was seeded by different peers/);
    assert.match(error.message, /02:00:00:00:00:01\(h1\)/);
    assert.match(error.message, /02:00:00:00:00:02\(h2\)/);
  }
  assert.ok(
    a.log.lines.some((l) =>
      l.includes("weave reset") && l.includes("received: [02:00:00:00:00:02(h2)]")
    ),
  );
  // Recovery: B is reset (fresh state) and relaunched in consensus mode.
  b.alloc.stop();
  mesh.kill(B);
  const fresh = makePeer(mesh, B, { init: "consensus=2" });
  await fresh.alloc.start();
  mesh.gossipAll();
  await mesh.deliverAll();
  const pending = fresh.alloc.allocate("cb");
  await mesh.deliverAll();
  const got = await pending;
  mesh.gossipAll();
  await mesh.deliverAll();
  assert.equal(mesh.errors.length, refusals);
  assert.ok(got.addr > 0);
  assert.deepEqual(ringOf(fresh), ringOf(a));
  stopAll([a, fresh]);
});

Deno.test("Allocator status: unreachable owners, and claims of other peers' addresses", async () => {
  const [mesh, peers] = await cluster([A, B], { init: "seed=02:00:00:00:00:01,02:00:00:00:00:02" });
  const [a, b] = peers;
  const onB = { addr: 0x0a280005, prefix: 12 }; // 10.40.0.5, in B's half
  await b.alloc.claim("taken", onB);
  const claimed = a.alloc.claim("mine", { addr: 0x0a280007, prefix: 12 });
  assert.deepEqual(a.alloc.report().PendingClaims, [{ Ident: "mine", CIDR: "10.40.0.7/12" }]);
  const refused = a.alloc.claim("dup", onB);
  await mesh.deliverAll({ random: rng(5) });
  await claimed;
  await assert.rejects(
    refused,
    /address 10.40.0.5 is owned by other peer 02:00:00:00:00:02 \(h2\)/,
  );
  await assert.rejects(
    a.alloc.claim("again", { addr: 0x0a280007, prefix: 12 }),
    /already owned by mine/,
  );
  b.alloc.stop();
  mesh.kill(B);
  const gone = makePeer(new FakeMesh(), C, { init: "seed=02:00:00:00:00:01" });
  await gone.alloc.start();
  assert.equal(
    gone.alloc.status(),
    "all IP ranges owned by unreachable peers - use 'rmpeer' if they are dead",
  );
  stopAll([a, gone]);
});

Deno.test("Allocator shutdown: hands our ranges to a live peer and cancels waiting calls", async () => {
  const [mesh, peers] = await cluster([A, B], { init: "seed=02:00:00:00:00:01,02:00:00:00:00:02" });
  const [a, b] = peers;
  const waiting = a.alloc.allocate("x", parseCidr("10.31.0.0/24"));
  await a.alloc.shutdown();
  await assert.rejects(waiting, /range 10.31.0.0\/24 out of bounds|cancelled/);
  await assert.rejects(a.alloc.allocate("y"), /Allocate request for y cancelled/);
  await mesh.deliverAll();
  assert.deepEqual(b.alloc.report().Entries.map((e) => e.Peer), [
    formatPeerName(B),
    formatPeerName(B),
  ]);
  stopAll(peers);
});

Deno.test("Allocator: a cancelled allocation leaves the queue", async () => {
  const [, [a]] = await cluster([A]);
  const ctl = new AbortController();
  const p = a.alloc.allocate("x", undefined, { signal: ctl.signal });
  assert.deepEqual(a.alloc.report().PendingAllocates, ["x 10.32.0.0/12"]);
  ctl.abort();
  await assert.rejects(p, /Allocate request for x cancelled/);
  assert.equal(a.alloc.report().PendingAllocates, null);
  a.alloc.stop();
});

Deno.test("Allocator: a claim waits a grace period for an owner not reachable yet", async () => {
  const now = { t: 1_000_000 };
  const [mesh, peers] = await cluster([A, B], {
    init: "seed=02:00:00:00:00:01,02:00:00:00:00:02",
    now,
  });
  const [a, b] = peers;
  const onB = { addr: 0x0a280005, prefix: 12 }; // 10.40.0.5, in B's half
  mesh.setLink(A, B, false); // B is in the ring but cannot be reached (yet)
  let settled: string | undefined;
  const waiting = a.alloc.claim("c1", onB).then(() => settled = "ok", (e) => settled = e.message);
  await mesh.deliverAll();
  assert.equal(settled, undefined, "not denied at once");
  now.t += CLAIM_UNREACHABLE_GRACE_MS - 1;
  a.alloc.tick();
  await mesh.deliverAll();
  assert.equal(settled, undefined, "still within the grace period");
  mesh.setLink(A, B, true); // the topology arrived: B answers
  a.alloc.tick();
  await mesh.deliverAll();
  await waiting;
  assert.equal(settled, "ok");
  assert.deepEqual(b.alloc.report().Entries.length > 0, true);

  mesh.setLink(A, B, false);
  const late = a.alloc.claim("c2", { addr: 0x0a280009, prefix: 12 });
  await mesh.deliverAll();
  now.t += CLAIM_UNREACHABLE_GRACE_MS;
  a.alloc.tick();
  await assert.rejects(late, /address 10.40.0.9 is owned by other peer 02:00:00:00:00:02 \(h2\)/);
  stopAll(peers);
});

Deno.test("Allocator: a claim sent to a peer that gave the address away follows it to its new owner", async () => {
  const [mesh, peers] = await cluster([A, B, C], { init: "seed=02:00:00:00:00:01" });
  const [, b, c] = peers;
  mesh.gossipAll();
  await mesh.deliverAll();
  // B gets space from A while C hears nothing of it: C's ring still says A owns everything.
  mesh.drop = (m) => m.to === C;
  const allocated = b.alloc.allocate("x");
  await mesh.deliverAll();
  const got = await allocated;
  mesh.drop = undefined;
  const target = { addr: got.addr + 1, prefix: 12 }; // in B's range now
  assert.match(b.alloc.report().Entries.map((e) => e.Peer).join(), /02:00:00:00:00:02/);
  const claimed = c.alloc.claim("c", target);
  await mesh.deliverAll({ random: () => 0 }); // in order, as over TCP
  await claimed; // A says no after sending its ring; C asks B, which gives it
  const other = b.alloc.claim("other", target);
  await mesh.deliverAll();
  await assert.rejects(other, /owned by other peer 02:00:00:00:00:03 \(h3\)/, "C holds it now");
  stopAll(peers);
});

Deno.test("Allocator consensus=1: calls queued before start are answered in order once the ring exists", async () => {
  const mesh = new FakeMesh();
  const p = makePeer(mesh, A, { init: "consensus=1", range: "10.0.0.0/24" });
  const primed = p.alloc.prime();
  const got = [p.alloc.allocate("c1"), p.alloc.allocate("c2"), p.alloc.allocate("c3")];
  assert.deepEqual(p.alloc.report().PendingAllocates, [
    "c1 10.0.0.0/24",
    "c2 10.0.0.0/24",
    "c3 10.0.0.0/24",
  ]);
  await p.alloc.start();
  await primed;
  assert.deepEqual((await Promise.all(got)).map(ip), ["10.0.0.1/24", "10.0.0.2/24", "10.0.0.3/24"]);
  assert.equal(p.alloc.report().PendingAllocates, null);
  assert.equal(p.alloc.status(), "ready");
  assert.equal(p.store.saved?.owned.size, 3, "saved before answering");
  p.alloc.stop();
});
