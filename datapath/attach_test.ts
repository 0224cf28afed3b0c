import assert from "node:assert/strict";
import { attach, detach, listAttached, parseHostCidrs } from "./attach.ts";
import { ContainerNotFoundError, type Namespaces } from "./container.ts";
import { hostVethName } from "./veth.ts";
import { FakeKernel, type FakeNamespace } from "./fake_kernel.ts";
import { sysError } from "../sys/mod.ts";
import { memoryLogger } from "../lib/log.ts";
import { gratuitousArp } from "./arp.ts";

/** A host with bridge `weave` (up, 1376) and containers c1, c2. */
function rig() {
  const k = new FakeKernel();
  const bridge = k.host.addLink({ name: "weave", kind: "bridge", mtu: 1376, up: true });
  const c1 = k.add("/run/netns/c1");
  const c2 = k.add("/run/netns/c2");
  return { k, nl: k.host, bridge, c1, c2, namespaces: k.namespaces() };
}

const addrsOf = (ns: FakeNamespace, name: string) =>
  ns.addrs.filter((a) => a.index === ns.link(name)?.index).map((a) => a.cidr);

Deno.test("parseHostCidrs normalises, dedupes and explains bad addresses", () => {
  assert.deepEqual(parseHostCidrs(["010.32.0.1/12", "10.32.0.1/12", "10.0.0.0/31", "1.2.3.4/32"]), [
    "10.32.0.1/12",
    "10.0.0.0/31",
    "1.2.3.4/32",
  ]);
  assert.throws(() => parseHostCidrs(["10.32.0.0/12"]), /"10.32.0.0\/12": it is the network/);
  assert.throws(() => parseHostCidrs(["10.47.255.255/12"]), /it is the broadcast address/);
  assert.throws(() => parseHostCidrs(["10.0.0.1/0"]), RangeError);
  for (const bad of ["10.32.0.1", "300.1.1.1/8", "10.32.0.1/33", "x/12", ""]) {
    assert.throws(() => parseHostCidrs([bad]), SyntaxError, bad);
  }
});

Deno.test("attach creates the veth in the container, on the bridge, with MTU, addresses and route", () => {
  const { nl, bridge, c1, namespaces } = rig();
  const got = attach(nl, { container: "c1", cidrs: ["10.32.0.1/12"], namespaces });
  const host = nl.link(hostVethName("c1"))!;
  const ethwe = c1.link("ethwe")!;
  assert.deepEqual(got, { id: "c1", mac: ethwe.address, cidrs: ["10.32.0.1/12"] });
  assert.deepEqual([host.master, host.up, host.mtu, host.peer?.ns], [bridge.index, true, 1376, c1]);
  assert.deepEqual([ethwe.up, ethwe.mtu, c1.link("lo")!.up], [true, 1376, true]);
  assert.deepEqual(c1.routes, [{ dst: "224.0.0.0/4", oif: ethwe.index }]);
  assert.deepEqual(nl.changes().map((op) => op.split(" ").slice(0, 2).join(" ")), [
    "add veth",
    "attach to",
    "bring up",
  ]);
  assert.deepEqual(c1.changes().map((op) => op.split(" ").slice(0, 2).join(" ")), [
    "bring up", // lo
    "bring up", // ethwe
    "add address",
    "add route",
  ]);
});

Deno.test("attach again changes nothing; new addresses alone are added", () => {
  const { nl, c1, namespaces } = rig();
  attach(nl, { container: "c1", cidrs: ["10.32.0.1/12"], namespaces });
  nl.ops = [];
  c1.ops = [];
  attach(nl, { container: "/run/netns/c1", cidrs: ["10.32.0.1/12"], namespaces });
  assert.deepEqual([nl.changes(), c1.changes()], [[], []]);
  const got = attach(nl, { container: "c1", cidrs: ["10.32.0.1/12", "10.40.0.1/16"], namespaces });
  assert.deepEqual(got.cidrs, ["10.32.0.1/12", "10.40.0.1/16"]);
  assert.equal(c1.changes().length, 1);
  assert.match(c1.changes()[0], /^add address 10\.40\.0\.1\/16 to /);
  assert.deepEqual(nl.changes(), []);
});

