import assert from "node:assert/strict";
import {
  compareEntries,
  compareEntriesCaseSensitive,
  compareGoStrings,
  Entries,
  type Entry,
  mergeEntry,
  TOMBSTONE_TIMEOUT_S,
} from "./entry.ts";

const P1 = 0x020000000001n;
const P2 = 0x020000000002n;

function entry(over: Partial<Entry> = {}): Entry {
  return {
    containerID: "c1",
    origin: P1,
    addr: 0x0a200001,
    hostname: "web.weave.local.",
    version: 0,
    tombstone: 0,
    ...over,
  };
}

Deno.test("mergeEntry follows version, then tombstone", () => {
  const table: [string, Partial<Entry>, Partial<Entry>, boolean, Partial<Entry>][] = [
    ["higher version wins", { version: 1 }, { version: 2, tombstone: 5 }, true, {
      version: 2,
      tombstone: 5,
    }],
    ["higher version revives", { version: 1, tombstone: 9 }, { version: 2 }, true, {
      version: 2,
      tombstone: 0,
    }],
    ["lower version loses", { version: 3, tombstone: 0 }, { version: 2, tombstone: 7 }, false, {
      version: 3,
      tombstone: 0,
    }],
    [
      "tie: larger tombstone wins",
      { version: 1, tombstone: 5 },
      { version: 1, tombstone: 8 },
      true,
      {
        version: 1,
        tombstone: 8,
      },
    ],
    [
      "tie: smaller tombstone loses",
      { version: 1, tombstone: 8 },
      {
        version: 1,
        tombstone: 5,
      },
      false,
      { version: 1, tombstone: 8 },
    ],
    ["identical: no change", { version: 4, tombstone: 0 }, { version: 4, tombstone: 0 }, false, {
      version: 4,
      tombstone: 0,
    }],
  ];
  for (const [what, ours, incoming, changed, expected] of table) {
    const o = entry(ours);
    assert.equal(mergeEntry(o, entry(incoming)), changed, what);
    assert.deepEqual(o, entry(expected), what);
  }
});

Deno.test("compareGoStrings orders by code point like Go's byte order", () => {
  assert.equal(compareGoStrings("a", "b"), -1);
  assert.equal(compareGoStrings("B", "a"), -1);
  assert.equal(compareGoStrings("ab", "a"), 1);
  assert.equal(compareGoStrings("x", "x"), 0);
  // U+FFFF (EF BF BF) sorts before U+10000 (F0 90 80 80) in UTF-8.
  assert.equal(compareGoStrings("\uffff", "\u{10000}"), -1);
  assert.equal(compareGoStrings("\u{10000}", "\ue000"), 1);
});

Deno.test("entry order: hostname, origin, container, address; case-insensitive in store", () => {
  const a = entry({ hostname: "B.weave.local." });
  const b = entry({ hostname: "a.weave.local." });
  assert.ok(compareEntriesCaseSensitive(a, b) < 0);
  assert.ok(compareEntries(a, b) > 0);
  assert.ok(compareEntries(entry({ origin: P1 }), entry({ origin: P2 })) < 0);
  assert.ok(compareEntries(entry({ containerID: "a" }), entry({ containerID: "b" })) < 0);
  assert.ok(compareEntries(entry({ addr: 1 }), entry({ addr: 0xffffffff })) < 0);
});

Deno.test("Entries.add inserts sorted, is idempotent, revives tombstones", () => {
  const es = new Entries();
  es.add({ hostname: "web.weave.local.", containerID: "c1", origin: P1, addr: 1 });
  es.add({ hostname: "DB.weave.local.", containerID: "c2", origin: P1, addr: 2 });
  es.add({ hostname: "web.weave.local.", containerID: "c1", origin: P1, addr: 1 });
  assert.deepEqual(es.all().map((e) => e.hostname), ["DB.weave.local.", "web.weave.local."]);
  assert.equal(es.tombstone(P1, { containerID: "c1" }, 100).length, 1);
  const revived = es.add({ hostname: "web.weave.local.", containerID: "c1", origin: P1, addr: 1 });
  assert.deepEqual(revived, entry({ addr: 1, version: 2, tombstone: 0 }));
});

