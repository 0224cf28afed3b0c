import assert from "node:assert/strict";
import type { PeerName } from "../lib/peer_name.ts";
import type { GossipData } from "./gossip_types.ts";
import { Peers, type TopologyUpdateResult } from "./peers.ts";
import { decodeTopology, encodeTopology } from "./topology_codec/codec.ts";
import { type TopologyCodec, TopologyGossipData, TopologyGossiper } from "./topology_gossip.ts";
import type { PeerSummary } from "./topology_types.ts";

function summary(name: PeerName, over: Partial<PeerSummary> = {}): PeerSummary {
  return {
    name,
    nickName: `n${name}`,
    uid: 100n + name,
    version: 0n,
    shortID: Number(name),
    hasShortID: true,
    ...over,
  };
}

/** A table for `name`, connected (established) to `remotes`, with its gossiper. */
function node(name: PeerName, remotes: PeerName[], over: Partial<PeerSummary> = {}) {
  const peers = new Peers(summary(name, over));
  for (const r of remotes) {
    peers.addLocalConnection({
      name: r,
      remoteTCPAddr: `10.0.0.${r}:6783`,
      outbound: true,
      established: true,
    });
  }
  const changes: TopologyUpdateResult[] = [];
  const gossiper = new TopologyGossiper(peers, { onChange: (r) => changes.push(r) });
  return { peers, gossiper, changes };
}

function payload(data: GossipData | null): Uint8Array {
  assert.ok(data !== null);
  const messages = data.encode();
  assert.equal(messages.length, 1);
  return messages[0];
}

function names(data: GossipData | null): PeerName[] {
  assert.ok(data instanceof TopologyGossipData);
  return [...data.names].sort((a, b) => (a < b ? -1 : 1));
}

Deno.test("TopologyGossipData merges as a union without touching either side", () => {
  const { peers } = node(1n, []);
  const a = new TopologyGossipData(peers, [1n, 2n]);
  const b = new TopologyGossipData(peers, [2n, 3n]);
  assert.deepEqual(names(a.merge(b)), [1n, 2n, 3n]);
  assert.deepEqual([...a.names], [1n, 2n]);
  assert.deepEqual([...b.names], [2n, 3n]);
  const foreign: GossipData = { encode: () => [], merge: (o) => o };
  assert.throws(() => a.merge(foreign), TypeError);
});

Deno.test("TopologyGossipData encodes the live table at send time", () => {
  const { peers } = node(1n, [2n]);
  const data = new TopologyGossipData(peers, [1n, 9n]);
  peers.deleteLocalConnection(2n);
  const entries = decodeTopology(payload(data));
  assert.deepEqual(entries, [{ peer: peers.ourself.summary(), connections: [] }]);
  assert.equal(entries[0].peer.version, 2n);
});

Deno.test("onGossip applies an update and passes on only what changed", () => {
  const a = node(1n, [2n]);
  const b = node(2n, [1n, 3n]);
  const delta = a.gossiper.onGossip(payload(b.gossiper.gossip()));
  // b's table holds 3 as a placeholder; it travels (UID 0) and is new to a.
  assert.deepEqual(names(delta), [2n, 3n]);
  assert.equal(a.peers.get(3n)?.uid, 0n);
  assert.equal(a.changes.length, 1);
  assert.deepEqual(a.changes[0].newPeers, [3n]);
  assert.deepEqual(a.peers.get(2n)?.summary(), b.peers.ourself.summary());

  assert.equal(a.gossiper.onGossip(payload(b.gossiper.gossip())), null, "nothing new");
  assert.equal(a.changes.length, 1, "no change, no hook");
});

Deno.test("onGossipBroadcast relays what changed; a copy that brings nothing is not relayed", () => {
  const a = node(1n, [2n]);
  const b = node(2n, [1n]);
  const update = payload(b.gossiper.dataFor([1n, 2n]));
  // a's own entry is never "changed" by others; b's is new to a.
  assert.deepEqual(names(a.gossiper.onGossipBroadcast(2n, update)), [2n]);
  assert.equal(a.gossiper.onGossipBroadcast(2n, update), null, "a second copy");
  assert.equal(a.changes.length, 1);
  assert.equal(a.gossiper.onGossipBroadcast(2n, encodeTopology([])), null);
  assert.equal(a.gossiper.onGossip(encodeTopology([])), null);
});

Deno.test("a peer that broadcasts its own entry is a broadcaster; GC forgets it", () => {
  const a = node(1n, [2n]);
  const b = node(2n, [1n, 3n]);
  const c = node(3n, [2n]);
  // b relays c's entry: that says nothing about b (or c) broadcasting its own.
  a.gossiper.onGossipBroadcast(3n, payload(c.gossiper.dataFor([3n])));
  a.gossiper.onGossip(payload(b.gossiper.dataFor([2n])));
  assert.deepEqual([...a.gossiper.broadcasters], [3n]);
  a.gossiper.onGossipBroadcast(2n, payload(b.gossiper.dataFor([2n])));
  assert.deepEqual([...a.gossiper.broadcasters].sort(), [2n, 3n]);
  a.gossiper.forgetPeers([3n]);
  assert.deepEqual([...a.gossiper.broadcasters], [2n]);
});

