// Host plumbing in real namespaces (root only): one TestNet host plays the router's host, extra
// namespaces `<prefix>c<N>` play containers (created here and deleted in `finally`; TestNet's
// cleanup only knows its own `sw`/`h<N>` names). Nothing runs in the root namespace: netlink
// sockets are opened inside the host with withNetns and nft runs through `ip netns exec`.
import assert from "node:assert/strict";
import { run, runOk } from "../tests/harness/exec.ts";
import { netnsSkipReason, TestNet } from "../tests/harness/netns.ts";
import {
  getLink,
  listAddrs,
  type Netlink,
  type NetlinkReply,
  NetlinkSocket,
  withNetns,
} from "../sys/mod.ts";
import { attach, detach, listAttached } from "./attach.ts";
import { type Namespaces, systemNamespaces } from "./container.ts";
import { CONTAINER_IFNAME, hostVethName } from "./veth.ts";
import { ensureBridge, removeBridge } from "./bridge.ts";
import { expose, hide, NAT_TABLE, nftCommand, readMasqueraded } from "./expose.ts";

const SKIP = netnsSkipReason() ?? nftSkipReason();

function nftSkipReason(): string | undefined {
  try {
    new Deno.Command("nft", { args: ["--version"], stdout: "null" }).outputSync();
    return undefined;
  } catch {
    return "the nft command (nftables) is missing";
  }
}

function netnsTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name: SKIP ? `${name} (skipped: ${SKIP})` : name, ignore: !!SKIP, fn });
}

/** A Netlink that remembers the op of every request (to prove a call changed nothing). */
class Recording implements Netlink {
  ops: string[] = [];
  constructor(readonly inner: Netlink) {}
  request(message: Uint8Array, op: string): NetlinkReply[] {
    this.ops.push(op);
    return this.inner.request(message, op);
  }
  close(): void {
    this.inner.close();
  }
  changes(): string[] {
    return this.ops.filter((op) => !/^(get|list) /.test(op));
  }
}

interface Rig {
  net: TestNet;
  host: string;
  nl: Recording;
  ns: Namespaces;
  containers: string[];
  /** `ip netns exec <ns> ...`, returning the exit code. */
  inNs(ns: string, ...cmd: string[]): Promise<number>;
}

async function withRig(containers: number, fn: (rig: Rig) => Promise<void>): Promise<void> {
  await using net = await TestNet.create({ hosts: 1 });
  const host = net.host(1).name;
  const names = Array.from({ length: containers }, (_, i) => `${net.prefix}c${i + 1}`);
  const nl = new Recording(withNetns(host, () => new NetlinkSocket()));
  try {
    for (const c of names) await runOk(["ip", "netns", "add", c]);
    const inNs = async (ns: string, ...cmd: string[]) =>
      (await run(["ip", "netns", "exec", ns, ...cmd])).code;
    const ns = systemNamespaces({ hostPath: `/run/netns/${host}` });
    await fn({ net, host, nl, ns, containers: names, inNs });
  } finally {
    nl.close();
    for (const c of names) await run(["ip", "netns", "delete", c]);
  }
}

const ping = (target: string) => ["ping", "-c1", "-W1", "-q", target];

