import assert from "node:assert/strict";
import { parseIPv4 } from "../../lib/cidr.ts";
import type { PeerName } from "../../lib/peer_name.ts";
import type { Range } from "../address/mod.ts";
import { Ring, type RingData, RingError, type RingMergeOptions } from "./ring.ts";
import type { RingEntry } from "./_entries.ts";

// Ring over 10.0.0.0/24; offsets below are added to BASE.
const BASE = parseIPv4("10.0.0.0");
const END = BASE + 256;
const A = 0x0a0000000001n; // us
const B = 0x0a0000000002n;
const C = 0x0a0000000003n;
const D = 0x0a0000000004n;
const nameA = "0a:00:00:00:00:01";
const nameB = "0a:00:00:00:00:02";

type Row = [offset: number, peer: PeerName, version: number, free: number];
const entries = (rows: Row[]): RingEntry[] =>
  rows.map(([o, peer, version, free]) => ({ token: BASE + o, peer, version, free }));
const data = (rows: Row[], seeds: PeerName[] = [], peer = B): RingData => ({
  start: BASE,
  end: END,
  peer,
  entries: entries(rows),
  seeds,
});
const ring = (rows: Row[], seeds: PeerName[] = []) => Ring.fromData(data(rows, seeds, A), A);
const allocated = (offsets: number[]): RingMergeOptions => ({
  hasAllocations: (ranges: Range[]) =>
    ranges.some((r) => offsets.some((o) => BASE + o >= r.start && BASE + o < r.end)),
});

interface MergeCase {
  name: string;
  local: Row[];
  incoming: Row[];
  allocations?: number[];
  expected: Row[] | RegExp;
  updated?: boolean;
}

