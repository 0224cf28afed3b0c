import assert from "node:assert/strict";
import { formatPeerName, parsePeerName, peerNameFromBytes, peerNameToBytes } from "./peer_name.ts";

Deno.test("parsePeerName reads full and abbreviated forms", () => {
  assert.equal(parsePeerName("0a:0b:0c:0d:0e:0f"), 0x0a0b0c0d0e0fn);
  assert.equal(parsePeerName("::1"), 1n);
  assert.equal(parsePeerName("a::b"), 0x0a000000000bn);
  assert.equal(parsePeerName("1:2::"), 0x010200000000n);
  assert.equal(parsePeerName("02:00:00:00:00:03"), 0x020000000003n);
});

Deno.test("parsePeerName rejects malformed names", () => {
  for (const bad of ["", "1:2:3", "0a:0b:0c:0d:0e:0f:10", "zz:00:00:00:00:00", "::1::", "123::"]) {
    assert.throws(() => parsePeerName(bad), SyntaxError, bad);
  }
});

Deno.test("formatPeerName pads and lowercases", () => {
  assert.equal(formatPeerName(0x0a0b0c0d0e0fn), "0a:0b:0c:0d:0e:0f");
  assert.equal(formatPeerName(0n), "00:00:00:00:00:00");
  assert.equal(formatPeerName(0xfedcba987654n), "fe:dc:ba:98:76:54");
  assert.throws(() => formatPeerName(1n << 48n), RangeError);
});

Deno.test("peer name bytes round trip at an offset", () => {
  const buf = new Uint8Array(10);
  peerNameToBytes(0x0a0b0c0d0e0fn, buf, 3);
  assert.deepEqual([...buf], [0, 0, 0, 10, 11, 12, 13, 14, 15, 0]);
  assert.equal(peerNameFromBytes(buf, 3), 0x0a0b0c0d0e0fn);
  assert.throws(() => peerNameFromBytes(buf, 5), RangeError);
});
