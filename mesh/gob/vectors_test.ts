import assert from "node:assert/strict";
import { decodeGobItems, decodeGobStream, type GobValue } from "./decoder.ts";
import { GobEncoder, GobTypeRegistry } from "./encoder.ts";
import {
  connectionListType,
  connectionSummaryType,
  dnsGossipDataType,
  featuresType,
  gossipStateType,
  peerSummaryType,
  rangeType,
} from "./schemas_test_fixtures.ts";
import { BYTES, type GobType, S, U } from "./types.ts";
import { prng } from "../../tests/harness/prng.ts";

const VECTORS_URL = new URL("../../testdata/gob/gob-vectors.txt", import.meta.url);

/** Parses the `### title (N bytes)` + hexdump sections of gob-vectors.txt. */
function parseVectors(text: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let title = "";
  let size = 0;
  let bytes: number[] = [];
  const flush = () => {
    if (!title) return;
    assert.equal(bytes.length, size, `vector "${title}" length`);
    out.set(title, new Uint8Array(bytes));
  };
  for (const line of text.split("\n")) {
    const head = /^### (.*) \((\d+) bytes\)$/.exec(line);
    if (head) {
      flush();
      [title, size, bytes] = [head[1], Number(head[2]), []];
      continue;
    }
    const row = /^[0-9a-f]{8} {2}(.*?)\s*\|/.exec(line);
    if (row) {
      for (const hex of row[1].trim().split(/\s+/)) bytes.push(parseInt(hex, 16));
    }
  }
  flush();
  return out;
}

const vectors = parseVectors(await Deno.readTextFile(VECTORS_URL));
const name = 0x0a0b0c0d0e0fn;
const nameBytes = new Uint8Array([0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f]);
const peer = {
  NameByte: nameBytes,
  NickName: "host1",
  UID: 12345n,
  Version: 3n,
  ShortID: 0x123n,
  HasShortID: true,
};
const nodeID = { Name: name, UID: 12345n };

/** Each vector in file order: the values Go encoded, with their schema. */
const cases: [string, [GobValue, GobType][]][] = [
  ["features map (V2 first msg)", [[new Map([["Name", "0a:0b:0c:0d:0e:0f"]]), featuresType]]],
  ["gossip header string channel", [["topology", S]]],
  ["PeerName uint64", [[name, U]]],
  ["payload []byte", [[new Uint8Array([1, 2, 3]), BYTES]]],
  ["gossip broadcast header: topology, src, payload", [
    ["topology", S],
    [name, U],
    [new Uint8Array([0xaa]), BYTES],
  ]],
  ["topology: peerSummary + []connectionSummary", [[peer, peerSummaryType], [[{
    NameByte: new Uint8Array([0, 0, 0, 0, 0, 1]),
    RemoteTCPAddr: "10.0.0.2:6783",
    Outbound: true,
    Established: true,
  }], connectionListType]]],
  ["topology: peerSummary + empty []connectionSummary", [
    [peer, peerSummaryType],
    [[], connectionListType],
  ]],
  ["ipam Range", [[{ Start: 0x0a200000n, End: 0x0a200100n }, rangeType]]],
  ["ipam gossipState with ring", [[{
    Now: 1700000000n,
    Nicknames: new Map([[name, "host1"]]),
    Ring: {
      Start: 0x0a200000n,
      End: 0x0a300000n,
      Peer: name,
      Entries: [{ Token: 0x0a200000n, Peer: name, Version: 1n, Free: 1048576n }],
      Seeds: [name],
    },
  }, gossipStateType]]],
  ["ipam gossipState with paxos", [[{
    Now: 1700000000n,
    Nicknames: new Map([[name, "host1"]]),
    Paxos: new Map([[nodeID, {
      Promise: { Round: 1n, Proposer: nodeID },
      Accepted: { Proposer: {} },
      AcceptedVal: { Origin: { Proposer: {} } },
    }]]),
  }, gossipStateType]]],
  ["dns GossipData", [[{
    Timestamp: 1700000000n,
    Entries: [{
      ContainerID: "abc",
      Origin: name,
      Addr: 0x0a200001n,
      Hostname: "web.weave.local.",
    }],
  }, dnsGossipDataType]]],
];

Deno.test("gob vectors: the file holds exactly the vectors under test", () => {
  assert.deepEqual([...vectors.keys()], cases.map(([title]) => title));
});

