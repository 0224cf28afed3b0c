import assert from "node:assert/strict";
import {
  applyRecord,
  diffRecord,
  journalHeader,
  type JournalRecord,
  parseJournal,
  recordJson,
  recordLine,
} from "./_journal.ts";
import type { RingData } from "../ring/mod.ts";
import type { IpamState } from "./store.ts";
import { IpamStoreCorruptError } from "./store_error.ts";

const P1 = 0x020000000001n;
const P2 = 0x020000000002n;

function ring(entries: [number, bigint, number, number][], seeds = [P1, P2]): RingData {
  return {
    start: 0x0a200000,
    end: 0x0a300000,
    peer: P1,
    entries: entries.map(([token, peer, version, free]) => ({ token, peer, version, free })),
    seeds,
  };
}

const base = ring([[0x0a200000, P1, 1, 500], [0x0a280000, P2, 0, 524288]]);

function state(r: RingData | undefined): IpamState {
  return {
    peerName: P1,
    ring: r,
    owned: new Map([["c1", { isContainer: true, cidrs: [{ addr: 0x0a200001, prefix: 12 }] }]]),
    holds: new Map(),
  };
}

const records: JournalRecord[] = [
  {
    seq: 1,
    owned: new Map([["c2", { isContainer: false, cidrs: [{ addr: 0x0a200002, prefix: 12 }] }]]),
  },
  {
    seq: 2,
    entries: { set: [{ token: 0x0a200000, peer: P1, version: 2, free: 499 }], del: [0x0a280000] },
    owned: new Map([["c1", null]]),
  },
  {
    seq: 3,
    peerName: P2,
    ring: base,
    holds: new Map([[0x0a280000, { from: P2, until: 12345 }]]),
    owned: new Map(),
  },
  { seq: 4, ring: null, owned: new Map() },
];

async function journalText(recs: JournalRecord[], epoch = "00aa"): Promise<string> {
  let text = journalHeader(epoch);
  for (const r of recs) text += await recordLine(recordJson(r));
  return text;
}

Deno.test("journal: records round trip through their lines", async () => {
  const parsed = await parseJournal("j", await journalText(records));
  assert.equal(parsed.epoch, "00aa");
  assert.equal(parsed.torn, false);
  assert.deepEqual(parsed.records, records);
  assert.deepEqual(await parseJournal("j", journalHeader("ff")), {
    epoch: "ff",
    records: [],
    torn: false,
  });
  assert.throws(() => journalHeader("XY"), RangeError);
});

Deno.test("journal: a write cut short at any byte of its last line is dropped, never misread", async () => {
  const whole = await journalText(records);
  const lastStart = whole.lastIndexOf("\n", whole.length - 2) + 1;
  for (let cut = lastStart; cut < whole.length; cut++) {
    const parsed = await parseJournal("j", whole.slice(0, cut));
    assert.deepEqual(parsed.records, records.slice(0, -1), `cut at ${cut}`);
    assert.equal(parsed.torn, cut > lastStart, `cut at ${cut}`);
  }
  // Zeros where the file grew but the data never reached the disk.
  const zeros = whole.slice(0, lastStart) + "\0".repeat(40);
  assert.equal((await parseJournal("j", zeros)).torn, true);
});

Deno.test("journal: damage anywhere else is reported with the record", async () => {
  const whole = await journalText(records);
  const lines = whole.split("\n");
  const cases: [string, RegExp][] = [
    ["", /missing journal header/],
    ["weave-ipam-journal-v9 00aa\n", /missing journal header/],
    [whole.replace('"seq":2', '"seq":5'), /record 2: checksum mismatch/],
    [[lines[0], lines[2], lines[1], ""].join("\n"), /record 2 has seq 1; expected 3/],
    [[lines[0], "abc {}", ""].join("\n"), /record 1 is not "<sha256> <json>"/],
    [journalHeader("01") + (await recordLine("{")), /record 1 is not valid JSON/],
    [journalHeader("01") + (await recordLine('{"seq":0,"owned":{}}')), /record 1.seq/],
    [
      journalHeader("01") + (await recordLine('{"seq":1,"owned":{"c":{"isContainer":1}}}')),
      /record 1.owned\["c"\].isContainer/,
    ],
    [
      journalHeader("01") +
      (await recordLine(
        '{"seq":1,"entries":{"set":[{"token":"10.0.0.300"}],"del":[]},"owned":{}}',
      )),
      /record 1.entries.set\[0\].token "10.0.0.300" is not an IPv4 address/,
    ],
  ];
  for (const [text, re] of cases) {
    await assert.rejects(parseJournal("/x/j", text), (e: Error) => {
      assert.ok(e instanceof IpamStoreCorruptError, String(e));
      assert.match(e.message, re);
      assert.match(e.message, /"\/x\/j" is damaged/);
      return true;
    });
  }
});

Deno.test("journal: applying the diff of two states gives the second (table)", () => {
  const cases: [string, RingData | undefined, RingData | undefined, string[]][] = [
    ["same ring", base, base, []],
    ["free count", base, ring([[0x0a200000, P1, 2, 499], [0x0a280000, P2, 0, 524288]]), [
      "entries",
    ]],
    [
      "token inserted and one removed",
      base,
      ring([[0x0a200000, P1, 1, 500], [0x0a240000, P2, 1, 9]]),
      ["entries"],
    ],
    ["seeds differ", base, ring([[0x0a200000, P1, 1, 500]], [P1]), ["ring"]],
    ["ring created", undefined, base, ["ring"]],
    ["ring gone", base, undefined, ["ring"]],
  ];
  for (const [name, before, after, fields] of cases) {
    const from = state(before);
    const to = { ...state(after), holds: new Map([[1, { from: P2, until: 5 }]]) };
    const owned = new Map([["c1", null], ["c9", { isContainer: true, cidrs: [] }]]);
    const rec = diffRecord(7, from, to, owned);
    const present = ["entries", "ring"].filter((f) => f in rec);
    assert.deepEqual(present, fields, name);
    assert.ok(rec.holds, `${name}: holds changed`);
    const parsedBack = JSON.parse(recordJson(rec));
    assert.equal(parsedBack.seq, 7);
    applyRecord(from, rec, "j");
    const expected = { ...to, owned: new Map([["c9", { isContainer: true, cidrs: [] }]]) };
    if (!expected.ring) delete expected.ring;
    assert.deepEqual(from, expected, name);
  }
  const noRing = { ...state(undefined) };
  delete noRing.ring;
  assert.throws(
    () => applyRecord(noRing, { seq: 1, entries: { set: [], del: [1] }, owned: new Map() }, "j"),
    /changes entries of a missing ring/,
  );
});
