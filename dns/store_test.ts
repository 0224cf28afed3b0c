import assert from "node:assert/strict";
import { parseIPv4 } from "../lib/cidr.ts";
import {
  type DnsRecord,
  dnsStatePath,
  DnsStore,
  formatDnsRecords,
  parseDnsRecords,
} from "./store.ts";

const R1: DnsRecord = {
  containerID: "c1",
  addr: parseIPv4("10.32.0.1"),
  hostname: "db.weave.local.",
};
const R2: DnsRecord = {
  containerID: "pid:42",
  addr: parseIPv4("10.2.1.9"),
  hostname: "x.weave.local.",
};

Deno.test("dnsStatePath appends dns.json to the db prefix", () => {
  assert.equal(
    dnsStatePath("/var/lib/weave/default/weave"),
    "/var/lib/weave/default/weavedns.json",
  );
});

Deno.test("formatDnsRecords and parseDnsRecords round-trip, addresses as dotted quads", () => {
  const text = formatDnsRecords([R1, R2]);
  assert.match(text, /"addr":"10\.32\.0\.1"/);
  assert.deepEqual(parseDnsRecords("f", text), [R1, R2]);
  assert.deepEqual(parseDnsRecords("f", formatDnsRecords([])), []);
});

Deno.test("parseDnsRecords rejects damaged files with the path and the reason", () => {
  const good = formatDnsRecords([R1]);
  const cases: [string, RegExp][] = [
    [good.slice(0, good.length - 10), /"f": not valid JSON/],
    ["null", /missing format marker/],
    ['{"format":"other","entries":[]}', /missing format marker/],
    ['{"format":"weave-dns-v1"}', /no entries array/],
    ['{"format":"weave-dns-v1","entries":[null]}', /entry 0 lacks/],
    [
      '{"format":"weave-dns-v1","entries":[{"containerID":"","addr":"1.2.3.4","hostname":"a."}]}',
      /entry 0 lacks/,
    ],
    [
      '{"format":"weave-dns-v1","entries":[{"containerID":"c","addr":"1.2.3.400","hostname":"a."}]}',
      /entry 0 has a bad address "1.2.3.400"/,
    ],
    [
      '{"format":"weave-dns-v1","entries":[{"containerID":"c","addr":7,"hostname":"a."}]}',
      /bad address 7/,
    ],
  ];
  for (const [text, want] of cases) {
    assert.throws(() => parseDnsRecords("f", text), SyntaxError, text);
    assert.throws(() => parseDnsRecords("f", text), want, text);
  }
});

Deno.test("DnsStore saves atomically, the last save wins, and loads nothing when absent", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new DnsStore(`${dir}/sub/weavedns.json`);
    assert.deepEqual(await store.load(), []);
    const saves = [store.save([R1]), store.save([R1, R2]), store.save([R2])];
    await Promise.all(saves);
    assert.deepEqual(await store.load(), [R2]);
    const names = [...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name);
    assert.deepEqual(names, ["weavedns.json"], "no temporary file is left");
    await Deno.writeTextFile(store.path, "{");
    await assert.rejects(() => store.load(), SyntaxError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// Found by the fault campaign's soak (bench/faults.ts): a router under name churn queued one
// whole-file write per change, a backlog (and memory) growing as long as changes came faster
// than fsync.
Deno.test("DnsStore coalesces saves made while a write runs: one write waits, holding the latest", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new DnsStore(`${dir}/weavedns.json`);
    const saves: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) {
      saves.push(store.save([{ ...R1, addr: parseIPv4("10.32.0.0") + i }]));
    }
    await Promise.all(saves);
    assert.ok(
      store.writes <= 2,
      `${store.writes} writes for 1000 saves: at most one running, one waiting`,
    );
    assert.deepEqual(await store.load(), [{ ...R1, addr: parseIPv4("10.32.0.0") + 999 }]);
    const before = store.writes;
    await store.save([R2]);
    assert.equal(store.writes, before + 1, "a save when none runs writes at once");
    assert.deepEqual(await store.load(), [R2]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
