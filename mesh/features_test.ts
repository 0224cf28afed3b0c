import assert from "node:assert/strict";
import { buildFeatures, decodeFeatures, encodeFeatures, parseFeatures } from "./features.ts";

const fromHex = (text: string) =>
  new Uint8Array(text.trim().split(/\s+/).map((h) => parseInt(h, 16)));

/** From captures/plain-tcp-messages.txt, connection 1 (h2 dialled h1); Go gave the map type id 74. */
const H2_FEATURES = fromHex(`
  0e ff 93 04 01 02 ff 94 00 01 0c 01 0c 00 00 ff 99 ff 94 00 08 08 4f 76 65 72 6c 61 79 73 06 73
  6c 65 65 76 65 0f 50 65 65 72 4e 61 6d 65 46 6c 61 76 6f 75 72 03 6d 61 63 04 4e 61 6d 65 11 30
  32 3a 30 30 3a 30 30 3a 30 30 3a 30 30 3a 30 32 08 4e 69 63 6b 4e 61 6d 65 02 68 32 07 53 68 6f
  72 74 49 44 03 39 35 33 03 55 49 44 13 33 33 33 32 34 36 35 39 39 38 34 31 35 35 32 30 33 39 33
  06 43 6f 6e 6e 49 44 14 31 34 37 32 35 32 30 34 39 32 32 34 38 38 32 36 33 39 32 37 07 54 72 75
  73 74 65 64 05 66 61 6c 73 65`);
const H1_FEATURES = fromHex(`
  0e ff 93 04 01 02 ff 94 00 01 0c 01 0c 00 00 ff 9a ff 94 00 08 0f 50 65 65 72 4e 61 6d 65 46 6c
  61 76 6f 75 72 03 6d 61 63 04 4e 61 6d 65 11 30 32 3a 30 30 3a 30 30 3a 30 30 3a 30 30 3a 30 31
  08 4e 69 63 6b 4e 61 6d 65 02 68 31 07 53 68 6f 72 74 49 44 04 32 35 30 33 03 55 49 44 13 34 30
  32 31 30 33 37 38 30 38 36 31 32 33 34 31 37 38 33 06 43 6f 6e 6e 49 44 14 31 33 38 30 30 31 32
  37 38 36 32 37 34 36 34 32 31 39 32 34 07 54 72 75 73 74 65 64 05 66 61 6c 73 65 08 4f 76 65 72
  6c 61 79 73 06 73 6c 65 65 76 65`);

/** gob-vectors.txt "features map (V2 first msg)". */
const VECTOR = fromHex(`
  0e ff 81 04 01 02 ff 82 00 01 0c 01 0c 00 00 1b ff 82 00 01 04 4e 61 6d 65 11 30 61 3a 30 62 3a
  30 63 3a 30 64 3a 30 65 3a 30 66`);

/** Replaces Go's id 74 (ff 93 / ff 94) with a fresh encoder's 65 (ff 81 / ff 82). */
const renumber = (b: Uint8Array) =>
  b.map((x, i) => (i > 0 && b[i - 1] === 0xff && (x === 0x93 || x === 0x94) ? x - 0x12 : x));

const valid = {
  PeerNameFlavour: "mac",
  Name: "02:00:00:00:00:01",
  NickName: "h1",
  UID: "4021037808612341783",
  ConnID: "13800127862746421924",
};

Deno.test("encodeFeatures: matches Go's bytes", () => {
  assert.deepStrictEqual(encodeFeatures({ Name: "0a:0b:0c:0d:0e:0f" }), VECTOR);
});

Deno.test("decodeFeatures: the captured h2 and h1 messages, keys in wire order", () => {
  const h2 = decodeFeatures(H2_FEATURES);
  assert.deepEqual(Object.keys(h2), [
    "Overlays",
    "PeerNameFlavour",
    "Name",
    "NickName",
    "ShortID",
    "UID",
    "ConnID",
    "Trusted",
  ]);
  assert.deepStrictEqual(parseFeatures(h2), {
    name: 0x020000000002n,
    nickName: "h2",
    uid: 3332465998415520393n,
    connID: 14725204922488263927n,
    shortID: 953,
    trusted: false,
    overlays: ["sleeve"],
  });
  assert.deepStrictEqual(parseFeatures(decodeFeatures(H1_FEATURES)), {
    name: 0x020000000001n,
    nickName: "h1",
    uid: 4021037808612341783n,
    connID: 13800127862746421924n,
    shortID: 2503,
    trusted: false,
    overlays: ["sleeve"],
  });
});

Deno.test("encodeFeatures: re-encodes captured features byte for byte (up to the type id)", () => {
  for (const captured of [H1_FEATURES, H2_FEATURES]) {
    assert.deepStrictEqual(encodeFeatures(decodeFeatures(captured)), renumber(captured));
  }
});

