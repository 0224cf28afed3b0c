import assert from "node:assert/strict";
import { decodeTopology, decodeTopologyGeneric, encodeTopology } from "./codec.ts";
import { decodeKnownTypes, forgetDefinitions } from "./known_types.ts";
import type { TopologyEntry } from "../topology_types.ts";

const fromHex = (text: string) =>
  new Uint8Array(text.trim().split(/\s+/).map((h) => parseInt(h, 16)));

/** captures/plain-tcp-messages.txt, connection 1, MSG #1 (h1 -> h2) payload; Go's ids 75-77. */
const CAPTURED = fromHex(`
  62 ff 95 03 01 01 0b 70 65 65 72 53 75 6d 6d 61 72 79 01 ff 96 00 01 06 01 08 4e 61 6d 65 42 79
  74 65 01 0a 00 01 08 4e 69 63 6b 4e 61 6d 65 01 0c 00 01 03 55 49 44 01 06 00 01 07 56 65 72 73
  69 6f 6e 01 06 00 01 07 53 68 6f 72 74 49 44 01 06 00 01 0a 48 61 73 53 68 6f 72 74 49 44 01 02
  00 00 00 21 ff 96 01 06 02 00 00 00 00 01 01 02 68 31 01 f8 37 cd 98 95 22 c0 f8 17 01 01 01 fe
  09 c7 01 01 00 0d ff 99 02 01 02 ff 9a 00 01 ff 98 00 00 5b ff 97 03 01 01 11 63 6f 6e 6e 65 63
  74 69 6f 6e 53 75 6d 6d 61 72 79 01 ff 98 00 01 04 01 08 4e 61 6d 65 42 79 74 65 01 0a 00 01 0d
  52 65 6d 6f 74 65 54 43 50 41 64 64 72 01 0c 00 01 08 4f 75 74 62 6f 75 6e 64 01 02 00 01 0b 45
  73 74 61 62 6c 69 73 68 65 64 01 02 00 00 00 1e ff 9a 00 01 01 06 02 00 00 00 00 02 01 0f 31 39
  32 2e 30 2e 32 2e 32 3a 36 30 31 34 31 00 1f ff 96 01 06 02 00 00 00 00 02 01 02 68 32 01 f8 2e
  3f 4c 2b 5d 9f e2 89 02 fe 03 b9 01 01 00 04 ff 9a 00 00`);

/** gob-vectors.txt "topology: peerSummary + []connectionSummary"; Go's ids 66-68. */
const VECTOR = fromHex(`
  62 ff 83 03 01 01 0b 70 65 65 72 53 75 6d 6d 61 72 79 01 ff 84 00 01 06 01 08 4e 61 6d 65 42 79
  74 65 01 0a 00 01 08 4e 69 63 6b 4e 61 6d 65 01 0c 00 01 03 55 49 44 01 06 00 01 07 56 65 72 73
  69 6f 6e 01 06 00 01 07 53 68 6f 72 74 49 44 01 06 00 01 0a 48 61 73 53 68 6f 72 74 49 44 01 02
  00 00 00 1e ff 84 01 06 0a 0b 0c 0d 0e 0f 01 05 68 6f 73 74 31 01 fe 30 39 01 03 01 fe 01 23 01
  01 00 0d ff 87 02 01 02 ff 88 00 01 ff 86 00 00 5b ff 85 03 01 01 11 63 6f 6e 6e 65 63 74 69 6f
  6e 53 75 6d 6d 61 72 79 01 ff 86 00 01 04 01 08 4e 61 6d 65 42 79 74 65 01 0a 00 01 0d 52 65 6d
  6f 74 65 54 43 50 41 64 64 72 01 0c 00 01 08 4f 75 74 62 6f 75 6e 64 01 02 00 01 0b 45 73 74 61
  62 6c 69 73 68 65 64 01 02 00 00 00 20 ff 88 00 01 01 06 00 00 00 00 00 01 01 0d 31 30 2e 30 2e
  30 2e 32 3a 36 37 38 33 01 01 01 01 00`);

/** Shifts ids after an ff byte by `by` (Go's process-wide ids vs a fresh encoder's 65..). */
const renumber = (b: Uint8Array, from: number, by: number) =>
  b.map((x, i) => (i > 0 && b[i - 1] === 0xff && x >= from ? x - by : x));

const h1: TopologyEntry = {
  peer: {
    name: 0x020000000001n,
    nickName: "h1",
    uid: 4021037808612341783n,
    version: 1n,
    shortID: 2503,
    hasShortID: true,
  },
  connections: [{
    name: 0x020000000002n,
    remoteTCPAddr: "192.0.2.2:60141",
    outbound: false,
    established: false,
  }],
};
const h2: TopologyEntry = {
  peer: {
    name: 0x020000000002n,
    nickName: "h2",
    uid: 3332465998415520393n,
    version: 0n,
    shortID: 953,
    hasShortID: true,
  },
  connections: [],
};

Deno.test("decodeTopology: the captured update from h1", () => {
  assert.deepStrictEqual(decodeTopology(CAPTURED), [h1, h2]);
});

Deno.test("encodeTopology: re-encodes the capture byte for byte (up to type ids)", () => {
  // Go's ids 75/76/77 become 65/66/67: every id byte after ff drops by 20 (0x95.. -> 0x81..).
  assert.deepStrictEqual(encodeTopology([h1, h2]), renumber(CAPTURED, 0x95, 20));
});

