import assert from "node:assert/strict";
import {
  decodeGossipBody,
  encodeBroadcastBody,
  encodeGossipBody,
  encodeUnicastBody,
} from "./gossip_envelope.ts";

const fromHex = (text: string) =>
  new Uint8Array(text.trim().split(/\s+/).map((h) => parseInt(h, 16)));
const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

/** gob-vectors.txt "gossip broadcast header: topology, src, payload". */
const VECTOR = fromHex(`
  0b 0c 00 08 74 6f 70 6f 6c 6f 67 79 09 06 00 fa 0a 0b 0c 0d 0e 0f 04 0a 00 01 aa`);

Deno.test("encodeGossipBody / encodeBroadcastBody: Go's bytes", () => {
  const body = { channel: "topology", payload: new Uint8Array([0xaa]) };
  assert.deepStrictEqual(encodeGossipBody({ ...body, sender: 0x0a0b0c0d0e0fn }), VECTOR);
  assert.deepStrictEqual(encodeBroadcastBody({ ...body, origin: 0x0a0b0c0d0e0fn }), VECTOR);
});

Deno.test("encodeGossipBody: header as captured (h1's topology gossip, 307-byte payload)", () => {
  const payload = new Uint8Array(307).fill(0x62);
  const body = encodeGossipBody({ channel: "topology", sender: 0x020000000001n, payload });
  // captures/plain-tcp-messages.txt MSG #1: channel, sender, then "fe 01 38 0a 00 fe 01 33" + payload
  assert.equal(hex(body.subarray(0, 12)), "0b 0c 00 08 74 6f 70 6f 6c 6f 67 79");
  assert.equal(hex(body.subarray(12, 22)), "09 06 00 fa 02 00 00 00 00 01");
  assert.equal(hex(body.subarray(22, 30)), "fe 01 38 0a 00 fe 01 33");
  assert.equal(body.length, 337);
  assert.deepStrictEqual(decodeGossipBody(4, body), {
    channel: "topology",
    sender: 0x020000000001n,
    payload,
  });
});

Deno.test("decodeGossipBody: round trip for each tag", () => {
  const payload = new Uint8Array([0, 1, 2]);
  assert.deepStrictEqual(
    decodeGossipBody(6, encodeBroadcastBody({ channel: "nameserver", origin: 3n, payload })),
    { channel: "nameserver", origin: 3n, payload },
  );
  const unicast = { channel: "IPallocation", source: 1n, destination: (1n << 48n) - 1n, payload };
  assert.deepStrictEqual(decodeGossipBody(5, encodeUnicastBody(unicast)), unicast);
  const empty = { channel: "", sender: 0n, payload: new Uint8Array() };
  assert.deepStrictEqual(decodeGossipBody(4, encodeGossipBody(empty)), empty);
});

Deno.test("decodeGossipBody: values after the payload are ignored, as Go does", () => {
  const body = new Uint8Array([...VECTOR, 0x03, 0x06, 0x00, 0x05]);
  assert.equal(decodeGossipBody(4, body).sender, 0x0a0b0c0d0e0fn);
});

Deno.test("decodeGossipBody: wrong kinds, missing values and truncation throw", () => {
  // A tag-4 body read as tag 5: the payload sits where the destination should.
  assert.throws(
    () => decodeGossipBody(5, VECTOR),
    /tag 5 gossip destination: expected uint, got \[\]byte/,
  );
  const signed = VECTOR.slice();
  signed[13] = 0x04; // sender type id 3 (uint) -> 2 (int)
  assert.throws(() => decodeGossipBody(4, signed), /peer name: expected uint, got int/);
  assert.throws(() => decodeGossipBody(4, VECTOR.subarray(0, 22)), /tag 4 gossip payload: .*ended/);
  for (let len = 0; len < VECTOR.length; len++) {
    assert.throws(() => decodeGossipBody(6, VECTOR.subarray(0, len)), SyntaxError);
  }
  assert.throws(() => decodeGossipBody(7 as 4, VECTOR), /tag 7 is not 4, 5 or 6/);
});
