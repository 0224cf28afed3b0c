import assert from "node:assert/strict";
import {
  MAX_SHORT_ID,
  peerOfDeviceName,
  peerVNIs,
  splitVNI,
  tunnelVNI,
  vxlanDeviceName,
} from "./vni.ts";

Deno.test("tunnelVNI puts the source in the low and the destination in the high 12 bits", () => {
  assert.equal(tunnelVNI(0, 0), 0);
  assert.equal(tunnelVNI(0x123, 0x456), 0x456123);
  assert.equal(tunnelVNI(MAX_SHORT_ID, MAX_SHORT_ID), 0xffffff);
  assert.equal(tunnelVNI(1, 0), 1);
  assert.equal(tunnelVNI(0, 1), 4096);
  for (const bad of [-1, 4096, 1.5, NaN]) {
    assert.throws(() => tunnelVNI(bad, 1), RangeError);
    assert.throws(() => tunnelVNI(1, bad), RangeError);
  }
});

Deno.test("splitVNI inverts tunnelVNI and rejects non-24-bit values", () => {
  for (const [src, dst] of [[0, 0], [1, 2], [0xfff, 7], [0xabc, 0xdef]]) {
    assert.deepEqual(splitVNI(tunnelVNI(src, dst)), { src, dst });
  }
  assert.throws(() => splitVNI(0x1000000), RangeError);
  assert.throws(() => splitVNI(-1), RangeError);
});

Deno.test("peerVNIs: each side's receive VNI is the other's send VNI", () => {
  const a = peerVNIs(0x00a, 0x00b);
  const b = peerVNIs(0x00b, 0x00a);
  assert.deepEqual(a, { receive: 0x00a00b, send: 0x00b00a });
  assert.equal(a.receive, b.send);
  assert.equal(a.send, b.receive);
});

Deno.test("vxlanDeviceName is vxw plus 12 hex digits and parses back", () => {
  assert.equal(vxlanDeviceName(0xce3b1c2a4f01n), "vxwce3b1c2a4f01");
  assert.equal(vxlanDeviceName(1n), "vxw000000000001");
  assert.equal(vxlanDeviceName(0xffffffffffffn).length, 15);
  assert.throws(() => vxlanDeviceName(0x1000000000000n), RangeError);
  assert.throws(() => vxlanDeviceName(-1n), RangeError);
  assert.equal(peerOfDeviceName("vxwce3b1c2a4f01"), 0xce3b1c2a4f01n);
  for (
    const other of ["vxw", "vxwCE3B1C2A4F01", "vxwce3b1c2a4f0", "vethwe-bridge", "vxwce3b1c2a4f011"]
  ) {
    assert.equal(peerOfDeviceName(other), undefined, other);
  }
});
