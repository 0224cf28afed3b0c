import assert from "node:assert/strict";
import { type Attr, rtAttr, stringAttr, u32Attr } from "./attrs.ts";
import { AF_UNSPEC, IFLA_INFO_KIND, IFLA_LINKINFO, RTM_NEWLINK } from "./constants.ts";
import { ifInfoMsg } from "./family_headers.ts";
import { decodeMessage, encodeMessage, encodeMessageInto, messageLength } from "./message.ts";

Deno.test("messages round-trip through encodeMessage/decodeMessage at an offset", () => {
  const msg = {
    type: RTM_NEWLINK,
    flags: 0x2,
    seq: 77,
    pid: 0,
    header: { family: AF_UNSPEC, type: 1, index: 4, flags: 0x1043, change: 0 },
    attrs: [
      stringAttr(3, "vx-a"),
      u32Attr(4, 1376),
      { type: IFLA_LINKINFO, value: [stringAttr(IFLA_INFO_KIND, "vxlan")] },
    ] as Attr[],
  };
  const length = messageLength(ifInfoMsg, msg);
  const bytes = new Uint8Array(7 + length + 4).fill(0xaa);
  const end = encodeMessageInto(ifInfoMsg, msg, { bytes, offset: 7 });
  assert.equal(end, 7 + length);
  assert.deepEqual(bytes.subarray(7, end), encodeMessage(ifInfoMsg, msg));
  assert.equal(bytes[end], 0xaa);
  const { value, offset } = decodeMessage(ifInfoMsg, bytes.subarray(0, end), 7);
  assert.equal(offset, end);
  assert.deepEqual(
    [value.type, value.flags, value.seq, value.header],
    [msg.type, msg.flags, 77, msg.header],
  );
  assert.deepEqual(value.attrs.map((a) => a.type), [3, 4, IFLA_LINKINFO]);
  assert.equal(rtAttr.encodingLength(msg.attrs[0]), 12);
  assert.deepEqual(rtAttr.decode(bytes, 7 + 32).value.value, stringAttr(3, "vx-a").value);
});
