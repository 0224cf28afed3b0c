import assert from "node:assert/strict";
import type { Range } from "./address.ts";
import { encodeGossipState, encodeIpamUnicast, type GossipState } from "./gossip_codec.ts";
import { IpamGossiper, type IpamGossipTarget } from "./gossiper.ts";

function recorder() {
  const calls: string[] = [];
  const target: IpamGossipTarget = {
    encodeGossip: () => encodeGossipState({ now: 5n, nicknames: new Map([[1n, "h1"]]), paxos: [] }),
    onGossipState: (s: bigint, st: GossipState) => void calls.push(`state ${s} ${st.now}`),
    onSpaceRequest: (s: bigint, r: Range) => void calls.push(`request ${s} ${r.start}-${r.end}`),
    onSpaceRequestDenied: (s: bigint, r: Range) =>
      void calls.push(`denied ${s} ${r.start}-${r.end}`),
  };
  return { calls, gossiper: new IpamGossiper(target) };
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
  // The relayed data is our current state, and merging keeps it.
  assert.deepEqual(relay!.encode(), [
    encodeGossipState({ now: 5n, nicknames: new Map([[1n, "h1"]]), paxos: [] }),
  ]);
  assert.equal(relay!.merge(gossiper.gossip()), relay);
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
