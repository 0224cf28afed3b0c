import assert from "node:assert/strict";
import { decodeGobItems } from "../mesh/gob/decoder.ts";
import { GobEncoder, GobTypeRegistry } from "../mesh/gob/encoder.ts";
import { gobSlice, gobStruct, type GobType, I, S, U } from "../mesh/gob/types.ts";
import {
  connectionListType,
  featuresType,
  peerSummaryType,
} from "../mesh/gob/schemas_test_fixtures.ts";
import {
  decodeGossipState,
  decodeIpamUnicast,
  decodeRange,
  decodeRing,
  encodeGossipState,
  encodeIpamUnicast,
  encodeRange,
  encodeRing,
  type GossipState,
  IpamMessageType,
  ringUpdateFromEncoded,
} from "./gossip_codec.ts";
import {
  GENERATOR_TYPE_NAMES,
  gossipStateSchema,
  RANGE_TYPE,
  ringSchema,
} from "./gossip_schema.ts";
import { CAPTURE_PEERS, capturedIpamPayloads } from "./captured_payloads_test_fixtures.ts";
import { emptyClaims } from "./paxos/mod.ts";
import { prng } from "../tests/harness/prng.ts";

const VECTORS_URL = new URL("../testdata/gob/gob-vectors.txt", import.meta.url);

function parseVectors(text: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let title = "";
  let bytes: number[] = [];
  const flush = () => title && out.set(title, new Uint8Array(bytes));
  for (const line of text.split("\n")) {
    const head = /^### (.*) \((\d+) bytes\)$/.exec(line);
    if (head) {
      flush();
      [title, bytes] = [head[1], []];
      continue;
    }
    const row = /^[0-9a-f]{8} {2}(.*?)\s*\|/.exec(line);
    if (row) { for (const h of row[1].trim().split(/\s+/)) bytes.push(parseInt(h, 16)); }
  }
  flush();
  return out;
}

const vectors = parseVectors(await Deno.readTextFile(VECTORS_URL));
const name = 0x0a0b0c0d0e0fn;
const { h1, h2, h3 } = CAPTURE_PEERS;

const sample: GossipState = {
  now: 1795460279n,
  nicknames: new Map([[h3.name, "h3"], [h1.name, "h1"]]),
  ring: {
    start: 0x0a200000,
    end: 0x0a300000,
    peer: h1.name,
    entries: [
      { token: 0x0a200000, peer: h1.name, version: 3, free: 191 },
      { token: 0x0a2000c0, peer: h3.name, version: 0, free: 64 },
      { token: 0x0a280000, peer: h3.name, version: 0xffffffff, free: 0 },
    ],
    seeds: [h1.name, h3.name],
  },
};

const paxosSample: GossipState = {
  now: -5n,
  nicknames: new Map(),
  paxos: [
    [{ name: h1.name, uid: h1.uid }, {
      promise: { round: 2n, proposer: { name: h1.name, uid: h1.uid } },
      accepted: { round: 1n, proposer: { name: h2.name, uid: h2.uid } },
      acceptedVal: {
        value: [h1.name, h2.name],
        origin: { round: 1n, proposer: { name: h2.name, uid: h2.uid } },
      },
    }],
    [{ name: h3.name, uid: h3.uid }, emptyClaims()],
  ],
};

Deno.test("gossip codec: gossipState round trips, also at an offset inside a larger buffer", () => {
  for (const state of [sample, paxosSample, { now: 0n, nicknames: new Map(), paxos: [] }]) {
    const bytes = encodeGossipState(state);
    const decoded = decodeGossipState(bytes);
    assert.deepStrictEqual(decoded, { state, offset: bytes.length });
    assert.deepStrictEqual(encodeGossipState(decoded.state), bytes, "re-encode is identical");
    const framed = new Uint8Array([0xaa, 0xbb, 0xcc, ...bytes, 0xdd]);
    assert.deepStrictEqual(decodeGossipState(framed, 3), { state, offset: 3 + bytes.length });
  }
});

Deno.test("gossip codec: absent Paxos stays absent, an empty Paxos map is sent as 01 00", () => {
  const absent = encodeGossipState({ now: 1n, nicknames: new Map() });
  const empty = encodeGossipState({ now: 1n, nicknames: new Map(), paxos: [] });
  assert.equal(decodeGossipState(absent).state.paxos, undefined);
  assert.deepStrictEqual(decodeGossipState(empty).state.paxos, []);
  // Value tails: Δ1 Now=1, Δ1 Nicknames count 0, [Δ1 Paxos count 0,] end of struct.
  assert.deepStrictEqual([...absent.slice(-5)], [0x01, 0x02, 0x01, 0x00, 0x00]);
  assert.deepStrictEqual([...empty.slice(-7)], [0x01, 0x02, 0x01, 0x00, 0x01, 0x00, 0x00]);
});

