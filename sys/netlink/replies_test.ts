import assert from "node:assert/strict";
import { hex, vxlanLinkReply } from "./_test_utils.ts";
import {
  AF_BRIDGE,
  AF_INET,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NTF_SELF,
  NUD_PERMANENT,
  RTM_NEWADDR,
  RTM_NEWNEIGH,
} from "./constants.ts";
import { ifInfoMsg } from "./family_headers.ts";
import { decodeEnvelope, decodeMessage } from "./message.ts";
import { parseAddr, parseError, parseNeigh, parseRoute } from "./replies.ts";
import { parseLink } from "./replies_link.ts";
import { addrMessage, neighMessage } from "./requests.ts";

Deno.test("parseAddr and parseNeigh read what the builders wrote", () => {
  const addr = addrMessage(RTM_NEWADDR, 0, { index: 4, address: "10.32.0.1", prefixLen: 12 });
  assert.deepEqual(parseAddr(decodeEnvelope(addr, 0).value.payload), {
    family: AF_INET,
    index: 4,
    prefixLen: 12,
    flags: 0,
    scope: 0,
    address: "10.32.0.1",
    cidr: "10.32.0.1/12",
  });
  const neigh = neighMessage(RTM_NEWNEIGH, 0, {
    family: AF_BRIDGE,
    index: 6,
    state: NUD_PERMANENT,
    flags: NTF_SELF,
    lladdr: "00:00:00:00:00:00",
    dst: "192.0.2.7",
    vni: 0x2001,
    port: 6784,
    master: 3,
  });
  assert.deepEqual(parseNeigh(decodeEnvelope(neigh, 0).value.payload), {
    family: AF_BRIDGE,
    index: 6,
    state: NUD_PERMANENT,
    flags: NTF_SELF,
    lladdr: "00:00:00:00:00:00",
    dst: "192.0.2.7",
    vni: 0x2001,
    port: 6784,
    master: 3,
  });
});

Deno.test("parseError reads errno, the echoed header and the extended-ack message", () => {
  // Capped error: nlmsgerr (error -17 + echoed header), then NLMSGERR_ATTR_MSG "exists".
  const payload = hex(`
    efffffff 2c000000 1000 0506 07000000 00000000
    0b00 0100 657869737473 00 00`);
  const info = parseError(payload, NLM_F_CAPPED | NLM_F_ACK_TLVS);
  assert.deepEqual(info, {
    errno: 17,
    request: { length: 44, type: 16, flags: 0x605, seq: 7, pid: 0 },
    message: "exists",
  });
  assert.equal(parseError(payload.subarray(0, 20), 0).message, undefined);
  assert.equal(parseError(hex("00000000 10000000 1000 0500 01000000 00000000"), 0).errno, 0);
  assert.throws(() => parseError(payload.subarray(0, 19), 0), RangeError);
  // Uncapped: TLVs would start after the full 44-byte request, beyond this payload.
  assert.throws(() => parseError(payload, NLM_F_ACK_TLVS), RangeError);
});

Deno.test("decoders terminate on random hostile input, failing only with RangeError", () => {
  let seed = 0x9e3779b9;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 8;
  const parsers = [
    parseLink,
    parseAddr,
    parseRoute,
    parseNeigh,
    function parseErrorTlvs(b: Uint8Array) {
      return parseError(b, NLM_F_ACK_TLVS);
    },
  ];
  const base = vxlanLinkReply();
  for (let i = 0; i < 3000; i++) {
    const bytes = i % 2 ? base.slice() : new Uint8Array(rand() % 96);
    const flips = i % 2 ? 1 + (rand() % 6) : bytes.length;
    for (let j = 0; j < flips && bytes.length; j++) bytes[rand() % bytes.length] = rand() & 255;
    for (const parse of parsers) {
      try {
        parse(bytes.subarray(16));
      } catch (e) {
        assert.ok(e instanceof RangeError, `${parse.name}: ${e}`);
      }
    }
    try {
      decodeMessage(ifInfoMsg, bytes, 0);
    } catch (e) {
      assert.ok(e instanceof RangeError, `decodeMessage: ${e}`);
    }
  }
});