Deno.test("Entries.merge returns new and changed entries only", () => {
  const es = Entries.from([entry({ version: 1 }), entry({ hostname: "b.weave.local." })]);
  const changed = es.merge([
    entry({ version: 1 }), // same
    entry({ hostname: "b.weave.local.", version: 1, tombstone: 50 }), // newer
    entry({ hostname: "c.weave.local.", origin: P2 }), // new
    entry({ hostname: "c.weave.local.", origin: P2, version: 2 }), // duplicate, newer
  ]);
  assert.deepEqual(changed, [
    entry({ hostname: "b.weave.local.", version: 1, tombstone: 50 }),
    entry({ hostname: "c.weave.local.", origin: P2 }),
    entry({ hostname: "c.weave.local.", origin: P2, version: 2 }),
  ]);
  assert.deepEqual(es.all(), [
    entry({ hostname: "b.weave.local.", version: 1, tombstone: 50 }),
    entry({ hostname: "c.weave.local.", origin: P2, version: 2 }),
    entry({ version: 1 }),
  ]);
  assert.deepEqual(es.merge(es.all()), []);
});

Deno.test("Entries.merge keeps entries that differ only by hostname case apart", () => {
  const es = new Entries();
  es.merge([entry({ hostname: "Web.weave.local." }), entry()]);
  assert.equal(es.size, 2);
  assert.deepEqual(es.lookup("WEB.WEAVE.LOCAL."), [0x0a200001, 0x0a200001]);
});

Deno.test("Entries.tombstone touches only our live matching entries", () => {
  const es = Entries.from([
    entry({ containerID: "c1", addr: 1 }),
    entry({ containerID: "c1", addr: 2, hostname: "other.weave.local." }),
    entry({ containerID: "c2", addr: 3 }),
    entry({ containerID: "c1", addr: 4, origin: P2 }),
  ]);
  assert.deepEqual(es.tombstone(P1, { containerID: "c1", hostname: "web.weave.local." }, 77), [
    entry({ containerID: "c1", addr: 1, version: 1, tombstone: 77 }),
  ]);
  assert.deepEqual(es.tombstone(P1, { containerID: "c1", hostname: "web.weave.local." }, 99), []);
  assert.deepEqual(es.tombstone(P1, { addr: 3 }, 80).map((e) => e.addr), [3]);
  assert.deepEqual(es.tombstone(P1, {}, 81).map((e) => e.addr), [2]);
  assert.deepEqual(es.lookup("web.weave.local."), [4]);
  assert.equal(es.reverseLookup(1), undefined);
  assert.equal(es.reverseLookup(4), "web.weave.local.");
});

Deno.test("Entries.purgeTombstones drops only tombstones older than 30 minutes", () => {
  const now = 1_800_000_000;
  const es = Entries.from([
    entry({ addr: 1 }),
    entry({ addr: 2, version: 1, tombstone: now - TOMBSTONE_TIMEOUT_S }),
    entry({ addr: 3, version: 1, tombstone: now - TOMBSTONE_TIMEOUT_S - 1 }),
  ]);
  assert.equal(es.purgeTombstones(now), 1);
  assert.deepEqual(es.all().map((e) => e.addr), [1, 2]);
});

Deno.test("Entries.deleteOrigin drops every entry of that peer", () => {
  const es = Entries.from([entry(), entry({ origin: P2 }), entry({ origin: P2, addr: 9 })]);
  assert.equal(es.deleteOrigin(P2), 2);
  assert.deepEqual(es.all(), [entry()]);
  assert.equal(es.deleteOrigin(P2), 0);
});

Deno.test("Entries.lookup is case-insensitive and skips tombstones", () => {
  const es = Entries.from([
    entry({ addr: 1 }),
    entry({ addr: 2, containerID: "c2" }),
    entry({ addr: 3, containerID: "c3", version: 1, tombstone: 5 }),
    entry({ addr: 4, hostname: "webx.weave.local." }),
  ]);
  assert.deepEqual(es.lookup("WeB.Weave.Local."), [1, 2]);
  assert.deepEqual(es.lookup("nope.weave.local."), []);
  assert.equal(es.countLive(P1), 3);
});
