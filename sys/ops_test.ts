// Link/addr/route/neigh operations against an in-memory fake of the Netlink seam: which requests
// they send (bytes decoded back), how names are resolved, and how replies and errors come back.
import assert from "node:assert/strict";
import { addAddr, broadcastOf, delAddr, listAddrs, parseIpNet } from "./addr.ts";
import { ExistsError, NotFoundError, SysError, sysError } from "./libc.ts";
import {
  addBridge,
  addVxlan,
  deleteLink,
  findLink,
  getLink,
  renameLink,
  setBridgePortFlood,
  setLinkUp,
  setMaster,
} from "./link.ts";
import { addFdb, delFdb, listFdb } from "./neigh.ts";
import {
  AF_BRIDGE,
  attrTable,
  decodeEnvelope,
  ifInfoMsg,
  IFLA_BRPORT_MCAST_FLOOD,
  IFLA_BRPORT_UNICAST_FLOOD,
  IFLA_IFNAME,
  IFLA_MASTER,
  IFLA_PROTINFO,
  linkBody,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  type NlMsgHdr,
  NTF_MASTER,
  NUD_PERMANENT,
  parseAddr,
  parseNeigh,
  parseRoute,
  readU32,
  readU8,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RTM_DELLINK,
  RTM_DELNEIGH,
  RTM_DELROUTE,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  RTM_NEWROUTE,
  RTM_SETLINK,
} from "./netlink/codec.ts";
import type { Netlink, NetlinkReply } from "./netlink/socket.ts";
import { addRoute, delRoute } from "./route.ts";

interface Sent {
  header: NlMsgHdr;
  payload: Uint8Array;
  op: string;
}

/** Records requests; answers GETLINK by name from `links`, everything else from `answer`. */
class FakeNetlink implements Netlink {
  sent: Sent[] = [];
  links = new Map<string, number>([["weave", 2], ["vx-1", 3], ["ethwe", 4]]);
  answer: (s: Sent) => NetlinkReply[] = () => [];

  request(message: Uint8Array, op: string): NetlinkReply[] {
    const { header, payload } = decodeEnvelope(message.slice(), 0).value;
    const s = { header, payload, op };
    this.sent.push(s);
    if (header.type === RTM_GETLINK && !(header.flags & NLM_F_DUMP)) {
      const name = new TextDecoder().decode(attrTable(payload, 16).get(IFLA_IFNAME)!).replace(
        /\0$/,
        "",
      );
      const index = this.links.get(name);
      if (index === undefined) throw sysError(op, 19);
      return [{ type: RTM_NEWLINK, flags: 0, payload: linkBody({ index, name, mtu: 1376 }) }];
    }
    return this.answer(s);
  }

  close(): void {}

  last(): Sent {
    return this.sent[this.sent.length - 1];
  }
}

Deno.test("getLink resolves by name; findLink maps NotFoundError to undefined", () => {
  const nl = new FakeNetlink();
  assert.deepEqual([getLink(nl, "weave").index, getLink(nl, "weave").mtu], [2, 1376]);
  assert.equal(findLink(nl, "nope"), undefined);
  assert.throws(() => getLink(nl, "nope"), NotFoundError);
  nl.answer = () => [];
  assert.throws(() => getLink(nl, 99), (e) => e instanceof NotFoundError && e.code === "ENODEV");
});

Deno.test("addBridge sends NEWLINK with CREATE|EXCL and names the op in errors", () => {
  const nl = new FakeNetlink();
  addBridge(nl, "weave", { mtu: 1376 });
  const s = nl.last();
  assert.equal(s.header.type, RTM_NEWLINK);
  assert.equal(s.header.flags & (NLM_F_CREATE | NLM_F_EXCL), NLM_F_CREATE | NLM_F_EXCL);
  assert.equal(s.op, 'add bridge "weave"');
  nl.answer = (x) => {
    throw sysError(x.op, 17);
  };
  assert.throws(
    () => addBridge(nl, "weave"),
    (e) =>
      e instanceof ExistsError && e.message === 'Cannot add bridge "weave": File exists (errno 17)',
  );
});

