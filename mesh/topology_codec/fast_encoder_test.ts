import assert from "node:assert/strict";
import { assertSameBytes, outcome, prng, randomTopology } from "./_test_utils.ts";
import {
  decodeTopology,
  decodeTopologyGeneric,
  encodeTopology,
  encodeTopologyGeneric,
} from "./codec.ts";
import type { TopologyEntry } from "../topology_types.ts";

Deno.test("fast topology codec: same bytes and values as the generic path (random topologies)", () => {
  const rand = prng(1);
  for (const [peers, connections] of [[0, 0], [1, 0], [1, 3], [5, 4], [40, 39], [200, 12]]) {
    const entries = randomTopology(rand, peers, connections);
    const bytes = encodeTopology(entries);
    assertSameBytes(bytes, encodeTopologyGeneric(entries), `N=${peers}`);
    const decoded = decodeTopology(bytes);
    assert.deepStrictEqual(decoded, decodeTopologyGeneric(bytes), `N=${peers}`);
    assert.equal(decoded.length, peers);
  }
});

Deno.test("fast topology codec: a full mesh of 200 peers", () => {
  const n = 200;
  const entries: TopologyEntry[] = Array.from({ length: n }, (_, i) => ({
    peer: {
      name: BigInt(0x020000000000 + i),
      nickName: `r${i}`,
      uid: (1n << 64n) - 1n - BigInt(i),
      version: BigInt(i),
      shortID: i,
      hasShortID: true,
    },
    connections: Array.from({ length: n - 1 }, (_, j) => ({
      name: BigInt(0x020000000000 + ((i + j + 1) % n)),
      remoteTCPAddr: `127.0.0.${j % 250}:${6783 + j}`,
      outbound: j % 2 === 0,
      established: j % 3 !== 0,
    })),
  }));
  const bytes = encodeTopology(entries);
  assertSameBytes(bytes, encodeTopologyGeneric(entries), "full mesh");
  assert.deepStrictEqual(decodeTopology(bytes), entries);
});

Deno.test("fast topology encoder: input of the wrong shape fails as the generic encoder does", () => {
  const good = randomTopology(prng(3), 2, 2);
  const variants: unknown[] = [
    { uid: -1n },
    { version: 1n << 64n },
    { nickName: 5 },
    { shortID: 1.5 },
    { shortID: -1 },
    { hasShortID: "yes" },
    { name: 7 },
  ];
  for (const change of variants) {
    const entries = [{ ...good[0], peer: { ...good[0].peer, ...(change as object) } }, good[1]];
    const bad = entries as unknown as TopologyEntry[];
    assert.deepStrictEqual(
      outcome(() => encodeTopology(bad)),
      outcome(() => encodeTopologyGeneric(bad)),
      JSON.stringify(change, (_, v) => typeof v === "bigint" ? `${v}n` : v),
    );
  }
  const badConnection = [{
    ...good[0],
    connections: [{ ...good[0].connections[0], outbound: 1 }],
  }] as unknown as TopologyEntry[];
  assert.throws(() => encodeTopology(badConnection), /expected bool, got number/);
  // Names beyond 48 bits keep their low 48 bits on both paths (peerNameToBytes).
  const wide = [{ ...good[0], peer: { ...good[0].peer, name: -1n } }];
  assertSameBytes(encodeTopology(wide), encodeTopologyGeneric(wide), "wide name");
});