Deno.test("forNeighbour leaves out broadcasters' entries for their own neighbours only", () => {
  // a (1) knows b (2) broadcasts; b is connected to 1 and 3; d (4) is a Go-like peer
  // that never broadcast, connected to 1 and 3.
  const a = node(1n, [2n, 4n, 5n]);
  const b = node(2n, [1n, 3n]);
  const d = node(4n, [1n, 3n]);
  a.gossiper.onGossipBroadcast(2n, payload(b.gossiper.dataFor([2n])));
  a.gossiper.onGossip(payload(d.gossiper.dataFor([4n])));
  const delta = a.gossiper.dataFor([2n, 4n]);
  assert.deepEqual(names(delta.forNeighbour(3n)), [4n], "3 heard b's change from b itself");
  assert.equal(delta.forNeighbour(5n), delta, "5 is not b's neighbour: everything");
  assert.equal(a.gossiper.dataFor([2n]).forNeighbour(3n), null, "nothing left");
  // What is left encodes as usual, and merging keeps the broadcasters.
  const left = delta.forNeighbour(3n)!;
  assert.deepEqual(decodeTopology(payload(left)).map((e) => e.peer.name), [4n]);
  assert.deepEqual(names(left.merge(delta).forNeighbour(3n)), [4n]);
});

Deno.test("TopologyGossipData encodes once while the table does not change", () => {
  let encodes = 0;
  const codec: TopologyCodec = {
    encode: (entries) => (encodes++, encodeTopology(entries)),
    decode: decodeTopology,
  };
  const peers = new Peers(summary(1n));
  const gossiper = new TopologyGossiper(peers, { onChange() {} }, { codec });
  const data = gossiper.dataFor([1n]);
  const first = payload(data);
  assert.equal(payload(data), first, "the same bytes for the next neighbour");
  assert.equal(encodes, 1);
  peers.addLocalConnection({
    name: 2n,
    remoteTCPAddr: "10.0.0.2:6783",
    outbound: true,
    established: false,
  });
  const second = payload(data);
  assert.equal(encodes, 2, "a change of the table: encoded afresh");
  assert.equal(decodeTopology(second)[0].connections.length, 1);
  // An update that changes nothing keeps the encoding.
  gossiper.onGossip(
    encodeTopology([{ peer: summary(1n, { uid: 5n, version: 0n }), connections: [] }]),
  );
  assert.equal(payload(data), second);
  assert.equal(encodes, 2);
});

Deno.test("onGossip about an old incarnation of ourselves reports ourselfChanged only", () => {
  const a = node(1n, [2n]);
  const oldSelf = { peer: summary(1n, { uid: 5n, version: 30n }), connections: [] };
  assert.equal(a.gossiper.onGossip(encodeTopology([oldSelf])), null);
  assert.equal(a.changes.length, 1);
  assert.equal(a.changes[0].ourselfChanged, true);
  assert.equal(a.peers.ourself.version, 31n);
});

Deno.test("gossip() describes every known peer", () => {
  const a = node(1n, [2n, 3n]);
  assert.deepEqual(names(a.gossiper.gossip()), [1n, 2n, 3n]);
  const entries = decodeTopology(payload(a.gossiper.gossip()));
  assert.deepEqual(entries, a.peers.encodeEntries());
});

Deno.test("TopologyGossiper rejects unicasts and malformed payloads", () => {
  const a = node(1n, [2n]);
  assert.throws(
    () => a.gossiper.onGossipUnicast(2n, new Uint8Array([1])),
    /unicast from 00:00:00:00:00:02/,
  );
  const good = payload(node(2n, [1n, 3n]).gossiper.gossip());
  assert.throws(() => a.gossiper.onGossip(good.subarray(0, good.length - 3)));
  assert.equal(a.peers.size, 2);
  assert.equal(a.peers.get(2n)?.uid, 0n, "still the placeholder");
  assert.equal(a.changes.length, 0);
});

Deno.test("TopologyGossiper uses an injected codec", () => {
  const seen: number[] = [];
  const codec: TopologyCodec = {
    encode: (entries) => new Uint8Array(entries.map((e) => Number(e.peer.name))),
    decode: (bytes) => {
      seen.push(bytes.length);
      return [...bytes].map((n) => ({
        peer: summary(BigInt(n), { version: 4n }),
        connections: [],
      }));
    },
  };
  const peers = new Peers(summary(1n));
  peers.addLocalConnection({
    name: 2n,
    remoteTCPAddr: "10.0.0.2:6783",
    outbound: false,
    established: true,
  });
  const gossiper = new TopologyGossiper(peers, { onChange() {} }, { codec });
  assert.deepEqual([...payload(gossiper.gossip())], [1, 2]);
  assert.deepEqual(names(gossiper.onGossip(new Uint8Array([2]))), [2n]);
  assert.deepEqual(seen, [1]);
  assert.equal(peers.get(2n)?.version, 4n);
});
