import assert from "node:assert/strict";
import { netnsSkipReason, randomPrefix } from "../../tests/harness/netns.ts";
import { runOk } from "../../tests/harness/exec.ts";
import { addBridge, findLink, linkByName, setLinkUp } from "../../sys/link.ts";
import { listFdb } from "../../sys/neigh.ts";
import { NTF_SELF } from "../../sys/netlink/codec.ts";
import { NetlinkSocket } from "../../sys/netlink/socket.ts";
import { withNetns } from "../../sys/netns.ts";
import {
  ensureVxlanDevice,
  flushLearnedFdb,
  removeStaleVxlanDevices,
  removeVxlanDevice,
  setVxlanPortActive,
  type VxlanDeviceSpec,
} from "./vxlan_devices.ts";

const skip = netnsSkipReason();
const SPEC: VxlanDeviceSpec = {
  name: "vxw0000000000b2",
  receiveVNI: 0x001002,
  sendVNI: 0x002001,
  port: 6784,
  local: "192.0.2.1",
  remoteIP: "192.0.2.2",
  mtu: 1376,
  bridge: "weave",
};

/** Runs `fn` with a netlink socket in a fresh namespace holding an up bridge `weave`. */
async function inScratchNetns(
  fn: (nl: NetlinkSocket, ns: string) => Promise<void> | void,
): Promise<void> {
  const ns = `${randomPrefix()}vxd`;
  await runOk(["ip", "netns", "add", ns]);
  const nl = withNetns(ns, () => new NetlinkSocket());
  try {
    addBridge(nl, "weave");
    setLinkUp(nl, "weave");
    await fn(nl, ns);
  } finally {
    nl.close();
    await runOk(["ip", "netns", "del", ns]);
  }
}

const defaults = (nl: NetlinkSocket, name: string) =>
  listFdb(nl, name).filter((e) => e.flags & NTF_SELF && e.lladdr === "00:00:00:00:00:00")
    .map((e) => [e.dst, e.vni, e.port]);

Deno.test({
  name: `ensureVxlanDevice builds the device as designed and is idempotent${
    skip ? ` (ignored: ${skip})` : ""
  }`,
  ignore: skip !== undefined,
  fn: () =>
    inScratchNetns((nl) => {
      const link = ensureVxlanDevice(nl, SPEC);
      assert.equal(link.kind, "vxlan");
      assert.deepEqual(link.vxlan, {
        vni: 0x001002,
        local: "192.0.2.1",
        port: 6784,
        learning: false,
      });
      assert.equal(link.mtu, 1376);
      assert.equal(link.master, linkByName(nl, "weave").index);
      assert.equal(link.up, true);
      assert.deepEqual(
        link.bridgePort && {
          isolated: link.bridgePort.isolated,
          flood: link.bridgePort.flood,
          mcastFlood: link.bridgePort.mcastFlood,
          bcastFlood: link.bridgePort.bcastFlood,
          learning: link.bridgePort.learning,
        },
        { isolated: true, flood: false, mcastFlood: false, bcastFlood: false, learning: false },
      );
      assert.deepEqual(defaults(nl, SPEC.name), [["192.0.2.2", 0x002001, undefined]]);

      assert.equal(ensureVxlanDevice(nl, SPEC).index, link.index, "kept when compatible");
      const moved = ensureVxlanDevice(nl, { ...SPEC, remoteIP: "192.0.2.3", remotePort: 7000 });
      assert.equal(moved.index, link.index);
      assert.deepEqual(defaults(nl, SPEC.name), [["192.0.2.3", 0x002001, 7000]], "one destination");
      ensureVxlanDevice(nl, { ...SPEC, remotePort: 6784 });
      assert.deepEqual(defaults(nl, SPEC.name), [["192.0.2.2", 0x002001, undefined]]);

      const renumbered = ensureVxlanDevice(nl, {
        ...SPEC,
        receiveVNI: 0x005002,
        sendVNI: 0x002005,
      });
      assert.notEqual(renumbered.index, link.index, "replaced when the VNI differs");
      assert.equal(renumbered.vxlan?.vni, 0x005002);
      assert.deepEqual(defaults(nl, SPEC.name), [["192.0.2.2", 0x002005, undefined]]);
    }),
});

Deno.test({
  name: `setVxlanPortActive switches flooding and learning and flushes learned MACs${
    skip ? ` (ignored: ${skip})` : ""
  }`,
  ignore: skip !== undefined,
  fn: () =>
    inScratchNetns(async (nl, ns) => {
      ensureVxlanDevice(nl, SPEC);
      setVxlanPortActive(nl, SPEC.name, true);
      const on = linkByName(nl, SPEC.name).bridgePort!;
      assert.deepEqual(
        [on.flood, on.mcastFlood, on.bcastFlood, on.learning, on.isolated],
        [true, true, true, true, true],
      );
      const bridge = ["ip", "netns", "exec", ns, "bridge", "fdb", "add"];
      await runOk([...bridge, "02:00:00:00:00:01", "dev", SPEC.name, "master", "dynamic"]);
      await runOk([...bridge, "02:00:00:00:00:02", "dev", SPEC.name, "master", "static"]);
      const macs = () => listFdb(nl, SPEC.name).map((e) => e.lladdr);
      assert.ok(macs().includes("02:00:00:00:00:01"));
      setVxlanPortActive(nl, SPEC.name, false);
      const off = linkByName(nl, SPEC.name).bridgePort!;
      assert.deepEqual([off.flood, off.mcastFlood, off.bcastFlood, off.learning], [
        false,
        false,
        false,
        false,
      ]);
      assert.equal(macs().includes("02:00:00:00:00:01"), false, "learned entry flushed");
      assert.ok(macs().includes("02:00:00:00:00:02"), "static entry kept");
      assert.ok(macs().includes("00:00:00:00:00:00"), "default destination kept");
      assert.equal(flushLearnedFdb(nl, SPEC.name), 0);
    }),
});

Deno.test({
  name: `removeStaleVxlanDevices removes only our devices${skip ? ` (ignored: ${skip})` : ""}`,
  ignore: skip !== undefined,
  fn: () =>
    inScratchNetns(async (nl, ns) => {
      ensureVxlanDevice(nl, SPEC);
      ensureVxlanDevice(nl, { ...SPEC, name: "vxw0000000000c3", receiveVNI: 0x001003 });
      await runOk([
        ...["ip", "-n", ns, "link", "add", "vxother", "type", "vxlan", "id", "42"],
        ...["dstport", "4789"],
      ]);
      assert.deepEqual(
        removeStaleVxlanDevices(nl, new Set(["vxw0000000000c3"])),
        ["vxw0000000000b2"],
      );
      assert.ok(findLink(nl, "vxother"));
      assert.ok(findLink(nl, "vxw0000000000c3"));
      assert.equal(removeVxlanDevice(nl, "vxw0000000000c3"), true);
      assert.equal(removeVxlanDevice(nl, "vxw0000000000c3"), false, "already gone is fine");
      assert.throws(() => ensureVxlanDevice(nl, { ...SPEC, bridge: "nosuch" }), /nosuch/);
      assert.equal(findLink(nl, SPEC.name), undefined, "a failed ensure leaves no device");
    }),
});