Deno.test("attach repairs a veth that left the bridge, went down or has the wrong MTU", () => {
  const { nl, bridge, c1, namespaces } = rig();
  attach(nl, { container: "c1", cidrs: [], namespaces });
  const host = nl.link(hostVethName("c1"))!;
  Object.assign(host, { master: undefined, up: false, mtu: 1500 });
  c1.link("ethwe")!.mtu = 1500;
  attach(nl, { container: "c1", cidrs: [], mtu: 1376, namespaces });
  assert.deepEqual([host.master, host.up, host.mtu, c1.link("ethwe")!.mtu], [
    bridge.index,
    true,
    1376,
    1376,
  ]);
});

Deno.test("attach refuses a foreign ethwe and replaces a stale host veth", () => {
  const { nl, c1, c2, namespaces } = rig();
  c1.addLink({ name: "ethwe", kind: "dummy" });
  assert.throws(
    () => attach(nl, { container: "c1", cidrs: ["10.32.0.1/12"], namespaces }),
    /Cannot attach container "c1": it has an interface "ethwe" that is not weave's veth/,
  );
  assert.deepEqual(nl.changes(), []);
  const stale = nl.addLink({ name: hostVethName("c2"), kind: "veth" });
  attach(nl, { container: "c2", cidrs: ["10.32.0.2/12"], namespaces });
  assert.notEqual(nl.link(hostVethName("c2"))!.index, stale.index);
  assert.deepEqual(addrsOf(c2, "ethwe"), ["10.32.0.2/12"]);
});

Deno.test("a failed first attach removes the veth it created", () => {
  const { nl, c1, namespaces } = rig();
  const real = c1.request.bind(c1);
  c1.request = (m, op) => {
    if (op.startsWith("add address")) throw sysError(op, 13);
    return real(m, op);
  };
  assert.throws(
    () => attach(nl, { container: "c1", cidrs: ["10.32.0.1/12"], namespaces }),
    /Cannot add address 10.32.0.1\/12/,
  );
  assert.equal(nl.link(hostVethName("c1")), undefined);
  assert.equal(c1.link("ethwe"), undefined);
});

Deno.test("attach checks its input, the bridge and the namespace before changing anything", () => {
  const { nl, namespaces } = rig();
  assert.throws(
    () => attach(nl, { container: "c1", cidrs: ["10.32.0.0/12"], namespaces }),
    RangeError,
  );
  assert.throws(
    () => attach(nl, { container: "nope", cidrs: ["10.32.0.1/12"], namespaces }),
    ContainerNotFoundError,
  );
  assert.throws(
    () => attach(nl, { container: "host", cidrs: ["10.32.0.1/12"], namespaces }),
    /it runs in the host's network namespace/,
  );
  assert.throws(
    () => attach(nl, { container: "c1", cidrs: [], bridge: "other", namespaces }),
    /bridge "other" does not exist/,
  );
  assert.deepEqual(nl.changes(), []);
});

Deno.test("detach removes given addresses, the veth when none remain, and forgives what is gone", () => {
  const { k, nl, c1, namespaces } = rig();
  attach(nl, { container: "c1", cidrs: ["10.32.0.1/12", "10.40.0.1/16"], namespaces });
  assert.deepEqual(detach(nl, { container: "c1", cidrs: ["10.40.0.1/16"], namespaces }), {
    id: "c1",
    cidrs: ["10.40.0.1/16"],
  });
  assert.deepEqual(addrsOf(c1, "ethwe"), ["10.32.0.1/12"]);
  assert.deepEqual(detach(nl, { container: "c1", cidrs: ["10.32.0.1/12"], namespaces }).cidrs, [
    "10.32.0.1/12",
  ]);
  assert.equal(nl.link(hostVethName("c1")), undefined);
  assert.equal(c1.link("ethwe"), undefined);
  assert.deepEqual(detach(nl, { container: "c1", namespaces }), { id: "c1", cidrs: [] });

  attach(nl, { container: "c2", cidrs: ["10.32.0.2/12"], namespaces });
  k.remove("/run/netns/c2");
  assert.deepEqual(detach(nl, { container: "c2", namespaces }).cidrs, []);
  assert.throws(() => detach(nl, { container: "c1", cidrs: ["bad"], namespaces }), SyntaxError);
});

