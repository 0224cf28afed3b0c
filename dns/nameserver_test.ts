import assert from "node:assert/strict";
import { loadReport, readSample } from "../api/_samples.ts";
import { FakeRouterOps } from "../api/fake_ops.ts";
import { toGoJson } from "../lib/go/json.ts";
import { renderDns, renderStatus } from "../api/render_status.ts";
import { createApiHandler } from "../api/server.ts";
import { parseIPv4 } from "../lib/cidr.ts";
import { discardLogger } from "../lib/log.ts";
import { parsePeerName, type PeerName } from "../lib/peer_name.ts";
import type { GossipData, Gossiper } from "../mesh/gossip_types.ts";
import { dnsRoutes } from "./http.ts";
import { decodeDnsGossip, type DnsGossipData } from "./gossip.ts";
import { isSubDomain, Nameserver, NAMESERVER_CHANNEL } from "./nameserver.ts";
import { decodePacket, encodePacket } from "./packet.ts";
import { DnsStore } from "./store.ts";
import { udpExchange } from "./upstream.ts";

const H1 = parsePeerName("02:00:00:00:00:01");
const H2 = parsePeerName("02:00:00:00:00:02");
const T0 = 1_795_460_000_000;

/** A mesh with one channel whose broadcasts are recorded. */
class FakeMesh {
  gossiper?: Gossiper;
  channel?: string;
  broadcasts: DnsGossipData[] = [];
  gone: ((name: PeerName) => void)[] = [];
  known = new Set<PeerName>([H1, H2]);
  peers = { get: (name: PeerName) => (this.known.has(name) ? {} : undefined) };
  newGossip(name: string, gossiper: Gossiper) {
    this.channel = name;
    this.gossiper = gossiper;
    return { gossipBroadcast: (d: GossipData) => void this.broadcasts.push(d as DnsGossipData) };
  }
  onPeerGone(fn: (name: PeerName) => void) {
    this.gone.push(fn);
  }
}

function nameserver(ourName: PeerName, clock = () => T0, listenAddress = "127.0.0.1:0") {
  const ns = new Nameserver({
    ourName,
    listenAddress,
    upstream: { resolvConf: "/nonexistent/resolv.conf", timeoutMs: 100 },
    log: discardLogger,
    clock,
    peerGoneGraceMs: 10,
  });
  const mesh = new FakeMesh();
  ns.register(mesh);
  return { ns, mesh };
}

/** The state of the dns samples: h1 has c1, h2 has c2 (learned by gossip). */
function sampleState(listenAddress?: string) {
  const one = nameserver(H1, undefined, listenAddress), two = nameserver(H2);
  one.ns.addEntry("c1", parseIPv4("10.32.0.1"), "c1.weave.local.");
  two.ns.addEntry("c2", parseIPv4("10.40.0.0"), "c2.weave.local");
  for (const [from, to] of [[one, two], [two, one]]) {
    for (const b of from.mesh.broadcasts) {
      to.mesh.gossiper!.onGossipBroadcast(from.ns.ourName, b.encode()[0]);
    }
  }
  return { one, two };
}

Deno.test("Nameserver.register creates the nameserver channel", () => {
  const { mesh } = nameserver(H1);
  assert.equal(mesh.channel, NAMESERVER_CHANNEL);
  assert.equal(mesh.gone.length, 1);
});

Deno.test("addEntry broadcasts our entry; names outside the domain are ignored", () => {
  const { ns, mesh } = nameserver(H1);
  const e = ns.addEntry("c1", 0x0a200001, "Web.Weave.Local");
  assert.deepEqual(e, {
    containerID: "c1",
    origin: H1,
    addr: 0x0a200001,
    hostname: "Web.Weave.Local.",
    version: 0,
    tombstone: 0,
  });
  assert.equal(mesh.broadcasts.length, 1);
  assert.equal(mesh.broadcasts[0].timestamp, T0 / 1000);
  assert.deepEqual(decodeDnsGossip(mesh.broadcasts[0].encode()[0]).entries, [e]);
  assert.equal(ns.addEntry("c1", 1, "web.example.com"), undefined);
  assert.equal(ns.addEntry("c1", 1, ""), undefined);
  assert.equal(mesh.broadcasts.length, 1);
  assert.equal(ns.localEntryCount(), 1);
});

Deno.test("deleteEntry tombstones our matching entries and broadcasts them", () => {
  let now = T0;
  const { ns, mesh } = nameserver(H1, () => now);
  ns.addEntry("c1", 1, "a.weave.local.");
  ns.addEntry("c1", 2, "b.weave.local.");
  ns.addEntry("c2", 3, "a.weave.local.");
  mesh.broadcasts.length = 0;
  now += 5000;
  const done = ns.deleteEntry({ containerID: "c1", hostname: "a.weave.local." });
  assert.deepEqual(done.map((e) => [e.addr, e.version, e.tombstone]), [[1, 1, T0 / 1000 + 5]]);
  assert.deepEqual(mesh.broadcasts.map((b) => b.entries.length), [1]);
  assert.deepEqual(ns.deleteEntry({ containerID: "nope" }), []);
  assert.equal(mesh.broadcasts.length, 1, "nothing to broadcast");
  ns.deleteEntry({ containerID: "c1" });
  assert.equal(ns.localEntryCount(), 1);
  now += 30 * 60 * 1000 + 1000;
  assert.equal(ns.purgeTombstones(), 2);
});

