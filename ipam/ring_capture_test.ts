import assert from "node:assert/strict";
import { parseIPv4 } from "../lib/cidr.ts";
import { decodeGossipState, decodeIpamUnicast, type GossipState } from "./gossip_codec.ts";
import { CAPTURE_PEERS, capturedIpamPayloads } from "./captured_payloads_test_fixtures.ts";
import { Ring } from "./ring/mod.ts";
import { normalizeConsensus, PaxosNode } from "./paxos/mod.ts";

const { h1, h2, h3 } = CAPTURE_PEERS;

async function capturedStates(): Promise<{ from: string; state: GossipState }[]> {
  const out = [];
  for (const p of await capturedIpamPayloads()) {
    if (p.tag !== 5) {
      out.push({ from: p.from, state: decodeGossipState(p.payload).state });
      continue;
    }
    const msg = decodeIpamUnicast(p.payload);
    if (msg.type === 1) out.push({ from: p.from, state: msg.state });
  }
  return out;
}

Deno.test("capture replay: merging every captured ring in order gives the README's final ring", async () => {
  const states = await capturedStates();
  // 12 gossip + 18 broadcasts + 3 RingUpdates.
  assert.equal(states.length, 33);
  const observer = new Ring(parseIPv4("10.32.0.0"), parseIPv4("10.48.0.0"), 0x99n);
  let merged = 0;
  for (const { state } of states) {
    if (!state.ring) continue;
    observer.merge(state.ring);
    merged++;
  }
  assert.ok(merged >= 10, `${merged} rings merged`);
  assert.deepStrictEqual(observer.seeds, [h1.name, h3.name]);
  assert.deepStrictEqual(observer.entries, [
    { token: parseIPv4("10.32.0.0"), peer: h1.name, version: 3, free: 191 },
    { token: parseIPv4("10.32.0.192"), peer: h3.name, version: 1, free: 63 },
    { token: parseIPv4("10.32.1.0"), peer: h1.name, version: 0, free: 524032 },
    { token: parseIPv4("10.40.0.0"), peer: h3.name, version: 2, free: 262143 },
    { token: parseIPv4("10.44.0.0"), peer: h2.name, version: 1, free: 262143 },
  ]);
});

Deno.test("capture replay: h1's Paxos claims reach consensus on [h1, h3] and seed that ring", async () => {
  const states = await capturedStates();
  const node = new PaxosNode({ name: 0x99n, uid: 1n }, 2);
  let value: bigint[] | undefined;
  for (const { state } of states) {
    if (!state.paxos || state.paxos.length === 0) continue;
    node.update(state.paxos);
    const c = node.consensus();
    if (c.ok) value ??= normalizeConsensus(c.value!.value);
  }
  assert.deepStrictEqual(value, [h1.name, h3.name]);
  const ring = new Ring(parseIPv4("10.32.0.0"), parseIPv4("10.48.0.0"), h1.name);
  ring.claimForPeers(value);
  const first = states.find((s) => s.state.ring)!.state.ring!;
  const layout = (es: readonly { token: number; peer: bigint }[]) =>
    es.map((e) => [e.token, e.peer]);
  assert.deepStrictEqual(layout(ring.entries), layout(first.entries));
  assert.deepStrictEqual(ring.entries.map((e) => e.free), [524288, 524288]);
});
