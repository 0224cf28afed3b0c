import assert from "node:assert/strict";
import { ifAddrMsg, ifInfoMsg, ndMsg, nlMsgErr, rtMsg } from "./family_headers.ts";
import { type FixedCodec, nlMsgHdr } from "./header.ts";

/** dns-packet style round trip of a fixed codec, also at a non-zero offset. */
function roundTripFixed<T>(codec: FixedCodec<T>, value: T): void {
  for (const offset of [0, 5]) {
    const bytes = new Uint8Array(offset + codec.size + 3).fill(0xee);
    const end = codec.encode(value, bytes, offset);
    assert.equal(end - offset, codec.size);
    if (offset > 0) assert.equal(bytes[offset - 1], 0xee, "writes nothing before offset");
    assert.equal(bytes[end], 0xee, "writes nothing past its size");
    const { value: back, offset: next } = codec.decode(bytes, offset);
    assert.deepEqual(back, value);
    assert.equal(next, end);
    const again = new Uint8Array(codec.size);
    codec.encode(back, again, 0);
    assert.deepEqual(again, bytes.subarray(offset, end));
    assert.throws(
      () => codec.decode(bytes.subarray(0, offset + codec.size - 1), offset),
      RangeError,
    );
    assert.throws(() => codec.encode(value, new Uint8Array(codec.size - 1), 0), RangeError);
  }
}

Deno.test("fixed codecs round-trip at offsets and reject short buffers", () => {
  roundTripFixed(nlMsgHdr, { length: 68, type: 16, flags: 0x605, seq: 0xfffffffe, pid: 1234 });
  roundTripFixed(ifInfoMsg, { family: 7, type: 1, index: -1, flags: 0x1003, change: 0xffffffff });
  roundTripFixed(ifAddrMsg, { family: 2, prefixLen: 12, flags: 0x80, scope: 253, index: 77 });
  roundTripFixed(rtMsg, {
    family: 2,
    dstLen: 4,
    srcLen: 0,
    tos: 0,
    table: 254,
    protocol: 3,
    scope: 253,
    type: 1,
    flags: 0x200,
  });
  roundTripFixed(ndMsg, { family: 7, index: 5, state: 0x80, flags: 2, type: 0 });
  roundTripFixed(nlMsgErr, {
    error: -17,
    request: { length: 44, type: 16, flags: 5, seq: 9, pid: 0 },
  });
});