Deno.test("encodeTopology: matches the golden vector (up to type ids)", () => {
  const entry: TopologyEntry = {
    peer: {
      name: 0x0a0b0c0d0e0fn,
      nickName: "host1",
      uid: 12345n,
      version: 3n,
      shortID: 0x123,
      hasShortID: true,
    },
    connections: [{ name: 1n, remoteTCPAddr: "10.0.0.2:6783", outbound: true, established: true }],
  };
  assert.deepStrictEqual(encodeTopology([entry]), renumber(VECTOR, 0x83, 2));
  assert.deepStrictEqual(decodeTopology(VECTOR), [entry]);
});

Deno.test("topology codec: round trip, including zero and maximum values", () => {
  const entries: TopologyEntry[] = [
    {
      peer: { name: 0n, nickName: "", uid: 0n, version: 0n, shortID: 0, hasShortID: false },
      connections: [{ name: 0n, remoteTCPAddr: "", outbound: false, established: false }],
    },
    {
      peer: {
        name: (1n << 48n) - 1n,
        nickName: "ünï",
        uid: (1n << 64n) - 1n,
        version: (1n << 64n) - 1n,
        shortID: 4095,
        hasShortID: true,
      },
      connections: [h1.connections[0], { ...h1.connections[0], outbound: true, established: true }],
    },
  ];
  assert.deepStrictEqual(decodeTopology(encodeTopology(entries)), entries);
  assert.deepStrictEqual(decodeTopology(encodeTopology([])), []);
});

Deno.test("decodeTopology: truncation at any length throws or yields whole pairs only", () => {
  for (let len = 1; len < CAPTURED.length; len++) {
    let got: TopologyEntry[];
    try {
      got = decodeTopology(CAPTURED.subarray(0, len));
    } catch (error) {
      assert.ok(error instanceof RangeError || error instanceof SyntaxError, `@${len}: ${error}`);
      continue;
    }
    assert.deepStrictEqual(got, [h1], `@${len}`); // only at the end of h1's connection list
  }
});

Deno.test("decodeTopology: malformed content", () => {
  const summaryOnly = CAPTURED.subarray(0, 0x63 + 0x22);
  assert.throws(() => decodeTopology(summaryOnly), /peer 0 has no connection list/);
  const shortName = CAPTURED.slice();
  shortName[0x63 + 4] = 0x05; // NameByte length 6 -> 5: the rest of the struct goes out of step
  assert.throws(() => decodeTopology(shortName), SyntaxError);
  const badKind = CAPTURED.slice();
  badKind[0x38] = 0x04; // UID field type id 3 (uint) -> 2 (int)
  assert.throws(() => decodeTopology(badKind), /field UID is int, expected uint/);
});

Deno.test("decodeTopology: NameByte must be 6 bytes", () => {
  const entry = encodeTopology([h2]);
  // h2's value message: 1f ff 82 01 06 <6 bytes> ...; shrink NameByte to 5 bytes.
  const at = entry.indexOf(0x1f);
  const value = [...entry.subarray(at + 1, at + 1 + 0x1f)];
  value.splice(3, 2, 0x05); // length 6 -> 5, dropping the first name byte
  const patched = new Uint8Array([
    ...entry.subarray(0, at),
    value.length,
    ...value,
    ...entry.subarray(at + 1 + 0x1f),
  ]);
  assert.throws(() => decodeTopology(patched), /NameByte has 5 bytes, expected 6/);
});

Deno.test("decodeTopology: definitions met once are recognised by their bytes afterwards", () => {
  forgetDefinitions();
  assert.equal(decodeKnownTypes(CAPTURED), undefined, "nothing met yet: generic path");
  assert.deepStrictEqual(decodeTopology(CAPTURED), [h1, h2]);
  assert.deepStrictEqual(decodeKnownTypes(CAPTURED), [h1, h2], "Go's ids 75-77, now known");
  assert.equal(decodeKnownTypes(VECTOR), undefined, "other ids: other definitions");
  const ours = encodeTopology([h2, h1]);
  assert.equal(decodeKnownTypes(ours), undefined);
  assert.deepStrictEqual(decodeTopology(ours), [h2, h1]);
  assert.deepStrictEqual(decodeKnownTypes(ours), [h2, h1], "our ids 65-67, now known");
  assert.deepStrictEqual(decodeKnownTypes(encodeTopology([h1])), [h1], "new values, same types");
});

Deno.test("decodeTopology: known definitions never change what a payload decodes to", () => {
  forgetDefinitions();
  decodeTopology(CAPTURED);
  const generic = (bytes: Uint8Array) => {
    try {
      return decodeTopologyGeneric(bytes);
    } catch (e) {
      return (e as Error).constructor.name;
    }
  };
  const fast = (bytes: Uint8Array) => {
    try {
      return decodeTopology(bytes);
    } catch (e) {
      return (e as Error).constructor.name;
    }
  };
  for (let len = 1; len <= CAPTURED.length; len++) {
    const cut = CAPTURED.subarray(0, len);
    assert.deepStrictEqual(fast(cut), generic(cut), `cut at ${len}`);
  }
  for (let i = 0; i < CAPTURED.length; i++) {
    const bent = CAPTURED.slice();
    bent[i] ^= 0x41;
    assert.deepStrictEqual(fast(bent), generic(bent), `byte ${i} changed`);
  }
});
