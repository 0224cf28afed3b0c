import assert from "node:assert/strict";
import type { KubeNode } from "./node_watch.ts";
import { nodeAddress, peersFromList, peersFromNodes } from "./peers.ts";

function node(name: string, ...addresses: [string, string][]): KubeNode {
  return {
    metadata: { name },
    status: { addresses: addresses.map(([type, address]) => ({ type, address })) },
  };
}

Deno.test("nodeAddress: InternalIP, else ExternalIP, IPv4 only", () => {
  const table: [KubeNode, string | undefined][] = [
    [node("a", ["InternalIP", "10.0.0.1"]), "10.0.0.1"],
    [node("a", ["ExternalIP", "192.0.2.1"], ["InternalIP", "10.0.0.1"]), "10.0.0.1"],
    [node("a", ["ExternalIP", "192.0.2.1"]), "192.0.2.1"],
    [node("a", ["Hostname", "a"], ["ExternalIP", "192.0.2.1"]), "192.0.2.1"],
    [node("a", ["InternalIP", "fd00::1"], ["ExternalIP", "192.0.2.1"]), "192.0.2.1"],
    [node("a", ["InternalIP", "fd00::1"]), undefined],
    [node("a", ["InternalIP", "::ffff:10.0.0.7"]), "10.0.0.7"],
    [node("a", ["InternalIP", "10.0.0.300"]), undefined],
    [node("a"), undefined],
    [{ metadata: { name: "bare" } }, undefined],
    // Weave keeps the last address of a type.
    [node("a", ["InternalIP", "10.0.0.1"], ["InternalIP", "10.0.0.2"]), "10.0.0.2"],
  ];
  for (const [n, want] of table) assert.equal(nodeAddress(n), want, JSON.stringify(n.status));
});

Deno.test("peersFromNodes: others' addresses, ourselves counted but skipped", () => {
  const nodes = [
    node("n1", ["InternalIP", "10.0.0.1"]),
    node("n2", ["InternalIP", "10.0.0.2"]),
    node("n3", ["ExternalIP", "192.0.2.3"]),
    node("n4", ["Hostname", "n4"]),
  ];
  const table: [{ addresses: string[]; nodeName?: string }, string[], number][] = [
    [{ addresses: ["10.0.0.1"] }, ["10.0.0.2", "192.0.2.3"], 3],
    [{ addresses: [], nodeName: "n2" }, ["10.0.0.1", "192.0.2.3"], 3],
    [{ addresses: ["127.0.0.1", "192.0.2.3"], nodeName: "n3" }, ["10.0.0.1", "10.0.0.2"], 3],
    // Not in the list ourselves (yet): every node is a peer, and the count is theirs.
    [{ addresses: ["10.9.9.9"], nodeName: "new" }, ["10.0.0.1", "10.0.0.2", "192.0.2.3"], 3],
  ];
  for (const [own, peers, consensus] of table) {
    assert.deepEqual(peersFromNodes(nodes, own), { peers, consensus }, JSON.stringify(own));
  }
  assert.deepEqual(peersFromNodes([], { addresses: [] }), { peers: [], consensus: 0 });
  // Two nodes that both carry our address count as one; duplicate addresses are dialled once.
  const twice = [node("a", ["InternalIP", "10.0.0.1"]), node("b", ["InternalIP", "10.0.0.1"])];
  assert.deepEqual(peersFromNodes(twice, { addresses: ["10.0.0.1"] }), { peers: [], consensus: 1 });
  const dup = [node("a", ["InternalIP", "10.0.0.5"]), node("b", ["InternalIP", "10.0.0.5"])];
  assert.deepEqual(peersFromNodes(dup, { addresses: [] }), { peers: ["10.0.0.5"], consensus: 2 });
});

Deno.test("peersFromList: KUBE_PEERS counted whole, our addresses left out", () => {
  assert.deepEqual(peersFromList(["10.0.0.1", "10.0.0.2"], ["10.0.0.2"]), {
    peers: ["10.0.0.1"],
    consensus: 2,
  });
});