Deno.test("entries spread by broadcast; a departed peer's entries are dropped", async () => {
  const { one, two } = sampleState();
  assert.deepEqual(one.ns.entries.lookup("c2.weave.local."), [parseIPv4("10.40.0.0")]);
  assert.deepEqual(two.ns.entries.lookup("C1.weave.local."), [parseIPv4("10.32.0.1")]);
  // A peer that comes back within the grace period keeps its entries (restart race).
  for (const fn of one.mesh.gone) fn(H2);
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(one.ns.entries.lookup("c2.weave.local."), [parseIPv4("10.40.0.0")]);
  one.mesh.known.delete(H2);
  for (const fn of one.mesh.gone) fn(H2);
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(one.ns.entries.lookup("c2.weave.local."), []);
  assert.equal(one.ns.entries.size, 1);
});

Deno.test("report matches the dns samples: status dns text and report JSON", () => {
  const { one } = sampleState("0.0.0.0:53");
  const report = { ...loadReport("plain", "h1"), DNS: one.ns.report() };
  assert.equal(renderDns(report), readSample("dns", "h1-status_dns.txt"));
  assert.equal(
    toGoJson(report.DNS, { indent: "  " }),
    readSample("dns", "h1-report-DNS.json").trim(),
  );
  const status = renderStatus(report);
  const dnsSection = readSample("dns", "h1-status.txt").split("\n\n").at(-1)!;
  assert.ok(status.endsWith(dnsSection), "status ends with the sample's dns section");
});

