import assert from "node:assert/strict";
import { FakeKernel } from "../datapath/fake_kernel.ts";
import { formatIPv4, parseIPv4 } from "../lib/cidr.ts";
import { discardLogger } from "../lib/log.ts";
import type { Netlink, NetlinkReply } from "../sys/mod.ts";
import { ExistsError, NotFoundError } from "../sys/mod.ts";
import { ContainerDns } from "./container_dns.ts";
import type { Entry, EntryMatch } from "./entry.ts";
import { addHostRoutes, ensureDnsAddress, removeHostRoutes } from "./reach.ts";

/** The host with bridge `weave`; route changes are kept as a set of "dst dev" strings. */
function host() {
  const k = new FakeKernel();
  k.host.addLink({ name: "weave", kind: "bridge", mtu: 1376, up: true });
  const routes = new Set<string>();
  const nl: Netlink = {
    request(message: Uint8Array, op: string): NetlinkReply[] {
      const m = /^(add|delete) route (\S+) dev "weave"$/.exec(op);
      if (!m) return k.host.request(message, op);
      if (m[1] === "add" && routes.has(m[2])) throw new ExistsError(op, 17);
      if (m[1] === "delete" && !routes.delete(m[2])) throw new NotFoundError(op, 3);
      if (m[1] === "add") routes.add(m[2]);
      return [];
    },
    close() {},
  };
  return { k, nl, routes };
}

/** Records what ContainerDns asks of the nameserver. */
class FakeNameserver {
  readonly domain = "weave.local.";
  added: string[] = [];
  deleted: EntryMatch[] = [];
  addEntry(containerID: string, addr: number, name: string): Entry | undefined {
    if (!name.endsWith(this.domain)) return undefined;
    this.added.push(`${containerID} ${formatIPv4(addr)} ${name}`);
    return { containerID, addr, hostname: name, origin: 1n, version: 0, tombstone: 0 };
  }
  deleteEntry(match: EntryMatch): Entry[] {
    this.deleted.push(match);
    return [];
  }
}

async function rig(address?: string) {
  const h = host();
  const ns = new FakeNameserver();
  const etcNetns = await Deno.makeTempDir();
  const dns = new ContainerDns({
    nameserver: ns,
    address,
    bridge: "weave",
    resolvConf: { etcNetns },
    log: discardLogger,
  });
  return {
    ...h,
    ns,
    dns,
    etcNetns,
    [Symbol.asyncDispose]: () => Deno.remove(etcNetns, { recursive: true }),
  };
}

Deno.test("ensureDnsAddress puts the /32 on the bridge once", () => {
  const { k, nl } = host();
  ensureDnsAddress(nl, "weave");
  ensureDnsAddress(nl, "weave");
  assert.deepEqual(k.host.addrs.map((a) => a.cidr), ["169.254.53.1/32"]);
});

Deno.test("host routes are added and removed idempotently", () => {
  const { nl, routes } = host();
  addHostRoutes(nl, "weave", ["10.2.1.1", "10.2.1.2"]);
  addHostRoutes(nl, "weave", ["10.2.1.1"]);
  assert.deepEqual([...routes], ["10.2.1.1/32", "10.2.1.2/32"]);
  removeHostRoutes(nl, "weave", ["10.2.1.1", "10.9.9.9"]);
  assert.deepEqual([...routes], ["10.2.1.2/32"]);
});

Deno.test("attached registers the hostname per address, routes back and writes resolv.conf", async () => {
  await using r = await rig("169.254.53.1");
  await r.dns.attached(r.nl, {
    id: "c1",
    cidrs: ["10.2.1.1/24", "10.32.0.5/12"],
    hostname: "db.weave.local",
  });
  assert.deepEqual(r.ns.added, ["c1 10.2.1.1 db.weave.local.", "c1 10.32.0.5 db.weave.local."]);
  assert.deepEqual([...r.routes], ["10.2.1.1/32", "10.32.0.5/32"]);
  assert.match(
    await Deno.readTextFile(`${r.etcNetns}/c1/resolv.conf`),
    /nameserver 169\.254\.53\.1/,
  );
  assert.ok(r.dns.allows("10.2.1.1") && r.dns.allows("169.254.53.1") && r.dns.allows("127.0.0.1"));
  assert.ok(!r.dns.allows("192.0.2.4"), "the underlay is not answered");
  assert.deepEqual(r.dns.ids(), ["c1"]);

  await r.dns.attached(r.nl, { id: "c2", cidrs: ["10.2.1.2/24"], hostname: "web" });
  assert.equal(r.ns.added[2], "c2 10.2.1.2 web.weave.local.", "a bare name goes into the domain");
  await r.dns.attached(r.nl, { id: "pid:7", cidrs: ["10.2.1.3/24"] });
  assert.equal(r.ns.added.length, 3, "no hostname, no name");
  await assert.rejects(() => Deno.stat(`${r.etcNetns}/pid:7`), Deno.errors.NotFound);
});

Deno.test("--without-dns registers nothing and writes no resolv.conf, but routes", async () => {
  await using r = await rig("169.254.53.1");
  await r.dns.attached(r.nl, {
    id: "c1",
    cidrs: ["10.2.1.1/24"],
    hostname: "db",
    withoutDns: true,
  });
  assert.deepEqual(r.ns.added, []);
  assert.deepEqual([...r.routes], ["10.2.1.1/32"]);
  await assert.rejects(() => Deno.stat(`${r.etcNetns}/c1`), Deno.errors.NotFound);
});

Deno.test("detached drops the removed addresses; a full detach or gone drops everything", async () => {
  await using r = await rig("169.254.53.1");
  await r.dns.attached(r.nl, { id: "c1", cidrs: ["10.2.1.1/24", "10.2.1.5/24"], hostname: "db" });
  await r.dns.detached(r.nl, { id: "c1", cidrs: ["10.2.1.5/24"], full: false });
  assert.deepEqual(r.ns.deleted, [{ containerID: "c1", addr: parseIPv4("10.2.1.5") }]);
  assert.deepEqual([...r.routes], ["10.2.1.1/32"]);
  assert.ok(await Deno.stat(`${r.etcNetns}/c1/resolv.conf`), "still attached: resolv.conf stays");
  await r.dns.gone(r.nl, "c1");
  assert.deepEqual(r.ns.deleted.at(-1), { containerID: "c1" });
  assert.deepEqual([...r.routes], []);
  await assert.rejects(() => Deno.stat(`${r.etcNetns}/c1`), Deno.errors.NotFound);
  assert.ok(!r.dns.allows("10.2.1.1"));
  assert.deepEqual(r.dns.ids(), []);
});

Deno.test("without a container DNS address: names only, no routes, no resolv.conf", async () => {
  await using r = await rig(undefined);
  r.dns.adopt(r.nl, "c0", ["10.2.1.7/24"]);
  await r.dns.attached(r.nl, { id: "c1", cidrs: ["10.2.1.1/24"], hostname: "db" });
  assert.deepEqual(r.ns.added, ["c1 10.2.1.1 db.weave.local."]);
  assert.deepEqual([...r.routes], []);
  await assert.rejects(() => Deno.stat(`${r.etcNetns}/c1`), Deno.errors.NotFound);
  assert.deepEqual(r.dns.ids(), ["c0", "c1"]);
});