const mergeCases: MergeCase[] = [
  {
    name: "empty local ring takes everything",
    local: [],
    incoming: [[0, B, 0, 128], [128, C, 0, 128]],
    expected: [[0, B, 0, 128], [128, C, 0, 128]],
    updated: true,
  },
  {
    name: "token only theirs, inside a range of another peer: accepted",
    local: [[0, A, 0, 128], [128, C, 0, 128]],
    incoming: [[0, A, 0, 128], [128, C, 1, 64], [192, D, 0, 64]],
    expected: [[0, A, 0, 128], [128, C, 1, 64], [192, D, 0, 64]],
    updated: true,
  },
  {
    name: "token only theirs, splits our range without allocations: accepted, our free clamped",
    local: [[0, A, 1, 192], [192, C, 0, 64]],
    incoming: [[0, A, 1, 128], [128, B, 0, 64], [192, C, 0, 64]],
    allocations: [10],
    expected: [[0, A, 1, 128], [128, B, 0, 64], [192, C, 0, 64]],
    updated: true,
  },
  {
    name: "token only theirs, splits our range holding allocations: refused",
    local: [[0, A, 1, 192], [192, C, 0, 64]],
    incoming: [[0, A, 1, 128], [128, B, 0, 64], [192, C, 0, 64]],
    allocations: [130],
    expected: new RegExp(
      `^Peer ${nameB} says it owns the IP range from 10\\.0\\.0\\.128, which I think I own$`,
    ),
  },
  {
    name: "token only theirs after our last token: refused even without allocations (as Go)",
    local: [[0, A, 1, 256]],
    incoming: [[0, A, 1, 128], [128, B, 0, 128]],
    expected: /^Peer 0a:00:00:00:00:02 says it owns the IP range from 10\.0\.0\.128/,
  },
  {
    name: "token only theirs before our first token (wrapped part of ours): not checked, as Go",
    local: [[64, A, 0, 256]],
    incoming: [[0, B, 0, 64], [64, A, 0, 192]],
    allocations: [5],
    expected: [[0, B, 0, 64], [64, A, 0, 192]],
    updated: true,
  },
  {
    name: "same token, their version higher, not our entry: theirs taken",
    local: [[0, A, 0, 128], [128, C, 1, 100]],
    incoming: [[0, A, 0, 128], [128, D, 2, 50]],
    expected: [[0, A, 0, 128], [128, D, 2, 50]],
    updated: true,
  },
  {
    name: "same token, their version higher, our entry, another owner, no allocations: repair",
    local: [[0, A, 1, 128], [128, C, 0, 128]],
    incoming: [[0, B, 2, 100], [128, C, 0, 128]],
    allocations: [200],
    expected: [[0, B, 2, 100], [128, C, 0, 128]],
    updated: true,
  },
  {
    name: "same token, their version higher, our entry with allocations: refused",
    local: [[0, A, 1, 128], [128, C, 0, 128]],
    incoming: [[0, B, 2, 100], [128, C, 0, 128]],
    allocations: [3],
    expected: new RegExp(
      `^Received update for IP range I own at 10\\.0\\.0\\.0 v1: incoming message says owner ${nameB} v2$`,
    ),
  },
  {
    name: "same token, their version higher naming us: ours kept at their version + 1",
    local: [[0, A, 1, 120], [128, C, 0, 128]],
    incoming: [[0, A, 7, 3], [128, C, 0, 128]],
    allocations: [3],
    expected: [[0, A, 8, 120], [128, C, 0, 128]],
    updated: false,
  },
  {
    name: "same version, other owner, our entry with allocations: refused",
    local: [[0, A, 4, 128], [128, C, 0, 128]],
    incoming: [[0, B, 4, 128], [128, C, 0, 128]],
    allocations: [1],
    expected: new RegExp(
      `^Inconsistent entries for 10\\.0\\.0\\.0: owned by ${nameA} but incoming message says ${nameB}$`,
    ),
  },
  {
    name: "same version, other owner, no allocations, theirs has more free: theirs",
    local: [[0, A, 4, 100], [128, C, 0, 128]],
    incoming: [[0, B, 4, 101], [128, C, 0, 128]],
    expected: [[0, B, 4, 101], [128, C, 0, 128]],
    updated: true,
  },
  {
    name: "same version, other owner, equal free: ours wins the tie",
    local: [[0, C, 4, 100], [128, A, 0, 128]],
    incoming: [[0, D, 4, 100], [128, A, 0, 128]],
    expected: [[0, C, 4, 100], [128, A, 0, 128]],
    updated: false,
  },
  {
    name: "same version, other owner, ours has more free: ours",
    local: [[0, C, 4, 100], [128, A, 0, 128]],
    incoming: [[0, D, 4, 20], [128, A, 0, 128]],
    expected: [[0, C, 4, 100], [128, A, 0, 128]],
    updated: false,
  },
  {
    name: "same version and owner, other free count: ours (free is not compared)",
    local: [[0, C, 4, 10], [128, A, 0, 128]],
    incoming: [[0, C, 4, 90], [128, A, 0, 128]],
    expected: [[0, C, 4, 10], [128, A, 0, 128]],
    updated: false,
  },
  {
    name: "their version lower: ours",
    local: [[0, C, 5, 10], [128, A, 0, 128]],
    incoming: [[0, D, 4, 90], [128, A, 0, 128]],
    expected: [[0, C, 5, 10], [128, A, 0, 128]],
    updated: false,
  },
  {
    name: "result breaking an invariant: refused with the merge prefix",
    local: [[0, B, 5, 128], [128, C, 0, 128]],
    incoming: [[0, B, 1, 64], [64, D, 0, 64], [128, C, 0, 128]],
    expected:
      /^Merge of incoming data causes: Entry 10\.0\.0\.0-10\.0\.0\.64 reporting too much free space: 128 > 64$/,
  },
];