Deno.test("HTTP routes: PUT, GET /name JSON as the sample, DELETE, text routes", async () => {
  const { one, two } = sampleState();
  const ops = new FakeRouterOps(loadReport("plain", "h1"));
  ops.routes = dnsRoutes(one.ns);
  const handle = createApiHandler(ops, "control", { log: discardLogger });
  const call = (method: string, path: string, init: RequestInit = {}) =>
    handle(new Request(`http://x${path}`, { method, ...init }));
  const json = { headers: { accept: "application/json" } };

  const got = await call("GET", "/name", json);
  assert.equal(got.status, 200);
  assert.equal(await got.text(), readSample("dns", "h1-name.json"));
  assert.equal((await call("GET", "/name")).status, 404, "JSON only");

  const form = (fqdn: string) => ({
    body: `fqdn=${encodeURIComponent(fqdn)}`,
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  assert.equal((await call("PUT", "/name/c3/10.32.0.7", form("c3.weave.local"))).status, 204);
  assert.equal((await call("PUT", "/name/c4/10.32.0.8", form("c4.example.com"))).status, 204);
  assert.deepEqual(one.ns.entries.lookup("c3.weave.local."), [parseIPv4("10.32.0.7")]);
  assert.deepEqual(one.ns.entries.lookup("c4.example.com."), []);
  const bad = await call("PUT", "/name/c3/10.32.0.300", form("x.weave.local"));
  assert.equal(bad.status, 400);
  assert.equal(await bad.text(), "invalid IP address: 10.32.0.300\n");

  assert.equal((await call("DELETE", "/name/c3/10.32.0.7?fqdn=other.weave.local")).status, 204);
  assert.equal(one.ns.entries.lookup("c3.weave.local.").length, 1, "fqdn must match");
  assert.equal((await call("DELETE", "/name/c3/10.32.0.7?fqdn=c3.weave.local")).status, 204);
  assert.equal(one.ns.entries.lookup("c3.weave.local.").length, 0);
  one.ns.addEntry("c5", 9, "c5.weave.local.");
  assert.equal((await call("DELETE", "/name/c5")).status, 204);
  assert.equal(one.ns.entries.lookup("c5.weave.local.").length, 0);
  one.ns.addEntry("c6", 10, "c6.weave.local.");
  assert.equal((await call("DELETE", "/name")).status, 204);
  assert.equal(one.ns.localEntryCount(), 0);
  assert.deepEqual(one.ns.entries.lookup("c2.weave.local."), [parseIPv4("10.40.0.0")], "not ours");

  assert.equal(await (await call("GET", "/domain")).text(), "weave.local.");
  assert.equal(await (await call("GET", "/dns-address-port")).text(), "127.0.0.1:0");
  assert.equal(await (await call("GET", "/dns-address")).text(), "127.0.0.1");
  assert.equal((await call("POST", "/domain")).status, 405);
  assert.ok(two.ns.entries.size > 0);
});

Deno.test("Nameserver.start serves DNS for the zone; stop releases everything", async () => {
  const { ns } = nameserver(H1);
  ns.addEntry("c1", parseIPv4("10.32.0.1"), "c1.weave.local.");
  await ns.start();
  try {
    const port = Number(ns.dnsAddressPort().split(":")[1]);
    assert.ok(port > 0);
    const query = encodePacket({ id: 5, questions: [{ name: "c1", type: "A" }] });
    const res = decodePacket(await udpExchange(query, "127.0.0.1", port, 2000));
    assert.deepEqual(res.answers!.map((a) => a.data), ["10.32.0.1"]);
  } finally {
    await ns.stop();
  }
});

Deno.test("isSubDomain compares case-insensitively on label boundaries", () => {
  assert.ok(isSubDomain("weave.local.", "a.WEAVE.local."));
  assert.ok(isSubDomain("weave.local", "weave.local."));
  assert.ok(!isSubDomain("weave.local.", "aweave.local."));
  assert.ok(isSubDomain(".", "anything."));
});

Deno.test("Nameserver serves the zone on every listen address, each with its own clients", async () => {
  const ns = new Nameserver({
    ourName: H1,
    listenAddress: "127.0.0.1:0",
    allow: () => false,
    alsoListen: [{ address: "127.0.0.1:0" }],
    upstream: { resolvConf: "/nonexistent/resolv.conf", timeoutMs: 100 },
    log: discardLogger,
  });
  ns.addEntry("c1", parseIPv4("10.32.0.1"), "web.weave.local");
  await ns.start();
  try {
    const [advertised, also] = ns.listenAddresses().map((a) => Number(a.split(":")[1]));
    assert.equal(ns.dnsAddressPort(), `127.0.0.1:${advertised}`);
    assert.notEqual(also, advertised);
    const query = encodePacket({ id: 9, questions: [{ name: "web.weave.local", type: "A" }] });
    const res = decodePacket(await udpExchange(query, "127.0.0.1", also, 2000));
    assert.deepEqual(res.answers!.map((a) => a.data), ["10.32.0.1"]);
    await assert.rejects(() => udpExchange(query, "127.0.0.1", advertised, 300));
  } finally {
    await ns.stop();
  }
});

Deno.test("with a store, our live entries are saved and restored if their container exists", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new DnsStore(`${dir}/weavedns.json`);
    const opts = { ourName: H1, listenAddress: "127.0.0.1:0", store, log: discardLogger };
    const first = new Nameserver(opts);
    first.addEntry("c1", parseIPv4("10.32.0.1"), "db.weave.local");
    first.addEntry("c2", parseIPv4("10.32.0.2"), "web.weave.local");
    first.addEntry("c3", parseIPv4("10.32.0.3"), "old.weave.local");
    first.deleteEntry({ containerID: "c3" });
    await first.stop(); // waits for the last save
    assert.deepEqual((await store.load()).map((r) => r.containerID), ["c1", "c2"]);

    const second = new Nameserver(opts);
    const restored = await second.restore((id) => id !== "c2");
    assert.deepEqual(restored.map((e) => [e.containerID, e.hostname]), [["c1", "db.weave.local."]]);
    assert.deepEqual(second.ownRecords(), [
      { containerID: "c1", addr: parseIPv4("10.32.0.1"), hostname: "db.weave.local." },
    ]);
    assert.deepEqual((await store.load()).map((r) => r.containerID), ["c1"], "c2 is forgotten");
    await second.stop();
    assert.deepEqual(await new Nameserver({ ...opts, store: undefined }).restore(() => true), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// Found by the fault campaign (bench/faults.ts): PUT /name answered 204 before the records file
// held the name, so a kill -9 right after the answer could lose it.
Deno.test("with a store, PUT and DELETE /name answer once the records file holds the change", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new DnsStore(`${dir}/weavedns.json`);
    const ns = new Nameserver({
      ourName: H1,
      listenAddress: "127.0.0.1:0",
      store,
      log: discardLogger,
    });
    const ops = new FakeRouterOps(loadReport("plain", "h1"));
    ops.routes = dnsRoutes(ns);
    const handle = createApiHandler(ops, "control", { log: discardLogger });
    const call = (method: string, path: string, body?: string) =>
      handle(
        new Request(`http://x${path}`, {
          method,
          body,
          headers: { "content-type": "application/x-www-form-urlencoded" },
        }),
      );
    for (let i = 1; i <= 20; i++) {
      const r = await call("PUT", `/name/c${i}/10.32.0.${i}`, `fqdn=c${i}.weave.local`);
      assert.equal(r.status, 204);
      const stored = (await store.load()).map((rec) => rec.containerID);
      assert.ok(stored.includes(`c${i}`), `c${i} answered but not stored: ${stored}`);
    }
    assert.equal((await call("DELETE", "/name/c7")).status, 204);
    assert.ok(!(await store.load()).some((rec) => rec.containerID === "c7"), "c7 still stored");
    await ns.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