Deno.test("listAttached lists weave:expose first, then attached containers by id", () => {
  const { k, nl, bridge, namespaces } = rig();
  assert.deepEqual(listAttached(nl, { namespaces }), [
    { id: "weave:expose", mac: bridge.address, cidrs: [] },
  ]);
  k.add("/run/netns/c0"); // a namespace that is not attached
  const b = attach(nl, { container: "c2", cidrs: ["10.32.0.2/12"], namespaces });
  const a = attach(nl, { container: "c1", cidrs: ["10.32.0.1/12", "10.40.0.1/16"], namespaces });
  k.add("/proc/42/ns/net");
  const pc = attach(nl, { container: "42", cidrs: ["10.32.0.3/12"], namespaces });
  nl.addrs.push({ index: bridge.index, cidr: "10.32.0.254/12" });
  const all = listAttached(nl, { namespaces: k.namespaces(["pid:42"]) });
  assert.deepEqual(all, [
    { id: "weave:expose", mac: bridge.address, cidrs: ["10.32.0.254/12"] },
    { id: "c1", mac: a.mac, cidrs: ["10.32.0.1/12", "10.40.0.1/16"] },
    { id: "c2", mac: b.mac, cidrs: ["10.32.0.2/12"] },
    { id: "pid:42", mac: pc.mac, cidrs: ["10.32.0.3/12"] },
  ]);
  assert.deepEqual(listAttached(nl, { namespaces }).map((e) => e.id), ["weave:expose", "c1", "c2"]);
  assert.deepEqual(listAttached(nl, { namespaces, known: ["pid:42"] }).length, 4);
  assert.deepEqual(
    listAttached(nl, { namespaces, containers: ["c2", "weave:expose", "c0"] }).map((e) => e.id),
    ["c2", "weave:expose"],
  );
  assert.throws(
    () => listAttached(nl, { namespaces, containers: ["gone"] }),
    ContainerNotFoundError,
  );
  assert.deepEqual(listAttached(nl, { namespaces, bridge: "other" }), []);
});

Deno.test("attach with dnsRoute routes weaveDNS via ethwe with the bridge's MAC as neighbour", () => {
  const { nl, bridge, c1, namespaces } = rig();
  const neighbours: string[] = [];
  const withNeigh: Namespaces = {
    ...namespaces,
    netlink(path) {
      const inner = namespaces.netlink(path);
      return {
        request(message, op) {
          if (!op.startsWith("add neighbour")) return inner.request(message, op);
          neighbours.push(op);
          return [];
        },
        close: () => inner.close(),
      };
    },
  };
  const options = {
    container: "c1",
    cidrs: ["10.2.1.1/24"],
    dnsRoute: "169.254.53.1",
    namespaces: withNeigh,
  };
  attach(nl, options);
  attach(nl, options); // again: the route is kept, the neighbour entry replaced
  const ethwe = c1.link("ethwe")!;
  assert.deepEqual(c1.routes, [
    { dst: "224.0.0.0/4", oif: ethwe.index },
    { dst: "169.254.53.1/32", oif: ethwe.index },
  ]);
  const want = `add neighbour 169.254.53.1 lladdr ${bridge.address} dev ethwe`;
  assert.deepEqual(neighbours, [want, want]);
});

Deno.test("attach announces every address with gratuitous ARP on ethwe; a failing send only warns", () => {
  const { nl, c1, namespaces } = rig();
  const sent: { path: string; ifindex: number; frames: Uint8Array[] }[] = [];
  const ns: Namespaces = {
    ...namespaces,
    send: (path, ifindex, frames) => void sent.push({ path, ifindex, frames: [...frames] }),
  };
  const a = attach(nl, {
    container: "c1",
    cidrs: ["10.32.0.1/12", "10.40.0.9/12"],
    namespaces: ns,
  });
  assert.equal(sent.length, 1);
  assert.equal(sent[0].path, "/run/netns/c1");
  assert.equal(sent[0].ifindex, c1.link("ethwe")?.index);
  assert.deepEqual(sent[0].frames, [
    gratuitousArp(a.mac, "10.32.0.1"),
    gratuitousArp(a.mac, "10.40.0.9"),
  ]);
  const log = memoryLogger();
  const failing: Namespaces = {
    ...namespaces,
    send: () => {
      throw sysError("send frame", 100);
    },
  };
  const again = attach(nl, { container: "c1", cidrs: ["10.32.0.1/12"], namespaces: failing, log });
  assert.equal(again.mac, a.mac, "the attach itself succeeded");
  assert.ok(
    log.lines.some((l) => l.includes('Cannot announce addresses of "c1"')),
    log.lines.join("\n"),
  );
});
