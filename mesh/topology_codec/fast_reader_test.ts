import assert from "node:assert/strict";
import { peerNameToBytes } from "../../lib/peer_name.ts";
import { GobEncoder } from "../gob/encoder.ts";
import { B, BYTES, gobSlice, gobStruct, S, U } from "../gob/types.ts";
import { outcome, prng, randomConnection, randomPeer, randomTopology } from "./_test_utils.ts";
import {
  CONNECTION_LIST_TYPE,
  decodeTopology,
  decodeTopologyGeneric,
  encodeTopology,
  PEER_SUMMARY_TYPE,
} from "./codec.ts";
import type { PeerSummary, TopologyEntry } from "../topology_types.ts";

Deno.test("fast topology codec: round trip of ASCII topologies, also from a view at an offset", () => {
  const rand = prng(2);
  const entries: TopologyEntry[] = randomTopology(rand, 30, 29).map(({ peer, connections }) => ({
    peer: { ...peer, nickName: `peer-${peer.shortID}` },
    connections: connections.map((c) => ({ ...c, remoteTCPAddr: `192.0.2.1:${c.name % 65536n}` })),
  }));
  const bytes = encodeTopology(entries);
  assert.deepStrictEqual(decodeTopology(bytes), entries);
  const shifted = new Uint8Array(bytes.length + 7);
  shifted.set(bytes, 7);
  assert.deepStrictEqual(decodeTopology(shifted.subarray(7)), entries);
});

Deno.test("fast topology decoder: every truncation fails or succeeds exactly as the generic decoder", () => {
  const bytes = encodeTopology(randomTopology(prng(4), 4, 3));
  for (let len = 0; len < bytes.length; len++) {
    const cut = bytes.subarray(0, len);
    const fast = outcome(() => decodeTopology(cut));
    assert.deepStrictEqual(fast, outcome(() => decodeTopologyGeneric(cut)), `@${len}`);
    if ("error" in (fast as object)) {
      assert.match((fast as { error: string }).error, /^(RangeError|SyntaxError): /, `@${len}`);
    }
  }
});

Deno.test("fast topology decoder: mutated and random bytes behave as the generic decoder", () => {
  const rand = prng(5);
  const bytes = encodeTopology(randomTopology(rand, 6, 4));
  for (let round = 0; round < 1500; round++) {
    const mutated = bytes.slice();
    const flips = 1 + Math.floor(rand() * 3);
    for (let i = 0; i < flips; i++) {
      mutated[Math.floor(rand() * mutated.length)] = Math.floor(rand() * 256);
    }
    assert.deepStrictEqual(
      outcome(() => decodeTopology(mutated)),
      outcome(() => decodeTopologyGeneric(mutated)),
      `round ${round}`,
    );
  }
  for (let round = 0; round < 500; round++) {
    const noise = Uint8Array.from({ length: Math.floor(rand() * 200) }, () => rand() * 256);
    const fast = outcome(() => decodeTopology(noise));
    assert.deepStrictEqual(fast, outcome(() => decodeTopologyGeneric(noise)), `noise ${round}`);
  }
});

Deno.test("fast topology decoder: other field orders and extra fields decode as the generic decoder", () => {
  const peer = { ...randomPeer(prng(6)), nickName: "h6" };
  const conn = { ...randomConnection(prng(7)), remoteTCPAddr: "192.0.2.7:6783" };
  const name = (n: bigint) => peerNameToBytes(n);
  const reordered = gobStruct("peerSummary", [...PEER_SUMMARY_TYPE.fields].reverse());
  const extra = gobStruct("connectionSummary", [
    ["Extra", U],
    ["NameByte", BYTES],
    ["RemoteTCPAddr", S],
    ["Outbound", B],
    ["Established", B],
  ]);
  const enc = new GobEncoder();
  const value = {
    NameByte: name(peer.name),
    NickName: peer.nickName,
    UID: peer.uid,
    Version: peer.version,
    ShortID: peer.shortID,
    HasShortID: peer.hasShortID,
  };
  const list = [{
    Extra: 9,
    NameByte: name(conn.name),
    RemoteTCPAddr: conn.remoteTCPAddr,
    Outbound: conn.outbound,
    Established: conn.established,
  }];
  const parts = [0, 1, 2].flatMap(() => [
    enc.encode(value, reordered),
    enc.encode(list, gobSlice(extra)),
  ]);
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (bytes.set(p, at), at + p.length), 0);
  const decoded = decodeTopology(bytes);
  assert.deepStrictEqual(decoded, decodeTopologyGeneric(bytes));
  assert.deepStrictEqual(decoded, [0, 1, 2].map(() => ({ peer, connections: [conn] })));
});

Deno.test("fast topology decoder: a later value of the wrong kind is reported as by the generic path", () => {
  const [entry] = randomTopology(prng(8), 1, 1);
  const enc = new GobEncoder();
  const parts = [
    enc.encode(encodeValue(entry.peer), PEER_SUMMARY_TYPE),
    enc.encode([], CONNECTION_LIST_TYPE),
    enc.encode([], CONNECTION_LIST_TYPE), // a list where a peer is due
    enc.encode([], CONNECTION_LIST_TYPE),
  ];
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (bytes.set(p, at), at + p.length), 0);
  const fast = outcome(() => decodeTopology(bytes));
  assert.deepStrictEqual(fast, outcome(() => decodeTopologyGeneric(bytes)));
  assert.match((fast as { error: string }).error, /TypeError: .*expected a struct/);
});

function encodeValue(peer: PeerSummary) {
  return { NameByte: peerNameToBytes(peer.name), NickName: peer.nickName, UID: peer.uid };
}
