import assert from "node:assert/strict";
import { discardLogger } from "../lib/log.ts";
import { GobEncoder, GobTypeRegistry } from "../mesh/gob/encoder.ts";
import { gobSlice, gobStruct, I, S, U } from "../mesh/gob/types.ts";
import { Entries, type Entry } from "./entry.ts";
import {
  checkClockSkew,
  decodeDnsGossip,
  DnsGossipData,
  DnsGossiper,
  encodeDnsGossip,
  GOSSIP_WINDOW_S,
} from "./gossip.ts";

const US = 0x020000000001n;
const THEM = 0x020000000002n;
const STRANGER = 0x020000000009n;
const NOW = 1_795_460_275;

function entry(over: Partial<Entry> = {}): Entry {
  return {
    containerID: "c1",
    origin: THEM,
    addr: 0x0a200001,
    hostname: "web.weave.local.",
    version: 0,
    tombstone: 0,
    ...over,
  };
}

async function dnsVector(): Promise<Uint8Array> {
  const text = await Deno.readTextFile(
    new URL("../testdata/gob/gob-vectors.txt", import.meta.url),
  );
  const section = text.split("### dns GossipData (223 bytes)\n")[1].split("\n\n")[0];
  const bytes = section.split("\n").flatMap((line) => {
    const m = /^[0-9a-f]{8} {2}(.*?)\s*\|/.exec(line);
    return m ? m[1].trim().split(/\s+/).map((h) => parseInt(h, 16)) : [];
  });
  assert.equal(bytes.length, 223);
  return new Uint8Array(bytes);
}

const VECTOR_MSG = {
  timestamp: 1_700_000_000,
  entries: [{
    containerID: "abc",
    origin: 0x0a0b0c0d0e0fn,
    addr: 0x0a200001,
    hostname: "web.weave.local.",
    version: 0,
    tombstone: 0,
  }],
};

Deno.test("encodeDnsGossip matches Go's dns GossipData vector byte for byte", async () => {
  const vector = await dnsVector();
  const bytes = encodeDnsGossip(VECTOR_MSG, {
    registry: new GobTypeRegistry(82),
    typeName: "DNSGossipData",
  });
  assert.deepEqual(bytes, vector);
  assert.deepEqual(decodeDnsGossip(vector), VECTOR_MSG);
});

Deno.test("DNS gossip round-trips signed versions and tombstones, sorted case-sensitively", () => {
  const msg = {
    timestamp: -5,
    entries: [
      entry({ hostname: "b.weave.local.", version: -3, tombstone: NOW }),
      entry({ hostname: "B.weave.local.", version: 7, origin: US, addr: 0xffffffff }),
      entry({ hostname: "a.weave.local.", containerID: "", addr: 0 }),
    ],
  };
  const back = decodeDnsGossip(encodeDnsGossip(msg));
  assert.equal(back.timestamp, -5);
  assert.deepEqual(back.entries.map((e) => e.hostname), [
    "B.weave.local.",
    "a.weave.local.",
    "b.weave.local.",
  ]);
  assert.deepEqual(back.entries[0], msg.entries[1]);
  assert.deepEqual(back.entries[2], msg.entries[0]);
  assert.deepEqual(back.entries[1], msg.entries[2]);
});

Deno.test("decodeDnsGossip ignores bytes after the value, as Go's decoder does", () => {
  const bytes = encodeDnsGossip({ timestamp: NOW, entries: [entry()] });
  const padded = new Uint8Array([...bytes, 0xde, 0xad]);
  assert.deepEqual(decodeDnsGossip(padded), { timestamp: NOW, entries: [entry()] });
});

Deno.test("decodeDnsGossip rejects every truncation and wrong field kinds", () => {
  const bytes = encodeDnsGossip({ timestamp: NOW, entries: [entry(), entry({ addr: 7 })] });
  for (let n = 0; n < bytes.length; n++) {
    assert.throws(() => decodeDnsGossip(bytes.subarray(0, n)), `truncated to ${n}`);
  }
  const badEntry = gobStruct("Entry", [["Addr", U], ["Version", U]]);
  const wrong = new GobEncoder().encode(
    { Timestamp: 1, Entries: [{ Addr: 1, Version: 2 }] },
    gobStruct("GossipData", [["Timestamp", I], ["Entries", gobSlice(badEntry, "Entries")]]),
  );
  assert.throws(() => decodeDnsGossip(wrong), /field Version is uint, expected int/);
  const bigAddr = new GobEncoder().encode(
    { Entries: [{ Addr: 0x100000000n }] },
    gobStruct("GossipData", [["Entries", gobSlice(gobStruct("Entry", [["Addr", U]]))]]),
  );
  assert.throws(() => decodeDnsGossip(bigAddr), RangeError);
  const notStruct = new GobEncoder().encode("x", S);
  assert.throws(() => decodeDnsGossip(notStruct), TypeError);
});

Deno.test("decodeDnsGossip survives random bytes without hanging", () => {
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  const good = encodeDnsGossip({ timestamp: NOW, entries: [entry()] });
  for (let i = 0; i < 2000; i++) {
    const bytes = i % 2 === 0
      ? Uint8Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256))
      : good.map((b) => (rand() < 0.05 ? Math.floor(rand() * 256) : b));
    try {
      decodeDnsGossip(bytes);
    } catch (e) {
      assert.ok(e instanceof Error);
    }
  }
});

