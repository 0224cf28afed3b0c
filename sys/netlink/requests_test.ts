import assert from "node:assert/strict";
import { hex } from "./_test_utils.ts";
import {
  AF_BRIDGE,
  AF_INET,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NTF_SELF,
  NUD_PERMANENT,
  RT_SCOPE_LINK,
  RT_TABLE_MAIN,
  RTM_GETLINK,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  RTM_NEWROUTE,
  RTN_UNICAST,
  RTPROT_BOOT,
} from "./constants.ts";
import { decodeEnvelope } from "./message.ts";
import { parseRoute } from "./replies.ts";
import { addrMessage, dumpMessage, neighMessage, routeMessage } from "./requests.ts";

Deno.test("codec encodes RTM_NEWADDR 10.32.0.1/12 with broadcast to the hand-computed bytes", () => {
  const bytes = addrMessage(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, {
    index: 2,
    address: "10.32.0.1",
    prefixLen: 12,
    broadcast: "10.47.255.255",
  });
  assert.deepEqual(
    bytes,
    hex(`
      30000000 1400 0506 00000000 00000000
      02 0c 00 00 02000000
      0800 0200 0a200001
      0800 0100 0a200001
      0800 0400 0a2fffff`),
  );
});

Deno.test("codec encodes an AF_BRIDGE self FDB entry with VNI to the hand-computed bytes", () => {
  const bytes = neighMessage(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, {
    family: AF_BRIDGE,
    index: 5,
    state: NUD_PERMANENT,
    flags: NTF_SELF,
    lladdr: "00:00:00:00:00:00",
    dst: "192.168.1.2",
    vni: 0x1002,
  });
  assert.deepEqual(
    bytes,
    hex(`
      38000000 1c00 0506 00000000 00000000
      07 00 0000 05000000 8000 02 00
      0a00 0200 000000000000 0000
      0800 0100 c0a80102
      0800 0700 02100000`),
  );
});

Deno.test("codec encodes a multicast device route with scope link", () => {
  const bytes = routeMessage(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, {
    dst: "224.0.0.0",
    dstLen: 4,
    oif: 7,
    table: RT_TABLE_MAIN,
    protocol: RTPROT_BOOT,
    scope: RT_SCOPE_LINK,
    type: RTN_UNICAST,
  });
  assert.deepEqual(
    bytes,
    hex(`
      2c000000 1800 0506 00000000 00000000
      02 04 00 00 fe 03 fd 01 00000000
      0800 0100 e0000000
      0800 0400 07000000`),
  );
  const route = parseRoute(decodeEnvelope(bytes, 0).value.payload);
  assert.deepEqual(route, {
    family: AF_INET,
    dst: "224.0.0.0/4",
    table: 254,
    protocol: 3,
    scope: 253,
    type: 1,
    oif: 7,
  });
});

Deno.test("dumpMessage builds family-filtered dump requests", () => {
  assert.deepEqual(
    dumpMessage(RTM_GETLINK, AF_BRIDGE),
    hex("20000000 1200 0103 00000000 00000000 07000000 00000000 00000000 00000000"),
  );
  assert.throws(() => dumpMessage(RTM_NEWLINK, 0), TypeError);
});
