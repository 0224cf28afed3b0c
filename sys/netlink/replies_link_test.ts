import assert from "node:assert/strict";
import { vxlanLinkReply } from "./_test_utils.ts";
import { decodeEnvelope } from "./message.ts";
import { parseLink } from "./replies_link.ts";
import { linkBody } from "./requests_link.ts";

Deno.test("parseLink reads name, MTU, MAC, master, vxlan data and bridge port flags", () => {
  const bytes = vxlanLinkReply();
  const link = parseLink(decodeEnvelope(bytes, 0).value.payload);
  assert.deepEqual(link, {
    index: 9,
    name: "vx-1",
    family: 0,
    type: 1,
    flags: 0x1043,
    up: true,
    mtu: 1376,
    address: "0a:1b:2c:3d:4e:5f",
    master: 2,
    operState: 6,
    kind: "vxlan",
    slaveKind: "bridge",
    vxlan: { vni: 291, local: "10.0.0.1", port: 6784, learning: false },
    bridgePort: { flood: false, isolated: true },
  });
  assert.equal(parseLink(linkBody({ index: 3, name: "weave", mtu: 1376 })).mtu, 1376);
});

Deno.test("decoders reject every truncation of a valid reply with RangeError", () => {
  const bytes = vxlanLinkReply();
  for (let n = 0; n < bytes.length; n++) {
    const cut = bytes.slice(0, n);
    assert.throws(() => decodeEnvelope(cut, 0), RangeError, `truncated to ${n}`);
    // A header that still claims the full length but the payload is cut: parse the cut payload.
    if (n >= 16) {
      const payload = cut.subarray(16);
      try {
        parseLink(payload);
      } catch (e) {
        assert.ok(e instanceof RangeError, `parseLink of ${n - 16} payload bytes: ${e}`);
      }
    }
  }
});
