import assert from "node:assert/strict";
import { hex } from "./_test_utils.ts";
import { attrTable, decodeAttrs } from "./attrs.ts";
import {
  AF_BRIDGE,
  IFLA_INFO_DATA,
  IFLA_LINKINFO,
  NLM_F_CREATE,
  NLM_F_EXCL,
  RTM_NEWLINK,
  RTM_SETLINK,
} from "./constants.ts";
import { decodeEnvelope } from "./message.ts";
import { parseLink } from "./replies_link.ts";
import { bridgePortAttrs, linkMessage, vethData } from "./requests_link.ts";

Deno.test("codec encodes RTM_NEWLINK bridge weave mtu 1376 to the hand-computed bytes", () => {
  const bytes = linkMessage(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, {
    name: "weave",
    mtu: 1376,
    kind: "bridge",
  });
  assert.deepEqual(
    bytes,
    hex(`
      44000000 1000 0506 00000000 00000000
      00 00 0000 00000000 00000000 00000000
      0a00 0300 7765617665 00 0000
      0800 0400 60050000
      1000 1200 0b00 0100 627269646765 00 00`),
  );
});

Deno.test("codec encodes bridge port isolation as a NLA_F_NESTED IFLA_PROTINFO", () => {
  const bytes = linkMessage(RTM_SETLINK, 0, {
    family: AF_BRIDGE,
    index: 3,
    protinfo: bridgePortAttrs({ isolated: true }),
  });
  assert.deepEqual(
    bytes,
    hex(`
      2c000000 1300 0500 00000000 00000000
      07 00 0000 03000000 00000000 00000000
      0c00 0c80 0500 2100 01 000000`),
  );
});

Deno.test("codec nests a veth peer's ifinfomsg and attributes inside VETH_INFO_PEER", () => {
  const data = vethData({ name: "ethwe", netnsFd: 9 });
  const body = data[0].value as Uint8Array;
  assert.deepEqual(
    body,
    hex(`
      00 00 0000 00000000 00000000 00000000
      0a00 0300 6574687765 00 0000
      0800 1c00 09000000`),
  );
  const msg = linkMessage(RTM_NEWLINK, NLM_F_CREATE, { name: "vethwe", kind: "veth", data });
  const peer = decodeAttrs(
    attrTable(attrTable(decodeEnvelope(msg, 0).value.payload, 16).get(IFLA_LINKINFO)!).get(
      IFLA_INFO_DATA,
    )!,
    0,
  )[0];
  assert.equal(parseLink(peer.value).name, "ethwe");
});

Deno.test("codec encodes hairpin mode as IFLA_BRPORT_MODE in IFLA_PROTINFO", () => {
  const bytes = linkMessage(RTM_SETLINK, 0, {
    family: AF_BRIDGE,
    index: 3,
    protinfo: bridgePortAttrs({ hairpin: true }),
  });
  assert.deepEqual(
    bytes,
    hex(`
      2c000000 1300 0500 00000000 00000000
      07 00 0000 03000000 00000000 00000000
      0c00 0c80 0500 0400 01 000000`),
  );
});