Deno.test("decodeFeatures: rejects other types, truncation and garbage", () => {
  const uintMap = new Uint8Array([
    0x0e,
    0xff,
    0x81,
    0x04,
    0x01,
    0x02,
    0xff,
    0x82,
    0,
    0x01,
    0x06,
    0x01,
    0x0c,
    0,
    0,
    4,
    0xff,
    0x82,
    0,
    0,
  ]);
  assert.throws(
    () => decodeFeatures(uintMap),
    /expected map\[string\]string, got map\[uint\]string/,
  );
  assert.throws(
    () =>
      decodeFeatures(
        new Uint8Array([0x0b, 0x0c, 0, 8, 0x74, 0x6f, 0x70, 0x6f, 0x6c, 0x6f, 0x67, 0x79]),
      ),
    TypeError,
  );
  for (let len = 0; len < H1_FEATURES.length; len++) {
    assert.throws(() => decodeFeatures(H1_FEATURES.subarray(0, len)), `truncated at ${len}`);
  }
  const proto = decodeFeatures(encodeFeatures(JSON.parse('{"__proto__": "x"}')));
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
  assert.equal(Object.hasOwn(proto, "__proto__"), true);
});

Deno.test("parseFeatures: required fields, named in the error", () => {
  for (const key of Object.keys(valid)) {
    const map: Record<string, string> = { ...valid };
    delete map[key];
    assert.throws(() => parseFeatures(map), {
      name: "SyntaxError",
      message: `Field ${key} is missing`,
    });
  }
  assert.throws(
    () => parseFeatures({ ...valid, PeerNameFlavour: "x" }),
    { message: "Peer name flavour mismatch (ours: 'mac', theirs: 'x')" },
  );
});

Deno.test("parseFeatures: optional fields and their defaults", () => {
  const minimal = parseFeatures(valid);
  assert.deepStrictEqual(minimal, {
    name: 0x020000000001n,
    nickName: "h1",
    uid: 4021037808612341783n,
    connID: 13800127862746421924n,
    trusted: false,
  });
  assert.equal(minimal.overlays, undefined);
  const full = parseFeatures({
    ...valid,
    ShortID: "4095",
    Trusted: "true",
    Overlays: "fastdp sleeve",
  });
  assert.deepStrictEqual([full.shortID, full.trusted, full.overlays], [4095, true, [
    "fastdp",
    "sleeve",
  ]]);
  assert.equal(parseFeatures({ ...valid, Trusted: "1" }).trusted, true);
  assert.equal(parseFeatures({ ...valid, Trusted: "False" }).trusted, false);
  assert.deepStrictEqual(parseFeatures({ ...valid, Overlays: "" }).overlays, []);
  assert.equal(parseFeatures({ ...valid, Name: "::1" }).name, 1n);
  assert.equal(parseFeatures({ ...valid, UID: "18446744073709551615" }).uid, (1n << 64n) - 1n);
});

Deno.test("parseFeatures: malformed values name the field", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ Name: "zz" }, /Name "zz"/],
    [{ UID: "-1" }, /UID "-1" is not a decimal/],
    [{ UID: "" }, /UID "" is not a decimal/],
    [{ UID: "18446744073709551616" }, /UID 18446744073709551616 is above/],
    [{ ConnID: "0x10" }, /ConnID "0x10"/],
    [{ ShortID: "4096" }, /ShortID 4096 is above 4095/],
    [{ ShortID: "+1" }, /ShortID "\+1"/],
    [{ Trusted: "yes" }, /Trusted "yes" is not a bool/],
  ];
  for (const [change, message] of cases) {
    assert.throws(() => parseFeatures({ ...valid, ...change }), message);
  }
});

Deno.test("buildFeatures writes ours in Weave's key order, and parseFeatures reads them back", () => {
  const ours = {
    name: 0x020000000001n,
    nickName: "h1",
    shortID: 2503,
    uid: 4021037808612341783n,
    connID: 13800127862746421924n,
    trusted: false,
  };
  const map = buildFeatures(ours);
  assert.deepEqual(Object.keys(map), [
    "PeerNameFlavour",
    "Name",
    "NickName",
    "ShortID",
    "UID",
    "ConnID",
    "Trusted",
  ]);
  const sent = { ...map, Overlays: "sleeve" };
  assert.deepEqual(encodeFeatures(sent), renumber(H1_FEATURES), "the bytes h1 sent");
  assert.deepEqual(parseFeatures(map), {
    name: ours.name,
    nickName: "h1",
    uid: ours.uid,
    connID: ours.connID,
    shortID: 2503,
    trusted: false,
  });
});