Deno.test("addVxlan validates the VNI before sending", () => {
  const nl = new FakeNetlink();
  assert.throws(() => addVxlan(nl, "vx-2", { vni: 1 << 24, dstPort: 6784 }), RangeError);
  assert.equal(nl.sent.length, 0);
});

Deno.test("setMaster resolves the bridge name to IFLA_MASTER; setLinkUp sets IFF_UP in flags and change", () => {
  const nl = new FakeNetlink();
  setMaster(nl, "vx-1", "weave");
  const s = nl.last();
  assert.equal(s.header.type, RTM_SETLINK);
  assert.equal(readU32(attrTable(s.payload, 16).get(IFLA_MASTER)!), 2);
  setLinkUp(nl, 3);
  const info = ifInfoMsg.decode(nl.last().payload, 0).value;
  assert.deepEqual([info.index, info.flags, info.change], [3, 1, 1]);
});

Deno.test("renameLink addresses the link by index and sends the new name", () => {
  const nl = new FakeNetlink();
  renameLink(nl, "ethwe", "eth1");
  const s = nl.last();
  assert.equal(ifInfoMsg.decode(s.payload, 0).value.index, 4);
  assert.equal(new TextDecoder().decode(attrTable(s.payload, 16).get(IFLA_IFNAME)!), "eth1\0");
});

Deno.test("setBridgePortFlood sends AF_BRIDGE SETLINK with only the given flags", () => {
  const nl = new FakeNetlink();
  setBridgePortFlood(nl, "vx-1", { flood: false, mcastFlood: true });
  const s = nl.last();
  assert.equal(ifInfoMsg.decode(s.payload, 0).value.family, AF_BRIDGE);
  const brport = attrTable(attrTable(s.payload, 16).get(IFLA_PROTINFO)!);
  assert.deepEqual([...brport.keys()], [IFLA_BRPORT_UNICAST_FLOOD, IFLA_BRPORT_MCAST_FLOOD]);
  assert.equal(readU8(brport.get(IFLA_BRPORT_UNICAST_FLOOD)!), 0);
  assert.equal(readU8(brport.get(IFLA_BRPORT_MCAST_FLOOD)!), 1);
});

Deno.test("deleteLink surfaces a missing link as NotFoundError", () => {
  const nl = new FakeNetlink();
  nl.answer = (s) => {
    assert.equal(s.header.type, RTM_DELLINK);
    throw sysError(s.op, 19);
  };
  assert.throws(
    () => deleteLink(nl, "gone"),
    (e) => e instanceof NotFoundError && e instanceof SysError && e.op === 'delete link "gone"',
  );
});

Deno.test("parseIpNet keeps host bits; broadcastOf matches ip's brd +", () => {
  assert.deepEqual(parseIpNet("10.32.0.1/12"), { address: "10.32.0.1", prefixLen: 12 });
  assert.throws(() => parseIpNet("10.32.0.1"), SyntaxError);
  assert.throws(() => parseIpNet("10.32.0.256/12"), SyntaxError);
  assert.throws(() => parseIpNet("10.32.0.1/33"), SyntaxError);
  assert.equal(broadcastOf(parseIpNet("10.32.0.1/12")), "10.47.255.255");
  assert.equal(broadcastOf(parseIpNet("192.168.1.9/24")), "192.168.1.255");
  assert.equal(broadcastOf(parseIpNet("0.0.0.1/0")), "255.255.255.255");
  assert.equal(broadcastOf(parseIpNet("10.0.0.1/31")), undefined);
});

Deno.test("addAddr/delAddr send the address on the resolved link; replace swaps EXCL for REPLACE", () => {
  const nl = new FakeNetlink();
  addAddr(nl, "ethwe", "10.32.0.5/12");
  let s = nl.last();
  assert.equal(s.header.type, RTM_NEWADDR);
  assert.equal(s.header.flags & NLM_F_EXCL, NLM_F_EXCL);
  assert.deepEqual(parseAddr(s.payload), {
    family: 2,
    index: 4,
    prefixLen: 12,
    flags: 0,
    scope: 0,
    address: "10.32.0.5",
    cidr: "10.32.0.5/12",
    broadcast: "10.47.255.255",
  });
  addAddr(nl, "ethwe", "10.32.0.5/12", { replace: true });
  assert.equal(nl.last().header.flags & (NLM_F_EXCL | NLM_F_REPLACE), NLM_F_REPLACE);
  delAddr(nl, 4, "10.32.0.5/12");
  s = nl.last();
  assert.equal(parseAddr(s.payload).index, 4);
});