Deno.test("gossip codec: ring and Range round trip alone and at an offset", () => {
  const ringBytes = encodeRing(sample.ring!);
  assert.deepStrictEqual(decodeRing(ringBytes), { ring: sample.ring, offset: ringBytes.length });
  const r = { start: 0x0a200000, end: 0x0a300000 };
  const rangeBytes = encodeRange(r);
  assert.deepStrictEqual(decodeRange(new Uint8Array([9, ...rangeBytes]), 1), {
    range: r,
    offset: 1 + rangeBytes.length,
  });
});

Deno.test("gossip codec: matches the Go golden vectors byte for byte (generator type names)", () => {
  // One registry, as the one Go process that wrote every vector in file order.
  const registry = new GobTypeRegistry();
  for (const t of [featuresType, peerSummaryType, connectionListType]) registry.idOf(t);
  const range = { start: 0x0a200000, end: 0x0a200100 };
  assert.deepStrictEqual(encodeRange(range, { registry }), vectors.get("ipam Range"));
  const withRing: GossipState = {
    now: 1700000000n,
    nicknames: new Map([[name, "host1"]]),
    ring: {
      start: 0x0a200000,
      end: 0x0a300000,
      peer: name,
      entries: [{ token: 0x0a200000, peer: name, version: 1, free: 1048576 }],
      seeds: [name],
    },
  };
  const names = GENERATOR_TYPE_NAMES;
  const ringVector = vectors.get("ipam gossipState with ring")!;
  assert.deepStrictEqual(encodeGossipState(withRing, { registry, names }), ringVector);
  const node = { name, uid: 12345n };
  const withPaxos: GossipState = {
    now: 1700000000n,
    nicknames: new Map([[name, "host1"]]),
    paxos: [[node, { ...emptyClaims(), promise: { round: 1n, proposer: node } }]],
  };
  const paxosVector = vectors.get("ipam gossipState with paxos")!;
  assert.deepStrictEqual(encodeGossipState(withPaxos, { registry, names }), paxosVector);
  assert.deepStrictEqual(decodeGossipState(ringVector).state, withRing);
  assert.deepStrictEqual(decodeGossipState(paxosVector).state, withPaxos);
  assert.deepStrictEqual(decodeRange(vectors.get("ipam Range")!).range, range);
});

/**
 * A registry giving each type the id it had in the capturing Go process:
 * `[type, id, how many ids it and its new subtypes take]`, ids ascending.
 * Weaver registered Ring (65–68) when it opened its data file, before gossip.
 */
function registryWith(wanted: [GobType, number, number][]): GobTypeRegistry {
  const registry = new GobTypeRegistry();
  let next = 65;
  let filler = 0;
  for (const [type, id, count] of wanted) {
    for (; next < id; next++) registry.idOf(gobSlice(S, `filler ${filler++}`));
    assert.equal(registry.idOf(type), id);
    next = id + count;
  }
  return registry;
}

Deno.test("gossip codec: re-encodes captured weaver 2.8.1 payloads byte for byte", async () => {
  const payloads = await capturedIpamPayloads();
  const states = payloads.filter((p) => p.tag !== 5);
  const stateId = decodeGobItems(states[0].payload)[0].typeId;
  const pick = (test: (s: GossipState) => boolean) => {
    const found = states.find((p) => test(decodeGossipState(p.payload).state));
    assert.ok(found, "capture holds such a payload");
    return found.payload;
  };
  const cases = [
    pick((s) => s.paxos !== undefined && s.paxos.length === 0),
    pick((s) => (s.paxos?.length ?? 0) >= 2),
    pick((s) => (s.ring?.entries.length ?? 0) === 5),
  ];
  for (const payload of cases) {
    const registry = registryWith([[ringSchema(), 65, 4], [gossipStateSchema(), stateId, 8]]);
    const state = decodeGossipState(payload).state;
    assert.deepStrictEqual(encodeGossipState(state, { registry }), payload);
  }
  // Unicasts: a RingUpdate and both SpaceRequests (Range had id 89 in those processes).
  const unicasts = payloads.filter((p) => p.tag === 5);
  assert.deepStrictEqual(unicasts.map((p) => p.payload[0]).sort(), [0, 0, 1, 1, 1]);
  for (const p of unicasts) {
    const msg = decodeIpamUnicast(p.payload);
    const registry = p.payload[0] === IpamMessageType.RingUpdate
      ? registryWith([[ringSchema(), 65, 4], [gossipStateSchema(), stateId, 8]])
      : registryWith([[ringSchema(), 65, 4], [gossipStateSchema(), 78, 8], [RANGE_TYPE, 89, 1]]);
    assert.deepStrictEqual(encodeIpamUnicast(msg, { registry }), p.payload);
  }
  const requests = unicasts.filter((p) => p.payload[0] === 0).map((p) => ({
    source: p.source,
    destination: p.destination,
    msg: decodeIpamUnicast(p.payload),
  }));
  assert.deepStrictEqual(requests, [
    {
      source: h2.name,
      destination: h3.name,
      msg: { type: 0, range: { start: 0x0a200000, end: 0x0a300000 } },
    },
    {
      source: h3.name,
      destination: h1.name,
      msg: { type: 0, range: { start: 0x0a200000, end: 0x0a200100 } },
    },
  ]);
});