Deno.test("gob vectors: every vector decodes generically to the values Go encoded", () => {
  for (const [title, values] of cases) {
    const decoded = decodeGobStream(vectors.get(title)!);
    assert.deepStrictEqual(decoded, values.map(([v]) => v), title);
  }
});

Deno.test("gob vectors: every vector re-encodes byte for byte (one registry, as one Go process)", () => {
  const registry = new GobTypeRegistry();
  for (const [title, values] of cases) {
    const enc = new GobEncoder({ registry });
    const parts = values.map(([value, type]) => enc.encode(value, type));
    const bytes = new Uint8Array(parts.flatMap((p) => [...p]));
    assert.deepStrictEqual(bytes, vectors.get(title), title);
  }
});

Deno.test("gob vectors: decoded types carry Go's ids and names", () => {
  const items = decodeGobItems(vectors.get("ipam gossipState with paxos")!);
  assert.equal(items.length, 1);
  assert.equal(items[0].typeId, 70);
  const type = items[0].type;
  assert.equal(type.kind, "struct");
  if (type.kind !== "struct") return;
  assert.equal(type.name, "gossipState");
  assert.deepEqual(type.fields.map(([n]) => n), ["Now", "Nicknames", "Paxos", "Ring"]);
  const paxos = type.fields[2][1];
  assert.equal(paxos.kind === "map" && paxos.name, "GossipState");
  assert.equal(paxos.kind === "map" && paxos.key.kind === "struct" && paxos.key.name, "");
  const topo = decodeGobItems(vectors.get("topology: peerSummary + []connectionSummary")!);
  assert.deepEqual(topo.map((i) => i.typeId), [66, 68]);
  assert.deepEqual(topo[1].type, { kind: "slice", name: "", elem: connectionSummaryType });
});

Deno.test("gob vectors: a fresh encoder numbers types from 65", () => {
  const bytes = new GobEncoder().encode({ Start: 0x0a200000n, End: 0x0a200100n }, rangeType);
  const golden = vectors.get("ipam Range")!;
  // Same bytes except the id: 69 (ff 89 / ff 8a) in the vector, 65 (ff 81 / ff 82) here.
  const patched = golden.map((b, i) => (i > 0 && golden[i - 1] === 0xff && b >= 0x89 ? b - 8 : b));
  assert.deepStrictEqual(bytes, patched);
});

Deno.test("gob vectors: every truncation throws or yields a prefix of the values", () => {
  for (const [title, bytes] of vectors) {
    const full = decodeGobStream(bytes);
    for (let len = 0; len < bytes.length; len++) {
      let got: GobValue[] | undefined;
      try {
        got = decodeGobStream(bytes.subarray(0, len));
      } catch (error) {
        assert.ok(error instanceof RangeError || error instanceof SyntaxError, `${title} @${len}`);
        continue;
      }
      assert.ok(got.length < full.length, `${title} @${len} decoded everything`);
      assert.deepStrictEqual(got, full.slice(0, got.length));
    }
  }
});

Deno.test("gob vectors: single-value vectors throw at every truncation", () => {
  for (const [title, bytes] of vectors) {
    if (decodeGobStream(bytes).length !== 1) continue;
    for (let len = 1; len < bytes.length; len++) {
      assert.throws(() => decodeGobStream(bytes.subarray(0, len)), `${title} @${len}`);
    }
  }
});

function expectCleanOutcome(bytes: Uint8Array, label: string): void {
  try {
    decodeGobStream(bytes);
  } catch (error) {
    assert.ok(
      error instanceof RangeError || error instanceof SyntaxError,
      `${label}: unexpected ${error}`,
    );
  }
}

Deno.test("gob decoder fuzz: random bytes throw cleanly or decode", () => {
  const rand = prng(0xc0ffee);
  for (let i = 0; i < 3000; i++) {
    const bytes = new Uint8Array(Math.floor(rand() * 64));
    for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rand() * 256);
    expectCleanOutcome(bytes, `random #${i}`);
  }
});

Deno.test("gob decoder fuzz: mutated vectors throw cleanly or decode", () => {
  const rand = prng(42);
  const all = [...vectors.values()];
  for (let i = 0; i < 3000; i++) {
    const bytes = all[i % all.length].slice();
    const flips = 1 + Math.floor(rand() * 3);
    for (let f = 0; f < flips; f++) {
      bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
    }
    expectCleanOutcome(bytes, `mutation #${i}`);
  }
});
