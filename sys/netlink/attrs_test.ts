import assert from "node:assert/strict";
import { hex } from "./_test_utils.ts";
import { decodeAttrs, formatIp, formatMac, parseMac, rtAttr } from "./attrs.ts";
import { parseLink } from "./replies_link.ts";

Deno.test("address helpers parse and format MACs and IPs", () => {
  assert.equal(formatMac(parseMac("0A:b:00:ff:1:2")), "0a:0b:00:ff:01:02");
  assert.throws(() => parseMac("0a:0b:00:ff:01"), SyntaxError);
  assert.throws(() => parseMac("0a:0b:00:ff:01:zz"), SyntaxError);
  assert.equal(formatIp(Uint8Array.of(10, 32, 0, 1)), "10.32.0.1");
  assert.equal(formatIp(hex("fe800000000000000000000000000001")), "fe80::1");
  assert.equal(formatIp(hex("20010db8000000010000000000000000")), "2001:db8:0:1::");
  assert.equal(formatIp(hex("00010002000300040005000600070008")), "1:2:3:4:5:6:7:8");
  assert.throws(() => formatIp(Uint8Array.of(1, 2, 3)), RangeError);
});

Deno.test("rtattr decoding rejects bad lengths and nested children escaping their parent", () => {
  assert.throws(() => rtAttr.decode(hex("0300 0100"), 0), RangeError, "length below header");
  assert.throws(() => rtAttr.decode(hex("0900 0100 00000000"), 0), RangeError, "beyond input");
  assert.throws(() => decodeAttrs(hex("0800 0100 00000000 00"), 0), RangeError, "trailing byte");
  assert.throws(() => decodeAttrs(hex("0800 0100"), 0, 8), RangeError, "end past input");
  // Parent IFLA_LINKINFO of 12 bytes whose child claims 12 bytes (runs past the parent into
  // the following attribute): bounded by the parent, so it must fail, not read the neighbour.
  const bytes = hex("0c00 1200 0c00 0100 76786c61 0800 0400 60050000");
  const outer = decodeAttrs(bytes, 0);
  assert.equal(outer.length, 2);
  assert.throws(() => decodeAttrs(outer[0].value, 0), RangeError);
  assert.throws(
    () => parseLink(hex("00000000 01000000 00000000 00000000").slice(0, 15)),
    RangeError,
  );
});
