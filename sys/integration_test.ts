// Kernel tests of sys/: every test works in fresh network namespaces of its own (created with
// `ip netns add wt<hex>`, entered only through withNetns, always deleted), never in the root
// namespace. They need root, `ip`/`bridge` (iproute2) and /dev/net/tun; otherwise they are
// skipped with the reason in their name.
import assert from "node:assert/strict";
import { addAddr, delAddr, listAddrs } from "./addr.ts";
import { ExistsError, NotFoundError } from "./libc.ts";
import {
  addBridge,
  addVeth,
  addVxlan,
  deleteLink,
  findLink,
  getLink,
  linkByName,
  listLinks,
  renameLink,
  setBridgePortFlood,
  setBridgePortIsolated,
  setLinkDown,
  setLinkUp,
  setMaster,
  setMtu,
  setNetns,
  setNoMaster,
} from "./link.ts";
import { addFdb, delFdb, listFdb } from "./neigh.ts";
import { NetlinkSocket } from "./netlink/socket.ts";
import { openNetns, withNetns } from "./netns.ts";
import { addRoute, delRoute, listRoutes } from "./route.ts";
import { openTap, waitReadable } from "./tap.ts";

function skipReason(): string | undefined {
  try {
    if (Deno.uid() !== 0) return "needs root";
    Deno.statSync("/dev/net/tun");
    new Deno.Command("ip", { args: ["-V"] }).outputSync();
    new Deno.Command("bridge", { args: ["-V"] }).outputSync();
  } catch (e) {
    return `needs root, iproute2 and /dev/net/tun (${e instanceof Error ? e.message : e})`;
  }
  return undefined;
}

const SKIP = skipReason();

function kernelTest(name: string, fn: () => Promise<void> | void): void {
  Deno.test({ name: SKIP ? `${name} (skipped: ${SKIP})` : name, ignore: SKIP !== undefined, fn });
}

