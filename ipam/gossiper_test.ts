import assert from "node:assert/strict";
import type { Range } from "./address/mod.ts";
import { encodeGossipState, encodeIpamUnicast, type GossipState } from "./gossip_codec.ts";
import { IpamGossipData, IpamGossiper, type IpamGossipTarget } from "./gossiper.ts";
import { emptyClaims, nodeKey } from "./paxos/mod.ts";

function recorder() {
  const calls: string[] = [];
  const encoded: (string[] | undefined)[] = [];
  const clock = { stamp: "s1" };
  const target: IpamGossipTarget = {
    encodeGossip: (only) => {
      encoded.push(only && [...only].sort());
      return encodeGossipState({ now: 5n, nicknames: new Map([[1n, "h1"]]), paxos: [] });
    },
    gossipStamp: () => clock.stamp,
    onGossipState: (s: bigint, st: GossipState) => void calls.push(`state ${s} ${st.now}`),
    onSpaceRequest: (s: bigint, r: Range) => void calls.push(`request ${s} ${r.start}-${r.end}`),
    onSpaceRequestDenied: (s: bigint, r: Range) =>
      void calls.push(`denied ${s} ${r.start}-${r.end}`),
  };
  return { calls, encoded, clock, target, gossiper: new IpamGossiper(target) };
}

Deno.test("IpamGossiper: dispatches unicasts, broadcasts and gossip", () => {
  const { calls, gossiper } = recorder();
  const state = encodeGossipState({ now: 7n, nicknames: new Map() });
  gossiper.onGossipUnicast(2n, encodeIpamUnicast({ type: 0, range: { start: 10, end: 20 } }));
  gossiper.onGossipUnicast(2n, encodeIpamUnicast({ type: 2, range: { start: 10, end: 11 } }));
  gossiper.onGossipUnicast(
    2n,
    encodeIpamUnicast({ type: 1, state: { now: 8n, nicknames: new Map() } }),
  );
  const relay = gossiper.onGossipBroadcast(3n, state);
  assert.equal(gossiper.onGossip(state), null);
  assert.deepEqual(calls, [
    "request 2 10-20",
    "denied 2 10-11",
    "state 2 8",
    "state 3 7",
    "state 0 7",
  ]);
  // The relayed data is our current whole state (nothing limited it), and merging keeps it.
  assert.deepEqual(relay!.encode(), [
    encodeGossipState({ now: 5n, nicknames: new Map([[1n, "h1"]]), paxos: [] }),
  ]);
  assert.equal(relay!.merge(gossiper.gossip()), relay);
});

Deno.test("IpamGossiper: a Paxos broadcast is relayed as the claims of the nodes it carried", () => {
  const { encoded, gossiper } = recorder();
  const a = { name: 1n, uid: 7n };
  const b = { name: 2n, uid: 9n };
  const paxos: [typeof a, ReturnType<typeof emptyClaims>][] = [[a, emptyClaims()], [
    b,
    emptyClaims(),
  ]];
  const relay = gossiper.onGossipBroadcast(
    3n,
    encodeGossipState({ now: 1n, nicknames: new Map(), paxos }),
  );
  relay!.encode();
  assert.deepEqual(encoded, [[nodeKey(a), nodeKey(b)].sort()]);
  const ring = {
    start: 0,
    end: 16,
    peer: 1n,
    entries: [{ token: 0, peer: 1n, version: 0, free: 16 }],
    seeds: [1n],
  };
  gossiper.onGossipBroadcast(3n, encodeGossipState({ now: 1n, nicknames: new Map(), ring }))!
    .encode();
  assert.deepEqual(encoded[1], undefined, "a ring is relayed as our whole state");
});

Deno.test("IpamGossipData: encodes once per change of state however many connections send it", () => {
  const { encoded, clock, target } = recorder();
  const data = new IpamGossipData(target);
  for (let i = 0; i < 50; i++) data.encode();
  assert.equal(encoded.length, 1);
  clock.stamp = "s2";
  data.encode();
  data.encode();
  assert.equal(encoded.length, 2);
});

Deno.test("IpamGossipData: merging unites the Paxos nodes; whole state wins", () => {
  const { target } = recorder();
  const whole = new IpamGossipData(target);
  const a = new IpamGossipData(target, new Set(["a"]));
  const a2 = new IpamGossipData(target, new Set(["a"]));
  const b = new IpamGossipData(target, new Set(["b"]));
  assert.equal(whole.merge(a), whole);
  assert.equal(a.merge(whole), whole);
  assert.equal(a.merge(a2), a2, "the newer object, shared by every connection");
  assert.deepEqual([...(a.merge(b) as IpamGossipData).only!].sort(), ["a", "b"]);
});

Deno.test("IpamGossiper: hostile payloads throw (the mesh then closes the connection)", () => {
  const { calls, gossiper } = recorder();
  assert.throws(
    () => gossiper.onGossipUnicast(2n, new Uint8Array([])),
    /Cannot handle IPAM unicast from 00:00:00:00:00:02/,
  );
  assert.throws(
    () => gossiper.onGossipUnicast(2n, new Uint8Array([9, 1, 2])),
    /unknown message type 9/,
  );
  const good = encodeIpamUnicast({ type: 0, range: { start: 1, end: 2 } });
  assert.throws(() => gossiper.onGossipUnicast(2n, good.subarray(0, good.length - 2)));
  assert.throws(() => gossiper.onGossipBroadcast(2n, new Uint8Array([1, 2, 3])));
  assert.throws(() => gossiper.onGossip(new Uint8Array([0xff])));
  assert.deepEqual(calls, []);
});
