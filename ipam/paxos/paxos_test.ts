import assert from "node:assert/strict";
import {
  emptyClaims,
  type NodeID,
  nodeKey,
  normalizeConsensus,
  PaxosNode,
  PaxosObserver,
  precedes,
  quorumFor,
} from "./paxos.ts";
import { prng } from "../../tests/harness/prng.ts";

const id = (name: bigint, uid = 100n + name): NodeID => ({ name, uid });

Deno.test("paxos: quorum is a strict majority; proposals order by round, name, uid", () => {
  assert.deepStrictEqual([1, 2, 3, 4, 5].map(quorumFor), [1, 2, 2, 3, 3]);
  const p = (round: bigint, name: bigint, uid: bigint) => ({ round, proposer: { name, uid } });
  assert.ok(precedes(p(1n, 9n, 9n), p(2n, 1n, 1n)));
  assert.ok(precedes(p(2n, 1n, 9n), p(2n, 2n, 1n)));
  assert.ok(precedes(p(2n, 2n, 1n), p(2n, 2n, 2n)));
  assert.ok(!precedes(p(2n, 2n, 2n), p(2n, 2n, 2n)));
  assert.ok(precedes(emptyClaims().promise, p(1n, 0n, 0n)));
  assert.deepStrictEqual(normalizeConsensus([3n, 1n, 3n, 2n]), [1n, 2n, 3n]);
});

Deno.test("paxos: a single node with quorum 1 decides on its own name at once", () => {
  const node = new PaxosNode(id(1n), 1);
  node.propose();
  const c = node.consensus();
  assert.ok(c.ok);
  assert.deepStrictEqual(c.value?.value, [1n]);
  assert.deepStrictEqual(node.status(), { knownNodes: 1, quorum: 1 });
  assert.throws(() => new PaxosNode(id(2n), 0).propose(), /no quorum set/);
});

Deno.test("paxos: update keeps the later promise and accepted per node, reports change", () => {
  const node = new PaxosNode(id(1n), 2);
  const other = id(2n);
  const claims = emptyClaims();
  claims.promise = { round: 3n, proposer: other };
  assert.equal(node.update([[other, claims]]), true);
  assert.equal(node.update([[other, claims]]), false, "nothing new");
  const older = emptyClaims();
  older.promise = { round: 2n, proposer: other };
  assert.equal(node.update([[other, older]]), false, "older promise ignored");
  // Propose supersedes every round seen.
  node.propose();
  const mine = node.gossipState().find(([n]) => n.name === 1n)![1];
  assert.equal(mine.promise.round, 4n);
  assert.equal(node.think(), false, "thinking again changes nothing without news");
});

Deno.test("paxos: an observer never starts, learns or gossips", () => {
  const obs = new PaxosObserver();
  obs.propose();
  assert.equal(obs.gossipState(), undefined);
  assert.equal(obs.update([[id(1n), emptyClaims()]]), false);
  assert.equal(obs.think(), false);
  assert.deepStrictEqual(obs.consensus(), { ok: false });
  assert.equal(obs.isElector(), false);
  assert.equal(new PaxosNode(id(1n), 2).isElector(), true);
});

/**
 * Three (or more) nodes exchange full gossip states over a lossy network:
 * messages are delayed, reordered, duplicated and dropped; each node
 * proposes now and then. Returns the value each node saw decided.
 */
function simulate(seed: number, count: number, quorum: number) {
  const rand = prng(seed);
  const nodes = Array.from({ length: count }, (_, i) => new PaxosNode(id(BigInt(i + 1)), quorum));
  const queue: { to: number; state: ReturnType<PaxosNode["gossipState"]> }[] = [];
  const decided: (bigint[] | undefined)[] = nodes.map(() => undefined);
  const send = (from: number) => {
    for (let to = 0; to < count; to++) {
      if (to !== from) queue.push({ to, state: nodes[from].gossipState() });
    }
  };
  for (let step = 0; step < 4000 && decided.some((d) => !d); step++) {
    const r = rand();
    if (r < 0.05) {
      const n = Math.floor(rand() * count);
      nodes[n].propose();
      send(n);
    } else if (queue.length > 0) {
      const i = Math.floor(rand() * queue.length);
      const msg = queue[i];
      if (rand() < 0.7) queue.splice(i, 1); // else: stays queued, delivered again later
      if (rand() < 0.1) continue; // dropped
      const node = nodes[msg.to];
      if (node.update(msg.state) && node.think()) send(msg.to);
    } else {
      send(Math.floor(rand() * count));
    }
    nodes.forEach((node, n) => {
      const c = node.consensus();
      if (!c.ok) return;
      const value = normalizeConsensus(c.value!.value);
      if (decided[n]) assert.deepStrictEqual(value, decided[n], `seed ${seed}: node ${n} flipped`);
      decided[n] = value;
    });
  }
  return decided;
}