Deno.test("ring merge: table of rules", () => {
  for (const c of mergeCases) {
    const local = ring(c.local);
    const before = local.entries;
    const opts = allocated(c.allocations ?? []);
    if (c.expected instanceof RegExp) {
      assert.throws(
        () => local.merge(data(c.incoming), opts),
        (e: unknown) => e instanceof RingError && (c.expected as RegExp).test(e.message),
        c.name,
      );
      assert.deepStrictEqual(local.entries, before, `${c.name}: ring unchanged`);
      continue;
    }
    assert.equal(local.merge(data(c.incoming), opts), c.updated, `${c.name}: updated`);
    assert.deepStrictEqual(local.entries, entries(c.expected), c.name);
    local.checkInvariants();
  }
});

Deno.test("ring merge: hostile rings are refused before anything is applied", () => {
  const cases: [string, RingData, string][] = [
    ["unsorted", data([[128, B, 0, 10], [0, C, 0, 10]]), "Ring not sorted"],
    ["duplicate", data([[0, B, 0, 10], [0, C, 0, 10]]), "Token appears twice in ring"],
    ["below start", data([[-1, B, 0, 1], [0, C, 0, 10]]), "Token is out of range"],
    ["at end", data([[0, B, 0, 10], [256, C, 0, 1]]), "Token is out of range"],
    [
      "free > range",
      data([[0, B, 0, 129], [128, C, 0, 1]]),
      "Entry 10.0.0.0-10.0.0.128 reporting too much free space: 129 > 128",
    ],
    [
      "free > range (wrapping last entry)",
      data([[0, B, 0, 1], [128, C, 0, 129]]),
      "Entry 10.0.0.128-10.0.0.0 reporting too much free space: 129 > 128",
    ],
  ];
  for (const [what, incoming, message] of cases) {
    const local = ring([[0, A, 3, 100], [128, C, 1, 128]], [A, C]);
    const before = local.toData();
    assert.throws(() => local.merge(incoming), { name: "RingError", message }, what);
    assert.deepStrictEqual(local.toData(), before, `${what}: unchanged`);
  }
});

Deno.test("ring merge: seeds and ranges must agree", () => {
  const local = ring([[0, A, 0, 256]], [A, B]);
  const nicknames = new Map([[A, "one"]]);
  assert.throws(() => local.merge(data([[0, A, 0, 256]], [A, C]), { nicknames }), {
    message: `IP allocation was seeded by different peers (received: [${nameA}(one) ` +
      `0a:00:00:00:00:03], ours: [${nameA}(one) ${nameB}])`,
  });
  assert.throws(
    () => local.merge(data([[0, A, 0, 256]], [A])),
    (e: unknown) => e instanceof RingError && e.code === "different-seeds",
  );
  assert.throws(() => local.merge({ ...data([]), end: BASE + 128 }), {
    message: "Incompatible IP allocation ranges (received: 10.0.0.0/25, ours: 10.0.0.0/24)",
  });
  // Seeds missing on either side are fine; ours are adopted when we have none.
  assert.equal(local.merge(data([[0, A, 0, 256]])), false);
  const fresh = new Ring(BASE, END, C);
  fresh.merge(data([[0, A, 0, 256]], [A, B]));
  assert.deepStrictEqual(fresh.seeds, [A, B]);
});