async function run(cmd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`Cannot run ${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

/** Creates `count` fresh namespaces, runs `fn`, and deletes them whatever happens. */
async function withTestNamespaces(
  count: number,
  fn: (names: string[]) => Promise<void> | void,
): Promise<void> {
  const names: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const hex = crypto.getRandomValues(new Uint8Array(4)).reduce(
        (s, b) => s + b.toString(16).padStart(2, "0"),
        "",
      );
      await run("ip", "netns", "add", `wt${hex}`);
      names.push(`wt${hex}`);
    }
    await fn(names);
  } finally {
    for (const name of names) await run("ip", "netns", "del", name).catch(() => {});
  }
}

function socketIn(ns: string): NetlinkSocket {
  return withNetns(ns, () => new NetlinkSocket());
}

const HOST_MAC = "02:00:00:00:00:09";

function macBytes(mac: string): number[] {
  return mac.split(":").map((h) => parseInt(h, 16));
}

/** An Ethernet ARP request "who has `target`, tell `sender` (`mac`)". */
function arpRequest(mac: string, sender: number[], target: number[]): Uint8Array<ArrayBuffer> {
  return Uint8Array.from([
    ...[255, 255, 255, 255, 255, 255],
    ...macBytes(mac),
    0x08,
    0x06,
    ...[0, 1, 8, 0, 6, 4, 0, 1],
    ...macBytes(mac),
    ...sender,
    ...[0, 0, 0, 0, 0, 0],
    ...target,
  ]);
}

interface Arp {
  op: number;
  senderMac: string;
  senderIp: string;
  targetIp: string;
}

function parseArp(frame: Uint8Array): Arp | undefined {
  if (frame.length < 42 || frame[12] !== 0x08 || frame[13] !== 0x06) return undefined;
  const mac = (at: number) =>
    Array.from(frame.subarray(at, at + 6), (b) => b.toString(16).padStart(2, "0")).join(":");
  return {
    op: (frame[20] << 8) | frame[21],
    senderMac: mac(22),
    senderIp: frame.subarray(28, 32).join("."),
    targetIp: frame.subarray(38, 42).join("."),
  };
}

/** Reads frames from the TAP until `want` matches one, or fails after `ms`. */
async function awaitArp(
  tap: { fd: number; read(buf: Uint8Array<ArrayBuffer>): number },
  want: (a: Arp) => boolean,
  ms: number,
): Promise<Arp> {
  const buf = new Uint8Array(2048);
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (let n; (n = tap.read(buf)) > 0;) {
      const arp = parseArp(buf.subarray(0, n));
      if (arp && want(arp)) return arp;
    }
    await waitReadable(tap.fd, Math.max(1, deadline - Date.now()));
  }
  throw new Error(`Cannot see the expected ARP frame on the tap within ${ms} ms`);
}

kernelTest("bridge, veth into a second namespace, addresses, routes and TAP frames", async () => {
  await withTestNamespaces(2, async ([host, container]) => {
    using nl = socketIn(host);
    using cnl = socketIn(container);
    addBridge(nl, "weave", { mtu: 1376 });
    setLinkUp(nl, "weave");
    {
      using ns = openNetns(container);
      addVeth(nl, "vethwepl1", { peerName: "ethwe", mtu: 1376, peerNetnsFd: ns.fd });
    }
    setMaster(nl, "vethwepl1", "weave");
    setLinkUp(nl, "vethwepl1");
    addAddr(cnl, "ethwe", "10.32.0.2/12");
    setLinkUp(cnl, "ethwe");
    addRoute(cnl, { dst: "224.0.0.0/4", dev: "ethwe" });
    using tap = withNetns(host, () => openTap("vethwe-pcap", { mtu: 1376 }));
    setMaster(nl, tap.name, "weave");
    setLinkUp(nl, tap.name);

    const bridge = linkByName(nl, "weave");
    assert.deepEqual([bridge.kind, bridge.mtu, bridge.up], ["bridge", 1376, true]);
    assert.equal(findLink(nl, "ethwe"), undefined, "peer end lives in the other namespace");
    const veth = await run("ip", "-n", host, "-d", "link", "show", "vethwepl1");
    assert.match(veth, /mtu 1376 .*master weave/);
    assert.match(veth, /veth/);
    assert.match(
      await run("ip", "-n", host, "link", "show", "vethwe-pcap"),
      /mtu 1376 .*master weave/,
    );
    assert.match(
      await run("ip", "-n", container, "addr", "show", "ethwe"),
      /inet 10\.32\.0\.2\/12 brd 10\.47\.255\.255 scope global ethwe/,
    );
    assert.match(await run("ip", "-n", container, "route"), /224\.0\.0\.0\/4 dev ethwe scope link/);
    const ethwe = linkByName(cnl, "ethwe");
    assert.deepEqual(listAddrs(cnl, "ethwe").map((a) => a.cidr), ["10.32.0.2/12"]);
    assert.ok(
      listRoutes(cnl, { dev: "ethwe" }).some((r) => r.dst === "224.0.0.0/4" && r.scope === 253),
    );

    // A frame written to the TAP crosses the bridge and veth; the container answers the ARP.
    assert.equal(tap.write(arpRequest(HOST_MAC, [10, 32, 0, 9], [10, 32, 0, 2])), 42);
    const reply = await awaitArp(tap, (a) => a.op === 2 && a.senderIp === "10.32.0.2", 3000);
    assert.equal(reply.senderMac, ethwe.address);

    // A ping from the container floods its ARP request out of the bridge to the TAP.
    const ping = new Deno.Command("ip", {
      args: ["netns", "exec", container, "ping", "-c", "1", "-W", "1", "10.32.0.77"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const seen = await awaitArp(tap, (a) => a.op === 1 && a.targetIp === "10.32.0.77", 3000);
      assert.equal(seen.senderIp, "10.32.0.2");
    } finally {
      await ping.status;
    }
  });
});

kernelTest("vxlan device with isolated bridge port, self and master FDB entries", async () => {
  await withTestNamespaces(1, async ([ns]) => {
    using nl = socketIn(ns);
    addBridge(nl, "weave", { mtu: 1376 });
    addVxlan(nl, "vx-0a1b", { vni: 0x2001, dstPort: 6784, local: "192.0.2.1", mtu: 1376 });
    setMaster(nl, "vx-0a1b", "weave");
    setBridgePortIsolated(nl, "vx-0a1b", true);
    setLinkUp(nl, "vx-0a1b");
    setLinkUp(nl, "weave");
    const zero = "00:00:00:00:00:00";
    addFdb(nl, { link: "vx-0a1b", mac: zero, dst: "192.0.2.2", vni: 0x1002, self: true });
    addFdb(nl, { link: "vx-0a1b", mac: "02:00:00:00:00:0b", master: true });

    const details = await run("ip", "-n", ns, "-d", "link", "show", "vx-0a1b");
    assert.match(details, /vxlan id 8193 local 192\.0\.2\.1 .*dstport 6784 nolearning/);
    assert.match(details, /isolated on/);
    assert.match(
      await run("bridge", "-n", ns, "-d", "link", "show", "dev", "vx-0a1b"),
      /isolated on/,
    );
    const fdb = await run("bridge", "-n", ns, "fdb", "show", "dev", "vx-0a1b");
    assert.match(fdb, /^00:00:00:00:00:00 dst 192\.0\.2\.2 vni 4098 self permanent$/m);
    assert.match(fdb, /^02:00:00:00:00:0b master weave permanent$/m);

    const vx = getLink(nl, "vx-0a1b");
    assert.deepEqual(vx.vxlan, { vni: 0x2001, local: "192.0.2.1", port: 6784, learning: false });
    assert.equal(vx.master, getLink(nl, "weave").index);
    assert.equal(vx.bridgePort?.isolated, true);
    const entries = listFdb(nl, "vx-0a1b");
    assert.ok(entries.some((e) => e.lladdr === zero && e.dst === "192.0.2.2" && e.vni === 0x1002));
    assert.ok(entries.some((e) => e.lladdr === "02:00:00:00:00:0b" && e.master === vx.master));

    setBridgePortFlood(nl, "vx-0a1b", { flood: false, mcastFlood: false });
    setBridgePortIsolated(nl, "vx-0a1b", false);
    const port = await run("bridge", "-n", ns, "-d", "link", "show", "dev", "vx-0a1b");
    assert.match(port, /flood off/);
    assert.match(port, /mcast_flood off/);
    assert.match(port, /isolated off/);
    assert.deepEqual(
      [getLink(nl, "vx-0a1b").bridgePort?.flood, getLink(nl, "vx-0a1b").bridgePort?.isolated],
      [false, false],
    );

    delFdb(nl, { link: "vx-0a1b", mac: zero, dst: "192.0.2.2", vni: 0x1002, self: true });
    delFdb(nl, { link: "vx-0a1b", mac: "02:00:00:00:00:0b", master: true });
    assert.equal(listFdb(nl, "vx-0a1b").filter((e) => e.lladdr === zero).length, 0);
    assert.throws(
      () => delFdb(nl, { link: "vx-0a1b", mac: "02:00:00:00:00:0b", master: true }),
      NotFoundError,
    );
    assert.throws(
      () => addFdb(nl, { link: "vx-0a1b", mac: "zz", master: true }),
      SyntaxError,
    );
  });
});

kernelTest("duplicates fail with ExistsError, missing objects with NotFoundError", async () => {
  await withTestNamespaces(1, ([ns]) => {
    using nl = socketIn(ns);
    addBridge(nl, "weave");
    assert.throws(
      () => addBridge(nl, "weave"),
      (e) =>
        e instanceof ExistsError && e.code === "EEXIST" &&
        /Cannot add bridge "weave"/.test(e.message),
    );
    assert.throws(
      () => deleteLink(nl, "nosuch"),
      (e) => e instanceof NotFoundError && e.code === "ENODEV",
    );
    assert.throws(() => setLinkUp(nl, "nosuch"), NotFoundError);
    assert.throws(() => linkByName(nl, "nosuch"), NotFoundError);
    addAddr(nl, "weave", "10.32.0.1/12");
    assert.throws(() => addAddr(nl, "weave", "10.32.0.1/12"), ExistsError);
    addAddr(nl, "weave", "10.32.0.1/12", { replace: true });
    delAddr(nl, "weave", "10.32.0.1/12");
    assert.throws(() => delAddr(nl, "weave", "10.32.0.1/12"), NotFoundError);
    setLinkUp(nl, "weave");
    addRoute(nl, { dst: "10.99.0.0/16", dev: "weave" });
    assert.throws(() => addRoute(nl, { dst: "10.99.0.0/16", dev: "weave" }), ExistsError);
    delRoute(nl, { dst: "10.99.0.0/16", dev: "weave" });
    assert.throws(() => delRoute(nl, { dst: "10.99.0.0/16", dev: "weave" }), NotFoundError);
    assert.throws(() => openNetns("wt-no-such-namespace"), NotFoundError);
  });
});

kernelTest(
  "link changes: MTU, down, rename, detach, move to another namespace, delete",
  async () => {
    await withTestNamespaces(2, async ([a, b]) => {
      using nl = socketIn(a);
      using nlb = socketIn(b);
      addBridge(nl, "weave");
      addVeth(nl, "vp1", { peerName: "vp2" });
      setMaster(nl, "vp1", "weave");
      setMtu(nl, "vp1", 1400);
      setLinkUp(nl, "vp1");
      assert.deepEqual([getLink(nl, "vp1").mtu, getLink(nl, "vp1").up], [1400, true]);
      setLinkDown(nl, "vp1");
      setNoMaster(nl, "vp1");
      assert.equal(getLink(nl, "vp1").master, undefined);
      renameLink(nl, "vp1", "vp1new");
      assert.match(await run("ip", "-n", a, "link", "show", "vp1new"), /vp1new@vp2/);
      {
        using target = openNetns(b);
        setNetns(nl, "vp2", target.fd);
      }
      assert.equal(findLink(nl, "vp2"), undefined);
      assert.equal(linkByName(nlb, "vp2").kind, "veth");
      deleteLink(nl, "vp1new");
      assert.equal(findLink(nlb, "vp2"), undefined, "deleting one end removes its peer");
      assert.throws(() => deleteLink(nl, "vp1new"), NotFoundError);
    });
  },
);

kernelTest("link dumps spanning several datagrams are read whole", async () => {
  await withTestNamespaces(1, ([ns]) => {
    using nl = socketIn(ns);
    for (let i = 0; i < 30; i++) addVeth(nl, `va${i}`, { peerName: `vb${i}` });
    const names = listLinks(nl).map((l) => l.name);
    assert.equal(names.length, 61);
    for (let i = 0; i < 30; i++) assert.ok(names.includes(`va${i}`) && names.includes(`vb${i}`));
    assert.equal(listFdb(nl).length > 0, true);
  });
});

kernelTest(
  "withNetns restores the original namespace after errors and rejects async work",
  async () => {
    await withTestNamespaces(2, ([a, b]) => {
      using nl = socketIn(a);
      addBridge(nl, "marker");
      const inner = withNetns(a, () => {
        assert.throws(() =>
          withNetns(b, () => {
            throw new Error("boom");
          }), /boom/);
        return new NetlinkSocket(); // must be back in `a`, not stranded in `b`
      });
      try {
        assert.equal(linkByName(inner, "marker").kind, "bridge");
      } finally {
        inner.close();
      }
      assert.throws(() => withNetns(a, async () => {}), TypeError);
    });
  },
);