Deno.test("listAddrs filters the dump by link", () => {
  const nl = new FakeNetlink();
  const reply = (index: number, address: string) => ({
    type: RTM_NEWADDR,
    flags: 2,
    payload: addrPayload(index, address),
  });
  nl.answer = (s) => {
    assert.equal(s.header.type, RTM_GETADDR);
    return [reply(1, "127.0.0.1"), reply(4, "10.32.0.5"), reply(4, "10.32.0.6")];
  };
  assert.deepEqual(listAddrs(nl, "ethwe").map((a) => a.address), ["10.32.0.5", "10.32.0.6"]);
  assert.equal(listAddrs(nl).length, 3);
});

function addrPayload(index: number, address: string): Uint8Array {
  const nl = new FakeNetlink();
  addAddr(nl, index, `${address}/8`);
  return nl.last().payload;
}

Deno.test("addRoute picks scope link for device routes, universe via a gateway; delRoute matches any scope", () => {
  const nl = new FakeNetlink();
  addRoute(nl, { dst: "224.0.0.0/4", dev: "ethwe" });
  let r = parseRoute(nl.last().payload);
  assert.deepEqual([r.dst, r.scope, r.oif, r.table, nl.last().header.type], [
    "224.0.0.0/4",
    RT_SCOPE_LINK,
    4,
    254,
    RTM_NEWROUTE,
  ]);
  addRoute(nl, { dst: "default", gateway: "10.32.0.1" });
  r = parseRoute(nl.last().payload);
  assert.deepEqual([r.dst, r.gateway, r.scope, r.oif], [
    "0.0.0.0/0",
    "10.32.0.1",
    RT_SCOPE_UNIVERSE,
    undefined,
  ]);
  addRoute(nl, { dst: "10.40.1.7/16", dev: 4, table: 1000, metric: 5 });
  r = parseRoute(nl.last().payload);
  assert.deepEqual([r.dst, r.table, r.priority], ["10.40.0.0/16", 1000, 5]);
  delRoute(nl, { dst: "224.0.0.0/4", dev: "ethwe" });
  r = parseRoute(nl.last().payload);
  assert.deepEqual([nl.last().header.type, r.scope], [RTM_DELROUTE, RT_SCOPE_NOWHERE]);
});

Deno.test("addFdb maps modes to flags and master/self to NTF flags; delFdb and listFdb", () => {
  const nl = new FakeNetlink();
  addFdb(nl, { link: "ethwe", mac: "02:00:00:00:00:09", master: true });
  let s = nl.last();
  assert.equal(s.header.type, RTM_NEWNEIGH);
  assert.deepEqual(parseNeigh(s.payload), {
    family: AF_BRIDGE,
    index: 4,
    state: NUD_PERMANENT,
    flags: NTF_MASTER,
    lladdr: "02:00:00:00:00:09",
  });
  addFdb(nl, { link: "vx-1", mac: "00:00:00:00:00:00", dst: "192.0.2.2", vni: 7, self: true }, {
    mode: "append",
  });
  assert.equal(nl.last().header.flags & (NLM_F_APPEND | NLM_F_EXCL), NLM_F_APPEND);
  delFdb(nl, { link: "vx-1", mac: "00:00:00:00:00:00", dst: "192.0.2.2", self: true });
  s = nl.last();
  assert.equal(s.header.type, RTM_DELNEIGH);
  assert.equal(parseNeigh(s.payload).dst, "192.0.2.2");
  nl.answer = () =>
    [3, 4, 3].map((index) => ({ type: RTM_NEWNEIGH, flags: 2, payload: neighPayload(index) }));
  assert.deepEqual(listFdb(nl, "vx-1").map((n) => n.index), [3, 3]);
});

function neighPayload(index: number): Uint8Array {
  const nl = new FakeNetlink();
  addFdb(nl, { link: index, mac: "02:00:00:00:00:01", master: true });
  return nl.last().payload;
}