netnsTest(
  "ensureBridge creates, adopts without changes, repairs MTU/up, replaces a non-bridge",
  async () => {
    await withRig(0, async ({ host, nl }) => {
      const first = ensureBridge(nl, { mtu: 1376 });
      assert.equal(first.created, true);
      assert.deepEqual(first.repaired, []);
      assert.match(first.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      const link = getLink(nl, "weave");
      assert.deepEqual([link.kind, link.mtu, link.up], ["bridge", 1376, true]);
      // A port with a larger MTU (the sleeve TAP's 65521) does not move the bridge's.
      await runOk(["ip", "-n", host, "tuntap", "add", "wtbig0", "mode", "tap"]);
      await runOk(["ip", "-n", host, "link", "set", "wtbig0", "mtu", "65521", "master", "weave"]);
      assert.equal(getLink(nl, "weave").mtu, 1376, "the bridge keeps its MTU beside a 65521 port");
      await runOk(["ip", "-n", host, "link", "delete", "wtbig0"]);

      nl.ops = [];
      const second = ensureBridge(nl, { mtu: 1376 });
      assert.deepEqual(second, {
        index: first.index,
        mac: first.mac,
        created: false,
        repaired: [],
      });
      assert.deepEqual(nl.changes(), []);

      await runOk(["ip", "-n", host, "link", "set", "weave", "mtu", "1500", "down"]);
      const repaired = ensureBridge(nl, { mtu: 1376 });
      assert.deepEqual(repaired.repaired, ["MTU 1500 -> 1376", "brought up"]);
      assert.equal(repaired.index, first.index);
      assert.deepEqual([getLink(nl, "weave").mtu, getLink(nl, "weave").up], [1376, true]);

      removeBridge(nl);
      await runOk([
        "ip",
        "-n",
        host,
        "link",
        "add",
        "weave",
        "type",
        "veth",
        "peer",
        "name",
        "wtp0",
      ]);
      const replaced = ensureBridge(nl, { mtu: 1376 });
      assert.equal(replaced.created, true);
      assert.deepEqual(replaced.repaired, ['replaced veth link "weave" with a bridge']);
      assert.equal(getLink(nl, "weave").kind, "bridge");

      await runOk([
        "ip",
        "-n",
        host,
        "link",
        "add",
        "vethwe-x",
        "type",
        "veth",
        "peer",
        "name",
        "wtp1",
      ]);
      assert.deepEqual(removeBridge(nl).sort(), ["vethwe-x", "weave"]);
      assert.deepEqual(removeBridge(nl), []);
    });
  },
);

netnsTest("attach plumbs two containers that ping each other; re-attach, ps, detach", async () => {
  await withRig(2, async ({ host, nl, ns, containers: [c1, c2], inNs }) => {
    const bridge = ensureBridge(nl, { mtu: 1376 });
    const a = attach(nl, { container: c1, cidrs: ["10.32.0.1/12"], namespaces: ns });
    const b = attach(nl, {
      container: `/run/netns/${c2}`,
      cidrs: ["10.32.0.2/12"],
      multicastRoute: false,
      namespaces: ns,
    });
    assert.deepEqual([a.id, a.cidrs, b.id, b.cidrs], [c1, ["10.32.0.1/12"], c2, ["10.32.0.2/12"]]);
    assert.equal(await inNs(c1, ...ping("10.32.0.2")), 0);

    const veth = getLink(nl, hostVethName(c1));
    assert.deepEqual([veth.master, veth.mtu, veth.up], [bridge.index, 1376, true]);
    const ethwe = withNetns(c1, () => {
      using cnl = new NetlinkSocket();
      return { link: getLink(cnl, CONTAINER_IFNAME), lo: getLink(cnl, "lo") };
    });
    assert.deepEqual([ethwe.link.mtu, ethwe.link.up, ethwe.lo.up], [1376, true, true]);
    const routes = async (c: string) =>
      (await runOk(["ip", "-n", c, "route", "show", "224.0.0.0/4"])).trim();
    assert.equal(await routes(c1), "224.0.0.0/4 dev ethwe scope link");
    assert.equal(await routes(c2), "");
    assert.equal(getLink(nl, "weave").address, bridge.mac, "ports must not change the bridge MAC");

    nl.ops = [];
    attach(nl, { container: c1, cidrs: ["10.32.0.1/12"], namespaces: ns });
    assert.deepEqual(nl.changes(), [], "attaching again changes nothing on the host");
    const more = attach(nl, {
      container: c1,
      cidrs: ["10.32.0.1/12", "10.32.1.1/12"],
      namespaces: ns,
    });
    assert.deepEqual(more.cidrs, ["10.32.0.1/12", "10.32.1.1/12"]);

    assert.deepEqual(listAttached(nl, { namespaces: ns }), [
      { id: "weave:expose", mac: bridge.mac, cidrs: [] },
      { id: c1, mac: a.mac, cidrs: ["10.32.0.1/12", "10.32.1.1/12"] },
      { id: c2, mac: b.mac, cidrs: ["10.32.0.2/12"] },
    ]);
    assert.deepEqual(listAttached(nl, { namespaces: ns, containers: [c2] }), [
      { id: c2, mac: b.mac, cidrs: ["10.32.0.2/12"] },
    ]);

    assert.deepEqual(detach(nl, { container: c1, cidrs: ["10.32.1.1/12"], namespaces: ns }).cidrs, [
      "10.32.1.1/12",
    ]);
    assert.ok(getLink(nl, hostVethName(c1)), "a partial detach keeps the veth");

    assert.deepEqual(detach(nl, { container: c2, namespaces: ns }), {
      id: c2,
      cidrs: ["10.32.0.2/12"],
    });
    assert.equal(listAttached(nl, { namespaces: ns }).some((e) => e.id === c2), false);
    assert.equal(
      (await run(["ip", "-n", host, "link", "show", hostVethName(c2)])).code !== 0,
      true,
      "the veth is gone",
    );
    assert.notEqual(await inNs(c1, ...ping("10.32.0.2")), 0);
    assert.deepEqual(detach(nl, { container: c2, namespaces: ns }).cidrs, []);
    assert.deepEqual(detach(nl, { container: `${c2}-gone`, namespaces: ns }).cidrs, []);
    void host;
  });
});

netnsTest(
  "attach by pid names the container pid:<n>; the host's own namespace is refused",
  async () => {
    await withRig(1, async ({ net, nl, ns, containers: [c1] }) => {
      ensureBridge(nl, {});
      const sleeper = new Deno.Command("ip", {
        args: ["netns", "exec", c1, "sleep", "30"],
        stdout: "null",
        stderr: "null",
      }).spawn();
      try {
        const target = Deno.statSync(`/run/netns/${c1}`).ino;
        for (
          let i = 0;
          i < 100 && Deno.statSync(`/proc/${sleeper.pid}/ns/net`).ino !== target;
          i++
        ) {
          await new Promise((r) => setTimeout(r, 20));
        }
        const a = attach(nl, {
          container: String(sleeper.pid),
          cidrs: ["10.32.0.3/12"],
          namespaces: ns,
        });
        assert.equal(a.id, `pid:${sleeper.pid}`);
        const ps = listAttached(nl, { namespaces: ns });
        assert.deepEqual(ps.map((e) => e.id), ["weave:expose", `pid:${sleeper.pid}`]);
        assert.deepEqual(detach(nl, { container: `pid:${sleeper.pid}`, namespaces: ns }).cidrs, [
          "10.32.0.3/12",
        ]);
      } finally {
        sleeper.kill("SIGKILL");
        await sleeper.status;
      }
      const hostPid = net.host(1).spawn(["sleep", "30"]);
      try {
        await new Promise((r) => setTimeout(r, 200));
        assert.throws(
          () =>
            attach(nl, {
              container: `/run/netns/${net.host(1).name}`,
              cidrs: ["10.32.0.4/12"],
              namespaces: ns,
            }),
          /Cannot attach container ".*": it runs in the host's network namespace/,
        );
      } finally {
        hostPid.kill("SIGKILL");
        await hostPid.status;
      }
    });
  },
);

netnsTest(
  "expose lets the host reach containers, masquerades in our own table; hide undoes it",
  async () => {
    await withRig(1, async ({ host, nl, ns, containers: [c1], inNs }) => {
      const nft = nftCommand(["ip", "netns", "exec", host, "nft"]);
      const ruleset = () => runOk(["ip", "netns", "exec", host, "nft", "list", "ruleset"]);
      await runOk(["ip", "netns", "exec", host, "nft", "add", "table", "inet", "foreign"]);
      ensureBridge(nl, {});
      attach(nl, { container: c1, cidrs: ["10.32.0.1/12"], namespaces: ns });
      assert.notEqual(await inNs(host, ...ping("10.32.0.1")), 0);

      assert.deepEqual(await expose(nl, { cidrs: ["10.32.0.254/12"], nft }), ["10.32.0.254/12"]);
      assert.equal(await inNs(host, ...ping("10.32.0.1")), 0);
      assert.deepEqual(await readMasqueraded(nft), ["10.32.0.254/12"]);
      const first = await ruleset();
      assert.match(first, /table ip weave-ts/);
      assert.match(
        first,
        /ip saddr 10\.32\.0\.0\/12 ip daddr != 10\.32\.0\.0\/12 oifname != "weave" masquerade fully-random/,
      );
      assert.deepEqual(listAttached(nl, { namespaces: ns })[0].cidrs, ["10.32.0.254/12"]);

      // A second run adopts what is there; a table deleted by someone else comes back.
      await expose(nl, { cidrs: ["10.32.0.254/12"], nft });
      assert.equal(await ruleset(), first);
      await runOk(["ip", "netns", "exec", host, "nft", "delete", "table", ...NAT_TABLE.split(" ")]);
      await expose(nl, { cidrs: ["10.32.0.254/12"], nft });
      assert.deepEqual(await readMasqueraded(nft), ["10.32.0.254/12"]);

      await expose(nl, { cidrs: ["10.40.0.1/16"], masquerade: false, nft });
      assert.deepEqual(await readMasqueraded(nft), ["10.32.0.254/12"]);

      assert.deepEqual(await hide(nl, { cidrs: ["10.32.0.254/12"], nft }), ["10.32.0.254/12"]);
      assert.notEqual(await inNs(host, ...ping("10.32.0.1")), 0);
      const after = await ruleset();
      assert.doesNotMatch(after, /weave-ts/);
      assert.match(after, /table inet foreign/);
      assert.deepEqual(await hide(nl, { nft }), ["10.40.0.1/16"]);
      const br = getLink(nl, "weave");
      assert.deepEqual(listAddrs(nl, br.index), []);
      assert.deepEqual(await hide(nl, { nft }), []);
    });
  },
);
