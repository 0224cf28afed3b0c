import assert from "node:assert/strict";
import { discardLogger } from "../../lib/log.ts";
import type { PeerName } from "../../lib/peer_name.ts";
import { Consensus, type ConsensusHost, defaultSpreadMs } from "./consensus.ts";
import { emptyClaims, type NodeID, nodeKey, PaxosNode, PaxosObserver } from "./paxos.ts";

const US: NodeID = { name: 1n, uid: 11n };
const OTHER: NodeID = { name: 2n, uid: 22n };

interface RigOptions {
  quorum?: number;
  clusterSize?: number;
  known?: boolean;
  spreadMs?: number;
  gatherMs?: number;
  observer?: boolean;
}

function rig(opts: RigOptions = {}) {
  const sent: string[] = [];
  const queued: (() => void)[] = [];
  const decided: PeerName[][] = [];
  const clock = { t: 1000 };
  const state = { ring: false };
  const host: ConsensusHost = {
    quorum: () => opts.quorum ?? 2,
    clusterSize: () => opts.clusterSize ?? 3,
    isKnownPeer: () => opts.known ?? true,
    hasRing: () => state.ring,
    broadcast: (only) => void sent.push(`broadcast ${only ? [...only].join(",") : "all"}`),
    unicast: (dst, only) => void sent.push(`unicast ${dst} ${[...only].join(",")}`),
    later: (f) => void queued.push(f),
    now: () => clock.t,
    random: () => 0.5,
    decided: (peers) => void decided.push(peers),
    log: discardLogger,
  };
  const participant = opts.observer ? new PaxosObserver() : new PaxosNode(US, 0);
  const c = new Consensus(participant, US, host, {
    spreadMs: () => opts.spreadMs ?? 0,
    gatherMs: () => opts.gatherMs ?? 0,
    stallMs: 5000,
  });
  const run = () => {
    for (const f of queued.splice(0)) f();
  };
  return { c, sent, run, decided, clock, state };
}

/** Claims of `who` promising `to`'s proposal `round` (what a follower sends its proposer). */
function promiseOf(who: NodeID, to: NodeID, round = 1n) {
  const claims = emptyClaims();
  claims.promise = { round, proposer: { ...to } };
  return [[who, claims]] as [NodeID, typeof claims][];
}

/** A proposal of OTHER, as its gossip would carry it. */
function proposalOf(other: NodeID) {
  const node = new PaxosNode(other, 2);
  node.propose();
  return node.gossipState();
}

Deno.test("Consensus: a proposer broadcasts only its own claims, once per task", () => {
  const { c, sent, run } = rig();
  c.start();
  c.start(); // already waiting: nothing more
  run();
  assert.deepEqual(sent, [`broadcast ${nodeKey(US)}`]);
  assert.equal(c.awaiting, true);
});

Deno.test("Consensus: a follower sends its claims to the proposer it promised, or to all if unknown", () => {
  for (const known of [true, false]) {
    const { c, sent, run } = rig({ known });
    c.received(proposalOf(OTHER));
    c.received(proposalOf({ name: 3n, uid: 33n })); // a higher proposal in the same task
    run();
    assert.deepEqual(sent, [known ? `unicast 3 ${nodeKey(US)}` : `broadcast ${nodeKey(US)}`]);
  }
});

Deno.test("Consensus: quorum 1 decides at once; an observer asks by broadcasting its (empty) state", () => {
  const one = rig({ quorum: 1, spreadMs: 100 });
  one.c.start();
  assert.deepEqual(one.decided, [[1n]]);
  const obs = rig({ observer: true, spreadMs: 100 });
  obs.c.start();
  obs.run();
  assert.deepEqual(obs.sent, ["broadcast all"]);
});

Deno.test("Consensus: nothing is sent once the ring exists", () => {
  const { c, sent, run, state } = rig();
  c.start();
  state.ring = true;
  run();
  c.tick();
  c.tick();
  run();
  assert.deepEqual(sent, []);
});

Deno.test("Consensus: a delayed first proposal is skipped after a recent promise, and cancelled by stop", async () => {
  const heard = rig({ spreadMs: 40 }); // delay 20 ms
  heard.c.start();
  heard.c.received(proposalOf(OTHER));
  await new Promise((r) => setTimeout(r, 40));
  heard.run();
  assert.deepEqual(heard.sent, [`unicast 2 ${nodeKey(US)}`], "promised OTHER, did not propose");
  const stopped = rig({ spreadMs: 40 });
  stopped.c.start();
  stopped.c.stop();
  await new Promise((r) => setTimeout(r, 40));
  stopped.run();
  assert.deepEqual(stopped.sent, []);
  const alone = rig({ spreadMs: 40 });
  alone.c.start();
  await new Promise((r) => setTimeout(r, 40));
  alone.run();
  assert.deepEqual(alone.sent, [`broadcast ${nodeKey(US)}`], "nobody else proposed: we do");
});

Deno.test("defaultSpreadMs: 1 ms per peer, at most 250", () => {
  assert.deepEqual([0, 1, 100, 200, 1000].map(defaultSpreadMs), [0, 1, 100, 200, 250]);
});

Deno.test("Consensus: with a quorum of promises the proposer waits for the rest, up to gatherMs", async () => {
  const accepted = (c: Consensus) =>
    c.participant.gossipState()!.find(([n]) => n.name === 1n)![1].accepted.round;
  // All three of the expected cluster promise: accept at once, naming all three.
  const all = rig({ gatherMs: 1000 });
  all.c.start();
  all.c.received(promiseOf(OTHER, US));
  assert.equal(accepted(all.c), 0n, "a quorum (2 of 3) promised: wait for the third");
  all.c.received(promiseOf({ name: 3n, uid: 33n }, US));
  assert.equal(accepted(all.c), 1n, "everyone promised: accept");
  const value = all.c.participant.gossipState()!.find(([n]) => n.name === 1n)![1].acceptedVal;
  assert.deepEqual(value.value, [1n, 2n, 3n]);
  all.c.stop();
  // The third never answers: accept with the quorum when gatherMs runs out.
  const some = rig({ gatherMs: 30 });
  some.c.start();
  some.c.received(promiseOf(OTHER, US));
  assert.equal(accepted(some.c), 0n);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(accepted(some.c), 1n);
  some.run();
  assert.deepEqual(
    some.sent,
    [`broadcast ${nodeKey(US)}`],
    "proposal and acceptance in one message",
  );
});
