import assert from "node:assert/strict";
import { EncodeCache, encodeOutgoing, outgoingState, VersionedMap } from "./_gossip_out.ts";
import { decodeGossipState, encodeGossipState } from "./gossip_codec.ts";
import { nodeKey, PaxosNode } from "./paxos/mod.ts";

Deno.test("VersionedMap: counts real changes only", () => {
  const m = new VersionedMap<number, string>();
  m.set(1, "a");
  m.set(1, "a");
  m.set(1, "b");
  m.delete(7);
  m.delete(1);
  m.clear();
  assert.equal(m.version, 3);
  m.set(2, "x");
  m.clear();
  assert.equal(m.version, 5);
});

Deno.test("outgoingState: whole state, or the claims and nicknames of some Paxos nodes; ring wins", () => {
  const us = { name: 1n, uid: 11n };
  const paxos = new PaxosNode(us, 2);
  const other = { name: 2n, uid: 22n };
  const theirs = new PaxosNode(other, 2);
  theirs.propose();
  paxos.update(theirs.gossipState());
  paxos.think();
  const nicknames = new Map([[1n, "h1"], [2n, "h2"], [3n, "h3"]]);
  const base = { now: 7_900, ourName: 1n, nicknames, ring: undefined, paxos };
  const whole = outgoingState(base);
  assert.equal(whole.now, 7n);
  assert.equal(whole.paxos!.length, 2);
  assert.equal(whole.nicknames.size, 3);
  const own = outgoingState({ ...base, only: new Set([nodeKey(us)]) });
  assert.deepEqual(own.paxos!.map(([id]) => id), [us]);
  assert.deepEqual([...own.nicknames], [[1n, "h1"]]);
  const theirsOnly = outgoingState({ ...base, only: new Set([nodeKey(other)]) });
  assert.deepEqual([...theirsOnly.nicknames.keys()], [1n, 2n]);
  const ring = {
    start: 0,
    end: 16,
    peer: 1n,
    entries: [{ token: 0, peer: 1n, version: 0, free: 16 }],
    seeds: [1n],
  };
  const withRing = outgoingState({ ...base, ring, only: new Set([nodeKey(us)]) });
  assert.equal(withRing.paxos, undefined);
  assert.deepEqual(withRing.ring, ring);
  assert.equal(withRing.nicknames.size, 3);
  // The bytes are the codec's, unchanged.
  assert.deepEqual(encodeOutgoing(base), encodeGossipState(whole));
  assert.deepEqual(decodeGossipState(encodeOutgoing(base)).state.paxos!.length, 2);
});

Deno.test("EncodeCache: one encoding per key", () => {
  const cache = new EncodeCache();
  let made = 0;
  const make = () => new Uint8Array([++made]);
  for (let i = 0; i < 10; i++) cache.get("a", make);
  assert.deepEqual(cache.get("a", make), new Uint8Array([1]));
  assert.deepEqual(cache.get("b", make), new Uint8Array([2]));
  assert.equal(cache.made, 2);
});
