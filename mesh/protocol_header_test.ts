import assert from "node:assert/strict";
import {
  decodeProtocolHeader,
  encodeProtocolHeader,
  negotiateVersion,
  PROTOCOL_HEADER_LENGTH,
  PROTOCOL_MAX_VERSION,
  PROTOCOL_MIN_VERSION,
} from "./protocol_header.ts";

Deno.test("encodeProtocolHeader matches the captured Go header byte for byte", () => {
  // From captures/plain-tcp-messages.txt: "77 65 61 76 65 01 02".
  const bytes = encodeProtocolHeader(PROTOCOL_MIN_VERSION, PROTOCOL_MAX_VERSION);
  assert.deepEqual(bytes, new Uint8Array([0x77, 0x65, 0x61, 0x76, 0x65, 0x01, 0x02]));
  assert.equal(bytes.length, PROTOCOL_HEADER_LENGTH);
});

Deno.test("protocol header round-trips, also at a non-zero offset", () => {
  for (const [min, max] of [[1, 2], [2, 2], [0, 255], [7, 3]]) {
    const header = encodeProtocolHeader(min, max);
    assert.deepEqual(decodeProtocolHeader(header), { min, max });
    const big = new Uint8Array(3 + header.length + 4).fill(0xee);
    big.set(header, 3);
    assert.deepEqual(decodeProtocolHeader(big, 3), { min, max });
  }
});

Deno.test("encodeProtocolHeader rejects versions that are not bytes", () => {
  assert.throws(() => encodeProtocolHeader(-1, 2), RangeError);
  assert.throws(() => encodeProtocolHeader(1, 256), RangeError);
  assert.throws(() => encodeProtocolHeader(1.5, 2), RangeError);
});

Deno.test("decodeProtocolHeader rejects truncated input before reading it", () => {
  const header = encodeProtocolHeader(1, 2);
  for (let n = 0; n < PROTOCOL_HEADER_LENGTH; n++) {
    assert.throws(() => decodeProtocolHeader(header.subarray(0, n)), RangeError);
  }
  assert.throws(() => decodeProtocolHeader(header, 1), RangeError);
  assert.throws(() => decodeProtocolHeader(header, -1), RangeError);
});

Deno.test("decodeProtocolHeader rejects a wrong magic with Go's wording", () => {
  const cases = ["Weave", "weavf", "GET /", "\0\0\0\0\0"];
  for (const magic of cases) {
    const bytes = new Uint8Array(7);
    bytes.set(new TextEncoder().encode(magic));
    assert.throws(
      () => decodeProtocolHeader(bytes),
      (e: unknown) =>
        e instanceof SyntaxError && /the protocol header was not the expected/.test(e.message),
    );
  }
});

Deno.test("negotiateVersion picks the highest common version", () => {
  assert.equal(negotiateVersion({ min: 1, max: 2 }, { min: 1, max: 2 }), 2);
  assert.equal(negotiateVersion({ min: 1, max: 2 }, { min: 1, max: 1 }), 1);
  assert.equal(negotiateVersion({ min: 1, max: 2 }, { min: 2, max: 9 }), 2);
  assert.equal(negotiateVersion({ min: 2, max: 5 }, { min: 1, max: 4 }), 4);
});

Deno.test("negotiateVersion throws when the ranges do not overlap", () => {
  assert.throws(() => negotiateVersion({ min: 2, max: 2 }, { min: 1, max: 1 }), RangeError);
  assert.throws(() => negotiateVersion({ min: 1, max: 2 }, { min: 3, max: 4 }), /3\.\.4/);
  assert.throws(() => negotiateVersion({ min: 1, max: 2 }, { min: 2, max: 1 }), RangeError);
});