Deno.test("checkClockSkew allows 900 s either way and reports Go's error beyond", () => {
  checkClockSkew(NOW + GOSSIP_WINDOW_S, NOW);
  checkClockSkew(NOW - GOSSIP_WINDOW_S, NOW);
  assert.throws(() => checkClockSkew(NOW + 901, NOW), {
    message: "host clock skew of 901s exceeds 900s limit",
  });
  assert.throws(() => checkClockSkew(NOW - 1000, NOW), {
    message: "host clock skew of -1000s exceeds 900s limit",
  });
});

Deno.test("DnsGossipData.merge keeps the newer entries and the later timestamp", () => {
  const a = new DnsGossipData(10, [entry({ version: 1 }), entry({ addr: 2 })]);
  const b = new DnsGossipData(20, [entry({ version: 2, tombstone: 15 }), entry({ addr: 3 })]);
  const m = a.merge(b) as DnsGossipData;
  assert.equal(m.timestamp, 20);
  assert.deepEqual(m.entries.map((e) => [e.addr, e.version]), [[2, 0], [3, 0], [0x0a200001, 2]]);
  assert.deepEqual(decodeDnsGossip(m.encode()[0]).entries.length, 3);
  assert.throws(() => a.merge({ encode: () => [], merge: (o) => o }), TypeError);
});

function gossiper(zone: Entries, sent: Entry[][], now = NOW) {
  return new DnsGossiper({
    ourName: US,
    entries: zone,
    isKnownPeer: (p) => p === US || p === THEM,
    now: () => now,
    broadcast: (es) => sent.push(es),
    log: discardLogger,
  });
}

const payload = (entries: Entry[], timestamp = NOW) => encodeDnsGossip({ timestamp, entries });

Deno.test("DnsGossiper.onGossip merges, drops unknown origins, returns only what was new", () => {
  const zone = new Entries();
  const sent: Entry[][] = [];
  const g = gossiper(zone, sent);
  const delta = g.onGossip(payload([entry(), entry({ origin: STRANGER, addr: 9 })]));
  assert.ok(delta instanceof DnsGossipData);
  assert.deepEqual(delta.entries, [entry()]);
  assert.equal(delta.timestamp, NOW);
  assert.equal(g.onGossip(payload([entry()])), null);
  assert.deepEqual(zone.all(), [entry()]);
  assert.deepEqual(sent, []);
  const full = g.gossip() as DnsGossipData;
  assert.deepEqual(full.entries, [entry()]);
});

Deno.test("DnsGossiper.onGossipBroadcast relays the whole received set", () => {
  const zone = Entries.from([entry()]);
  const g = gossiper(zone, []);
  const relay = g.onGossipBroadcast(THEM, payload([entry(), entry({ addr: 5 })], NOW - 3));
  assert.ok(relay instanceof DnsGossipData);
  assert.equal(relay.timestamp, NOW - 3);
  assert.deepEqual(relay.entries, [entry({ addr: 5 }), entry()], "in wire order");
});

Deno.test("DnsGossiper rejects skewed gossip with the error that closes the connection", () => {
  const g = gossiper(new Entries(), []);
  assert.throws(() => g.onGossip(payload([entry()], NOW + 901)), /host clock skew of 901s/);
  assert.throws(() => g.onGossipBroadcast(THEM, payload([], NOW - 2000)), /clock skew/);
});

Deno.test("DnsGossiper re-asserts our own entries when a stale copy comes back", () => {
  const zone = new Entries();
  const ours = zone.add({ hostname: "me.weave.local.", containerID: "m", origin: US, addr: 1 });
  zone.tombstone(US, { containerID: "m" }, NOW - 10);
  const sent: Entry[][] = [];
  const g = gossiper(zone, sent);
  // Someone claims version 5 of our (tombstoned, version 1) entry, live.
  g.onGossip(payload([{ ...ours, version: 5 }]));
  assert.deepEqual(sent, [[{ ...ours, version: 6, tombstone: NOW - 10 }]]);
  assert.deepEqual(zone.all(), [{ ...ours, version: 6, tombstone: NOW - 10 }]);
  // Same version, different tombstone: ours again, one higher.
  sent.length = 0;
  g.onGossip(payload([{ ...ours, version: 6, tombstone: 0 }]));
  assert.deepEqual(sent, [[{ ...ours, version: 7, tombstone: NOW - 10 }]]);
  // An identical copy is fine.
  sent.length = 0;
  g.onGossip(payload([{ ...ours, version: 7, tombstone: NOW - 10 }]));
  assert.deepEqual(sent, []);
});

Deno.test("DnsGossiper tombstones entries claiming to be ours that we do not have", () => {
  const zone = new Entries();
  const sent: Entry[][] = [];
  const g = gossiper(zone, sent);
  const ghost = entry({ origin: US, version: 2 });
  g.onGossip(payload([ghost, entry({ origin: US, addr: 3, version: 1, tombstone: 50 })]));
  assert.deepEqual(sent, [[{ ...ghost, version: 3, tombstone: NOW }]]);
  assert.deepEqual(zone.all().map((e) => [e.addr, e.version, e.tombstone]), [
    [3, 1, 50],
    [0x0a200001, 3, NOW],
  ]);
});