Deno.test("ring claimForPeers: recursive halving for 1, 2, 3 and 5 peers", () => {
  const start = parseIPv4("10.32.0.0");
  const end = parseIPv4("10.48.0.0");
  const layout = (peers: PeerName[]) => {
    const r = new Ring(start, end, peers[0]);
    r.claimForPeers(peers);
    assert.deepStrictEqual(r.seeds, peers);
    r.checkInvariants();
    return r.entries.map((e) => [e.token - start, e.peer, e.version, e.free]);
  };
  const M = 1 << 20;
  assert.deepStrictEqual(layout([A]), [[0, A, 0, M]]);
  assert.deepStrictEqual(layout([A, B]), [[0, A, 0, M / 2], [M / 2, B, 0, M / 2]]);
  assert.deepStrictEqual(layout([A, B, C]), [
    [0, A, 0, M / 2],
    [M / 2, B, 0, M / 4],
    [(3 * M) / 4, C, 0, M / 4],
  ]);
  const E = 5n;
  assert.deepStrictEqual(layout([A, B, C, D, E]), [
    [0, A, 0, M / 4],
    [M / 4, B, 0, M / 4],
    [M / 2, C, 0, M / 4],
    [(3 * M) / 4, D, 0, M / 8],
    [(7 * M) / 8, E, 0, M / 8],
  ]);
  // An odd share leaves its middle address to the entry before (Go's subdivide).
  const tiny = new Ring(0, 5, A);
  tiny.claimForPeers([A, B, C, D, E]);
  assert.deepStrictEqual(tiny.entries, [
    { token: 0, peer: A, version: 0, free: 1 },
    { token: 1, peer: B, version: 0, free: 1 },
    { token: 3, peer: C, version: 0, free: 1 },
    { token: 4, peer: D, version: 0, free: 1 },
  ]);
  assert.throws(() => tiny.claimForPeers([A]), RangeError);
  assert.throws(() => new Ring(0, 5, A).claimForPeers([]), RangeError);
});

Deno.test("ring grantRangeToHost: splits with +1 versions, inserting boundary tokens", () => {
  const r = ring([[0, A, 0, 256]]);
  r.grantRangeToHost(BASE + 128, BASE + 192, B);
  assert.deepStrictEqual(r.entries, entries([[0, A, 1, 128], [128, B, 0, 64], [192, A, 0, 64]]));
  r.grantRangeToHost(BASE + 192, END, C);
  assert.deepStrictEqual(r.entries, entries([[0, A, 1, 128], [128, B, 0, 64], [192, C, 1, 64]]));
  assert.throws(() => r.grantRangeToHost(BASE + 100, BASE + 150, D), /10\.0\.0\.128 is not ours/);
  assert.throws(() => r.grantRangeToHost(BASE + 10, BASE + 10, D), RangeError);
  assert.throws(() => r.grantRangeToHost(BASE + 10, END + 1, D), RangeError);

  const two = ring([[0, A, 0, 128], [128, A, 0, 128]]);
  two.grantRangeToHost(BASE + 64, BASE + 192, B);
  assert.deepStrictEqual(
    two.entries,
    entries([[0, A, 1, 64], [64, B, 0, 64], [128, B, 1, 64], [192, A, 0, 64]]),
  );

  const wrapped = ring([[64, A, 0, 256]]);
  wrapped.grantRangeToHost(BASE, BASE + 32, B);
  assert.deepStrictEqual(
    wrapped.entries,
    entries([[0, B, 0, 32], [32, A, 0, 32], [64, A, 1, 192]]),
  );
  assert.throws(() => new Ring(BASE, END, A).grantRangeToHost(BASE, END, B), /ring is empty/);
});

Deno.test("ring reportFree: +1 only when a count changes, wrapped ranges folded", () => {
  const r = ring([[0, A, 1, 128], [128, B, 0, 64], [192, A, 0, 64]]);
  assert.equal(r.reportFree(new Map([[BASE, 100], [BASE + 192, 64]])), true);
  assert.deepStrictEqual(r.entries, entries([[0, A, 2, 100], [128, B, 0, 64], [192, A, 0, 64]]));
  assert.equal(r.reportFree(new Map([[BASE, 100]])), false);
  assert.throws(() => r.reportFree(new Map([[BASE + 128, 1]])), /not our token/);
  assert.throws(() => r.reportFree(new Map([[BASE, 129]])), /129 > range size 128/);
  const wrapped = ring([[64, A, 0, 256]]);
  assert.deepStrictEqual(wrapped.ownedRanges(), [
    { start: BASE, end: BASE + 64 },
    { start: BASE + 64, end: END },
  ]);
  assert.equal(wrapped.reportFree(new Map([[BASE, 10], [BASE + 64, 20]])), true);
  assert.deepStrictEqual(wrapped.entries, entries([[64, A, 1, 30]]));
  assert.throws(() => new Ring(BASE, END, A).reportFree(new Map()), /ring is empty/);
});

