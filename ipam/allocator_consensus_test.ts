import assert from "node:assert/strict";
import type { PeerName } from "../lib/peer_name.ts";
import { decodeGossipState, decodeIpamUnicast } from "./gossip_codec.ts";
import { A, B, C, cluster, ip, makePeer, ringOf, rng, stopAll } from "./fake_cluster.ts";
import { FakeMesh, type Message } from "./fake_mesh.ts";

/** Paxos claims a message carries (0 for a ring or a space request). */
function claimsIn(m: Message): number {
  const state = m.kind === "unicast"
    ? (() => {
      const u = decodeIpamUnicast(m.payload);
      return u.type === 1 ? u.state : undefined;
    })()
    : decodeGossipState(m.payload).state;
  return state?.paxos?.length ?? 0;
}

Deno.test("Allocator consensus: 60 peers asking at once agree on one ring in one pass, O(N²) messages", async () => {
  const n = 60;
  const names: PeerName[] = Array.from({ length: n }, (_, i) => 0x020000000001n + BigInt(i));
  const [mesh, peers] = await cluster(names, { init: `consensus=${n}` });
  let largest = 0;
  mesh.drop = (m) => {
    largest = Math.max(largest, claimsIn(m));
    return false;
  };
  const got = new Map<PeerName, string>();
  for (const p of peers) p.alloc.allocate(`c-${p.name}`).then((a) => void got.set(p.name, ip(a)));
  let ticks = 0;
  for (; ticks < 6; ticks++) {
    await mesh.deliverAll({ random: rng(60 + ticks), duplicates: 0.05 });
    if (got.size === n) break;
    for (const p of peers) p.alloc.tick();
  }
  assert.equal(got.size, n, `every peer has an address after ${ticks} ticks`);
  assert.equal(ticks, 0, "no tick was needed: no round was superseded");
  assert.equal(new Set(got.values()).size, n, "addresses are distinct");
  const owners = (p: typeof peers[0]) =>
    p.alloc.report().Entries.map((e) => `${e.Token}/${e.Size}@${e.Peer}`);
  for (const p of peers) assert.deepEqual(owners(p), owners(peers[0]), "one ring everywhere");
  const seeds = new Set(peers[0].alloc.report().Entries.map((e) => e.Peer));
  assert.equal(seeds.size, n, "the agreed value names every peer");
  // Go broadcasts its whole state (N claims) to N−1 peers on every change: O(N³).
  assert.ok(mesh.delivered < 3 * n * n, `${mesh.delivered} messages for ${n} peers`);
  assert.ok(largest <= 1, `Paxos messages carry only the sender's own claims (saw ${largest})`);
  assert.deepEqual(mesh.errors, []);
  stopAll(peers);
});

Deno.test("Allocator consensus: no new round while one is running; a stalled round is proposed again", async () => {
  // Quorum 4 of consensus=7 cannot be reached by three peers: the round never ends.
  const [mesh, [a, b, c]] = await cluster([A, B, C], { init: "consensus=7" });
  const proposals = () => mesh.pendingFrom(A, "broadcast");
  a.alloc.allocate("x");
  await mesh.settle();
  assert.equal(proposals(), 2, "the first proposal goes to both peers");
  a.alloc.tick();
  await mesh.settle();
  assert.equal(proposals(), 2, "a tick right after proposing does not propose again");
  await mesh.deliverAll({ random: rng(1) }); // B and C promise: the round is moving
  a.alloc.tick();
  await mesh.settle();
  assert.equal(proposals(), 0, "promises arrived since the last tick: no new round");
  assert.equal(a.alloc.status(), "awaiting consensus (quorum: 4, known: 3)");
  a.alloc.tick();
  await mesh.settle();
  assert.equal(proposals(), 2, "nothing happened for a whole tick: propose again");
  stopAll([a, b, c]);
});

Deno.test("Allocator consensus: a peer that missed the ring's broadcast gets it from its proposer within two ticks", async () => {
  const [mesh, peers] = await cluster([A, B, C]);
  const [a, b, c] = peers;
  // C hears A's proposal and nothing more from A (not its acceptance, not the ring).
  let fromA = 0;
  mesh.drop = (m) => m.from === A && m.to === C && ++fromA > 1;
  const x = a.alloc.allocate("x");
  await mesh.deliverAll({ random: rng(3) });
  await x;
  mesh.drop = undefined;
  assert.equal(c.alloc.report().Entries.length, 0, "C has no ring yet");
  c.alloc.tick();
  await mesh.deliverAll();
  assert.equal(c.alloc.report().Entries.length, 0, "C heard from A in the last tick: it waits");
  c.alloc.tick(); // nothing happened for a whole tick: C asks its proposer again
  await mesh.deliverAll();
  assert.deepEqual(ringOf(c), ringOf(a));
  assert.deepEqual(ringOf(b), ringOf(a));
  stopAll(peers);
});

Deno.test("Allocator consensus: spread proposals — a peer that heard a proposal does not start its own", async () => {
  // consensus=7 (quorum 4) cannot finish with three peers, so every delayed proposal comes due.
  for (const hearsA of [true, false]) {
    const mesh = new FakeMesh();
    // A proposes at once (random 0); B and C wait 20 ms (random 0.5 of a 40 ms spread).
    const peers = [A, B, C].map((n) =>
      makePeer(mesh, n, {
        init: "consensus=7",
        proposalSpreadMs: 40,
        random: () => (n === A ? 0 : 0.5),
      })
    );
    for (const p of peers) await p.alloc.start();
    if (!hearsA) mesh.drop = (m) => m.from === A;
    for (const p of peers) p.alloc.allocate(`c${p.name}`).catch(() => {});
    await mesh.deliverAll({ random: rng(5) });
    await new Promise((r) => setTimeout(r, 60));
    await mesh.settle();
    const others = mesh.sentFrom(B, "broadcast") + mesh.sentFrom(C, "broadcast");
    if (hearsA) assert.equal(others, 0, "B and C promised A's proposal and did not propose");
    else assert.equal(others, 4, "without A's proposal, B and C propose when their delay ends");
    stopAll(peers);
  }
});