Deno.test("paxos: 3 nodes agree on one value under reordering, duplication and loss", () => {
  for (let seed = 1; seed <= 60; seed++) {
    const decided = simulate(seed, 3, quorumFor(3));
    assert.ok(decided.every((d) => d), `seed ${seed}: every node decided`);
    for (const d of decided) assert.deepStrictEqual(d, decided[0], `seed ${seed}: same value`);
    assert.ok(decided[0]!.length >= 2, `seed ${seed}: value names at least a quorum`);
  }
  const five = simulate(7, 5, quorumFor(5));
  for (const d of five) assert.deepStrictEqual(d, five[0]);
});

Deno.test("paxos: version, promisedTo and gossipState limited to some nodes", () => {
  const node = new PaxosNode(id(1n), 2);
  assert.equal(node.promisedTo(), undefined);
  const v0 = node.version;
  const other = id(2n);
  const claims = emptyClaims();
  claims.promise = { round: 3n, proposer: other };
  node.update([[other, claims]]);
  assert.ok(node.version > v0, "news moves the version");
  const v1 = node.version;
  node.update([[other, claims]]);
  assert.equal(node.version, v1, "no news, same version");
  assert.equal(node.think(), true);
  assert.deepStrictEqual(node.promisedTo(), other);
  assert.ok(node.version > v1);
  node.propose();
  assert.deepStrictEqual(node.promisedTo(), id(1n));
  assert.deepStrictEqual(node.gossipState(new Set([nodeKey(id(1n))])).map(([n]) => n), [id(1n)]);
  assert.deepStrictEqual(node.gossipState(new Set(["9/9"])), []);
  assert.equal(node.gossipState().length, 2);
  assert.equal(new PaxosObserver().promisedTo(), undefined);
});

/**
 * Nodes send only their own claims, as the allocator does: to everyone while
 * they lead the proposal they promised, otherwise to that proposer; messages
 * are reordered, duplicated and lost; nodes re-send or propose now and then.
 * Only proposers see a quorum, so each decision is spread as the allocator
 * spreads its ring: copied to every node. Returns the decided values.
 */
function simulateOwnClaims(seed: number, count: number) {
  const rand = prng(seed);
  const quorum = quorumFor(count);
  const nodes = Array.from({ length: count }, (_, i) => new PaxosNode(id(BigInt(i + 1)), quorum));
  const queue: { to: number; state: ReturnType<PaxosNode["gossipState"]> }[] = [];
  const decided: (bigint[] | undefined)[] = nodes.map(() => undefined);
  const send = (from: number) => {
    const node = nodes[from];
    const to = node.promisedTo();
    if (!to) return;
    const own = node.gossipState(new Set([nodeKey(node.id)]));
    const leads = to.name === node.id.name;
    for (let n = 0; n < count; n++) {
      if (n !== from && (leads || nodes[n].id.name === to.name)) queue.push({ to: n, state: own });
    }
  };
  for (let step = 0; step < 20_000 && decided.some((d) => !d); step++) {
    const r = rand();
    if (r < 0.01) {
      const n = Math.floor(rand() * count);
      nodes[n].propose();
      send(n);
    } else if (r < 0.03) {
      send(Math.floor(rand() * count));
    } else if (queue.length > 0) {
      const i = Math.floor(rand() * queue.length);
      const msg = queue[i];
      if (rand() < 0.8) queue.splice(i, 1);
      if (rand() < 0.1) continue;
      const node = nodes[msg.to];
      if (node.update(msg.state) && node.think()) send(msg.to);
    }
    nodes.forEach((node) => {
      const c = node.consensus();
      if (!c.ok) return;
      const value = normalizeConsensus(c.value!.value);
      for (let m = 0; m < count; m++) {
        if (decided[m]) assert.deepStrictEqual(value, decided[m], `seed ${seed}: two values`);
        decided[m] = value;
      }
    });
  }
  return decided;
}

Deno.test("paxos: own-claims messages (to all from the leader, else to the proposer) agree under loss", () => {
  for (let seed = 1; seed <= 30; seed++) {
    const decided = simulateOwnClaims(seed, 9);
    assert.ok(decided.every((d) => d), `seed ${seed}: decided`);
    assert.ok(decided[0]!.length >= quorumFor(9), `seed ${seed}: value names at least a quorum`);
  }
});
