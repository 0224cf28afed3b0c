import assert from "node:assert/strict";
import {
  addrMessage,
  AF_BRIDGE,
  AF_INET,
  AF_UNSPEC,
  type Attr,
  attrTable,
  bridgePortAttrs,
  decodeAttrs,
  decodeEnvelope,
  decodeMessage,
  dumpMessage,
  encodeMessage,
  encodeMessageInto,
  type FixedCodec,
  formatIp,
  formatMac,
  ifAddrMsg,
  ifInfoMsg,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_DATA,
  IFLA_INFO_SLAVE_KIND,
  IFLA_LINKINFO,
  linkBody,
  linkMessage,
  messageLength,
  ndMsg,
  neighMessage,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_CREATE,
  NLM_F_EXCL,
  nlMsgErr,
  nlMsgHdr,
  NTF_SELF,
  NUD_PERMANENT,
  parseAddr,
  parseError,
  parseLink,
  parseMac,
  parseNeigh,
  parseRoute,
  routeMessage,
  RT_SCOPE_LINK,
  RT_TABLE_MAIN,
  rtAttr,
  RTM_GETLINK,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  RTM_NEWROUTE,
  RTM_SETLINK,
  rtMsg,
  RTN_UNICAST,
  RTPROT_BOOT,
  stringAttr,
  u32Attr,
  vethData,
  vxlanData,
} from "./codec.ts";

function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g)!, (h) => parseInt(h, 16));
}

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

function vxlanLinkReply(): Uint8Array {
  return encodeMessage(ifInfoMsg, {
    type: RTM_NEWLINK,
    flags: 0,
    seq: 1,
    pid: 0,
    header: { family: AF_UNSPEC, type: 1, index: 9, flags: 0x1043, change: 0 },
    attrs: [
      stringAttr(3, "vx-1"),
      u32Attr(4, 1376),
      { type: 1, value: parseMac("0a:1b:2c:3d:4e:5f") },
      u32Attr(10, 2),
      { type: 16, value: Uint8Array.of(6) },
      {
        type: IFLA_LINKINFO,
        value: [
          stringAttr(IFLA_INFO_KIND, "vxlan"),
          {
            type: IFLA_INFO_DATA,
            value: vxlanData({ vni: 291, local: "10.0.0.1", port: 6784, learning: false }),
          },
          stringAttr(IFLA_INFO_SLAVE_KIND, "bridge"),
          { type: IFLA_INFO_SLAVE_DATA, value: bridgePortAttrs({ isolated: true, flood: false }) },
        ],
      },
    ],
  });
}

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

Deno.test("dumpMessage builds family-filtered dump requests", () => {
  assert.deepEqual(
    dumpMessage(RTM_GETLINK, AF_BRIDGE),
    hex("20000000 1200 0103 00000000 00000000 07000000 00000000 00000000 00000000"),
  );
  assert.throws(() => dumpMessage(RTM_NEWLINK, 0), TypeError);
});

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