Deno.test("gossip codec: unicasts round trip for every type", () => {
  const range = { start: 0x0a200000, end: 0x0a200001 };
  for (
    const msg of [
      { type: IpamMessageType.SpaceRequest, range },
      { type: IpamMessageType.SpaceRequestDenied, range },
      { type: IpamMessageType.RingUpdate, state: sample },
    ] as const
  ) {
    const bytes = encodeIpamUnicast(msg);
    assert.equal(bytes[0], msg.type);
    assert.deepStrictEqual(decodeIpamUnicast(bytes), msg);
    assert.deepStrictEqual(decodeIpamUnicast(new Uint8Array([7, 7, ...bytes]), 2), msg);
  }
  assert.deepStrictEqual(
    ringUpdateFromEncoded(encodeGossipState(sample)),
    encodeIpamUnicast({ type: IpamMessageType.RingUpdate, state: sample }),
    "a RingUpdate built around a cached encoding is the same bytes",
  );
  assert.throws(() => decodeIpamUnicast(new Uint8Array()), SyntaxError);
  assert.throws(
    () => decodeIpamUnicast(new Uint8Array([3, 0])),
    /Cannot decode IPAM unicast: unknown message type 3/,
  );
});

Deno.test("gossip codec: every truncation throws a RangeError or SyntaxError", () => {
  for (const bytes of [encodeGossipState(sample), encodeGossipState(paxosSample)]) {
    for (let len = 0; len < bytes.length; len++) {
      assert.throws(
        () => decodeGossipState(bytes.subarray(0, len)),
        (e: unknown) =>
          (e instanceof RangeError || e instanceof SyntaxError) &&
          e.message.startsWith("Cannot decode IPAM gossipState"),
        `length ${len}`,
      );
    }
  }
});

Deno.test("gossip codec: wrong kinds and uint32 overflow are refused, unknown fields ignored", () => {
  const enc = (value: unknown, type: GobType) => new GobEncoder().encode(value, type);
  const signedNow = gobStruct("gossipState", [["Now", U]]);
  assert.throws(
    () => decodeGossipState(enc({ Now: 5n }, signedNow)),
    (e: unknown) => e instanceof TypeError && /Now: expected int, got uint/.test(e.message),
  );
  const bigToken = gobStruct("gossipState", [[
    "Ring",
    gobStruct("Ring", [["Entries", gobSlice(gobStruct("", [["Token", U]]))]]),
  ]]);
  assert.throws(
    () => decodeGossipState(enc({ Ring: { Entries: [{ Token: 1n << 32n }] } }, bigToken)),
    /Cannot decode Ring.Entries\[0\].Token: 4294967296 does not fit in uint32/,
  );
  const extra = gobStruct("gossipState", [["Now", I], ["Future", S]]);
  assert.deepStrictEqual(decodeGossipState(enc({ Now: 3n, Future: "x" }, extra)).state, {
    now: 3n,
    nicknames: new Map(),
  });
  const notStruct = enc(new Map([["a", "b"]]), featuresType);
  assert.throws(() => decodeGossipState(notStruct), TypeError);
  const range = gobStruct("Range", [["Start", I]]);
  assert.throws(() => decodeRange(enc({ Start: 1n }, range)), TypeError);
});

Deno.test("gossip codec: mutated payloads decode or throw a classed error", () => {
  const seed = 20261123;
  const rand = prng(seed);
  const base = [encodeGossipState(sample), encodeGossipState(paxosSample)];
  for (let i = 0; i < 2000; i++) {
    const bytes = base[i % 2].slice();
    for (let f = 0; f < 1 + Math.floor(rand() * 3); f++) {
      bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
    }
    try {
      decodeGossipState(bytes);
    } catch (e) {
      assert.ok(
        e instanceof RangeError || e instanceof SyntaxError || e instanceof TypeError,
        `seed ${seed} mutation ${i}: ${e}`,
      );
    }
  }
});
