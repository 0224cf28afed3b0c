import assert from "node:assert/strict";
import { UNKNOWN_PEER_NAME } from "../lib/peer_name.ts";
import { clipToRing, gossipStep, tieBreakHeld } from "./_gossip_in.ts";
import type { GossipState } from "./gossip_codec.ts";
import type { RingData } from "./ring/mod.ts";

const A = 0x020000000001n, B = 0x020000000002n, C = 0x020000000003n;
const ring: RingData = {
  start: 0,
  end: 16,
  peer: A,
  seeds: [A, B],
  entries: [{ token: 0, peer: A, version: 1, free: 8 }, { token: 8, peer: B, version: 1, free: 8 }],
};
const state = (extra: Partial<GossipState> = {}): GossipState => ({
  now: 0n,
  nicknames: new Map(),
  ...extra,
});

Deno.test("gossipStep: merge a ring, answer a peer without one, follow Paxos, or start consensus", () => {
  const paxos: NonNullable<GossipState["paxos"]> = [];
  const cases: [string, GossipState, bigint, { hasRing: boolean; elector: boolean }, string][] = [
    ["a ring", state({ ring }), B, { hasRing: true, elector: true }, "merge"],
    ["no ring to us with one", state(), B, { hasRing: true, elector: true }, "send-ring"],
    [
      "no ring, sender unknown",
      state(),
      UNKNOWN_PEER_NAME,
      { hasRing: true, elector: true },
      "nothing",
    ],
    ["Paxos, we have none", state({ paxos }), B, { hasRing: false, elector: true }, "paxos"],
    ["nothing, elector", state(), B, { hasRing: false, elector: true }, "establish"],
    ["nothing, observer", state(), B, { hasRing: false, elector: false }, "nothing"],
  ];
  for (const [name, s, sender, us, want] of cases) {
    assert.equal(gossipStep(s, sender, us).do, want, name);
  }
});

Deno.test("tieBreakHeld: the larger peer name keeps a range two peers took over", () => {
  // A and C both took over dead B's range at token 8, at the same version.
  const ours: RingData = {
    ...ring,
    entries: [ring.entries[0], { token: 8, peer: A, version: 101, free: 8 }],
  };
  const theirs: RingData = {
    ...ring,
    peer: C,
    entries: [ring.entries[0], { token: 8, peer: C, version: 101, free: 8 }],
  };
  const holds = new Map([[8, { from: B, until: 1e12 }]]);
  const t = tieBreakHeld(ours, theirs, { us: A, holds }, (p) => `p${p & 0xffn}`);
  assert.deepEqual(t.released, [8]);
  assert.equal(t.ours?.entries[1].peer, C);
  assert.deepEqual(t.notes.map((n) => n.level), ["warn"]);
  assert.match(t.notes[0].text, /p3 also took over the range at 0\.0\.0\.8; it wins/);
  const won = tieBreakHeld(theirs, ours, { us: C, holds }, String);
  assert.deepEqual(won.released, []);
  assert.equal(won.ours, undefined);
  assert.equal(won.incoming.entries[1].peer, C, "the loser's entry is replaced by ours");
});

Deno.test("clipToRing keeps the part of a request inside the ring", () => {
  assert.deepEqual(clipToRing({ start: 10, end: 20 }, { start: 5, end: 15 }), {
    start: 10,
    end: 15,
  });
  const none = clipToRing({ start: 10, end: 20 }, { start: 30, end: 40 });
  assert.ok(none.start >= none.end);
});