Deno.test("ring transfer: +100 versions and the ranges taken over", () => {
  const r = ring([[0, A, 1, 128], [128, B, 3, 64], [192, C, 0, 64]]);
  assert.deepStrictEqual(r.transfer(B, A), [{ start: BASE + 128, end: BASE + 192 }]);
  assert.deepStrictEqual(r.entries, entries([[0, A, 1, 128], [128, A, 103, 64], [192, C, 0, 64]]));
  assert.deepStrictEqual(r.transfer(C, A), [{ start: BASE + 192, end: END }]);
  assert.deepStrictEqual(r.transfer(D, A), []);
  const wrapped = ring([[64, B, 0xfffffff0, 256]]);
  assert.deepStrictEqual(wrapped.transfer(B, A), [
    { start: BASE, end: BASE + 64 },
    { start: BASE + 64, end: END },
  ]);
  assert.equal(wrapped.entries[0].version, 0x54, "uint32 wrap as Go");
});

Deno.test("ring queries: owned ranges, range info, owner, peers, transfer heir", () => {
  const r = ring([[0, A, 1, 10], [64, B, 2, 20], [128, C, 0, 0], [192, D, 0, 5]]);
  assert.deepStrictEqual(r.ownedRanges(B), [{ start: BASE + 64, end: BASE + 128 }]);
  assert.deepStrictEqual(r.allRangeInfo().map((i) => [i.peer, i.range.start - BASE, i.version]), [
    [A, 0, 1],
    [B, 64, 2],
    [C, 128, 0],
    [D, 192, 0],
  ]);
  assert.equal(r.owner(BASE + 63), A);
  assert.equal(r.owner(BASE + 64), B);
  assert.equal(r.owner(END - 1), D);
  assert.throws(() => r.owner(END), RangeError);
  assert.equal(new Ring(BASE, END, A).owner(BASE), 0n);
  assert.deepStrictEqual(r.peerNames(), new Set([A, B, C, D]));
  assert.equal(r.pickPeerForTransfer((p) => p !== B), C);
  assert.equal(r.pickPeerForTransfer(() => false), 0n);
  const shifted = ring([[64, A, 0, 256]]);
  assert.deepStrictEqual(shifted.allRangeInfo().map((i) => i.range), [
    { start: BASE, end: BASE + 64 },
    { start: BASE + 64, end: END },
  ]);
});

Deno.test("ring choosePeersToAskForSpace: others with free space in range, weighted", () => {
  const r = ring([[0, A, 0, 10], [64, B, 0, 20], [128, C, 0, 0], [192, D, 0, 5]]);
  assert.deepStrictEqual(r.choosePeersToAskForSpace(BASE, END, () => 0.5), [B, D]);
  assert.deepStrictEqual(r.choosePeersToAskForSpace(BASE, BASE + 64, () => 0.5), []);
  const draws = [0.1, 0.9];
  assert.deepStrictEqual(r.choosePeersToAskForSpace(BASE + 100, BASE + 200, () => draws.shift()!), [
    D,
    B,
  ]);
});

Deno.test("ring fromData refuses broken rings and copies its input", () => {
  assert.throws(() => ring([[10, A, 0, 1], [5, B, 0, 1]]), { message: "Ring not sorted" });
  const input = data([[0, A, 0, 256]], [A], A);
  const r = Ring.fromData(input);
  (input.entries[0] as RingEntry).free = 1;
  assert.equal(r.entries[0].free, 256);
  assert.equal(r.peer, A);
  assert.throws(() => new Ring(END, BASE, A), RangeError);
});
