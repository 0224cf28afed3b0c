import assert from "node:assert/strict";
import {
  decodeMessage,
  decodeOverlayControl,
  decodePMTUVerified,
  encodeMessage,
  encodeOverlayControl,
  encodePMTUVerified,
  ProtocolTag,
} from "./messages.ts";

Deno.test("ProtocolTag has the spec's numbering", () => {
  assert.deepEqual(Object.entries(ProtocolTag).map(([k, v]) => `${v}:${k}`), [
    "0:Heartbeat",
    "1:ConnectionEstablished",
    "2:FragmentationReceived",
    "3:PMTUVerified",
    "4:Gossip",
    "5:GossipUnicast",
    "6:GossipBroadcast",
    "7:OverlayControlMsg",
  ]);
});

Deno.test("encodeMessage prefixes the tag and decodeMessage splits it back", () => {
  assert.deepEqual(encodeMessage(ProtocolTag.Heartbeat, new Uint8Array()), new Uint8Array([0]));
  const gossip = encodeMessage(ProtocolTag.Gossip, new Uint8Array([0x0b, 0x0c, 0x00]));
  assert.deepEqual(gossip, new Uint8Array([4, 0x0b, 0x0c, 0x00]));
  for (let tag = 0; tag < 256; tag += 37) {
    const body = Uint8Array.from({ length: tag % 5 }, (_, i) => i + tag);
    assert.deepEqual(decodeMessage(encodeMessage(tag, body)), { tag, body });
  }
});

Deno.test("decodeMessage works on a view inside a larger buffer and ignores empty input", () => {
  const big = new Uint8Array([9, 9, 6, 1, 2, 3, 9]);
  const m = decodeMessage(big.subarray(2, 6));
  assert.deepEqual(m, { tag: 6, body: new Uint8Array([1, 2, 3]) });
  assert.equal(decodeMessage(new Uint8Array()), null);
  assert.deepEqual(decodeMessage(new Uint8Array([0])), { tag: 0, body: new Uint8Array() });
  assert.deepEqual(decodeMessage(new Uint8Array([200, 1])), {
    tag: 200,
    body: new Uint8Array([1]),
  });
});

Deno.test("encodeMessage rejects tags that are not bytes", () => {
  assert.throws(() => encodeMessage(256, new Uint8Array()), RangeError);
  assert.throws(() => encodeMessage(-1, new Uint8Array()), RangeError);
});

Deno.test("overlay control body matches the capture's PMTUVerified and round-trips", () => {
  // plain capture: tag 7 messages carry `[00][03][05 9e]` for PMTUVerified(1438).
  const body = encodeOverlayControl(0, ProtocolTag.PMTUVerified, encodePMTUVerified(1438));
  assert.deepEqual(body, new Uint8Array([0x00, 0x03, 0x05, 0x9e]));
  const back = decodeOverlayControl(body);
  assert.equal(back.index, 0);
  assert.equal(back.subTag, 3);
  assert.equal(decodePMTUVerified(back.payload), 1438);
  assert.deepEqual(decodeOverlayControl(new Uint8Array([1, 2])), {
    index: 1,
    subTag: 2,
    payload: new Uint8Array(),
  });
  const inside = new Uint8Array([7, 7, 2, 1, 0xaa]);
  assert.deepEqual(decodeOverlayControl(inside.subarray(2)), {
    index: 2,
    subTag: 1,
    payload: new Uint8Array([0xaa]),
  });
});

Deno.test("overlay control rejects short bodies and non-byte prefixes", () => {
  assert.throws(() => decodeOverlayControl(new Uint8Array()), RangeError);
  assert.throws(() => decodeOverlayControl(new Uint8Array([0])), RangeError);
  assert.throws(() => encodeOverlayControl(256, 1, new Uint8Array()), RangeError);
  assert.throws(() => encodeOverlayControl(0, -1, new Uint8Array()), RangeError);
});

Deno.test("PMTUVerified round-trips u16 values, also at an offset", () => {
  for (const mtu of [0, 1, 255, 256, 1376, 1414, 1438, 0xffff]) {
    const b = encodePMTUVerified(mtu);
    assert.equal(b.length, 2);
    assert.equal(decodePMTUVerified(b), mtu);
    const big = new Uint8Array([0xee, ...b, 0xee]);
    assert.equal(decodePMTUVerified(big, 1), mtu);
  }
  assert.equal(decodePMTUVerified(new Uint8Array([0x05, 0x86, 0xff])), 1414);
});

Deno.test("PMTUVerified rejects out-of-range MTUs and short bodies", () => {
  assert.throws(() => encodePMTUVerified(0x10000), RangeError);
  assert.throws(() => encodePMTUVerified(-1), RangeError);
  assert.throws(() => encodePMTUVerified(1.5), RangeError);
  assert.throws(() => decodePMTUVerified(new Uint8Array([5])), RangeError);
  assert.throws(() => decodePMTUVerified(new Uint8Array([5, 6]), 1), RangeError);
  assert.throws(() => decodePMTUVerified(new Uint8Array()), RangeError);
});
