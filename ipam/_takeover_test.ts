import assert from "node:assert/strict";
import type { RingData, RingEntry } from "./ring/mod.ts";
import {
  bumpVersions,
  entryRanges,
  freeByToken,
  ownedRangesExcept,
  resolveTakeovers,
} from "./_takeover.ts";

const A = 1n, B = 2n, C = 3n;
const e = (token: number, peer: bigint, version: number, free = 4): RingEntry => ({
  token,
  peer,
  version,
  free,
});
const ring = (peer: bigint, entries: RingEntry[]): RingData => ({
  start: 0,
  end: 16,
  peer,
  entries,
  seeds: [A, B, C],
});

Deno.test("entryRanges: the last entry wraps round to the first token", () => {
  const r = ring(A, [e(4, A, 0), e(8, B, 0), e(12, C, 0)]);
  assert.deepEqual(entryRanges(r, 0), [{ start: 4, end: 8 }]);
  assert.deepEqual(entryRanges(r, 2), [{ start: 0, end: 4 }, { start: 12, end: 16 }]);
  assert.deepEqual(ownedRangesExcept(r, C, new Set()), [{ start: 0, end: 4 }, {
    start: 12,
    end: 16,
  }]);
  assert.deepEqual(ownedRangesExcept(r, C, new Set([12])), []);
  assert.deepEqual(freeByToken(r, A, new Map(), (x) => x.end - x.start - 1), new Map([[4, 3]]));
});

Deno.test("resolveTakeovers: table of (ours, incoming) → outcome for a token taken from C", () => {
  const dead = new Map([[8, C]]);
  const cases: {
    name: string;
    mine: RingEntry;
    theirs: RingEntry;
    us: bigint;
    owner: bigint;
    released: number;
    kept: number;
  }[] = [
    {
      name: "tie, their name larger: yield",
      us: A,
      mine: e(8, A, 100),
      theirs: e(8, B, 100),
      owner: B,
      released: 1,
      kept: 0,
    },
    {
      name: "tie, our name larger: keep",
      us: B,
      mine: e(8, B, 100),
      theirs: e(8, A, 100),
      owner: B,
      released: 0,
      kept: 1,
    },
    {
      name: "their version higher: yield",
      us: B,
      mine: e(8, B, 100),
      theirs: e(8, A, 101),
      owner: A,
      released: 1,
      kept: 0,
    },
    {
      name: "their version lower: left to the merge",
      us: A,
      mine: e(8, A, 101),
      theirs: e(8, B, 100),
      owner: A,
      released: 0,
      kept: 0,
    },
    {
      name: "stale copy of the dead peer: left to the merge",
      us: A,
      mine: e(8, A, 100),
      theirs: e(8, C, 0),
      owner: A,
      released: 0,
      kept: 0,
    },
  ];
  for (const c of cases) {
    const ours = ring(c.us, [e(0, A, 1), c.mine]);
    const incoming = ring(c.us === A ? B : A, [e(0, A, 1), c.theirs]);
    const res = resolveTakeovers(ours, incoming, c.us, dead);
    assert.equal(res.released.length, c.released, c.name);
    assert.equal(res.kept.length, c.kept, c.name);
    if (c.released) assert.equal(res.ours.entries[1].peer, c.owner, c.name);
    else if (c.kept) assert.equal(res.incoming.entries[1].peer, c.owner, c.name);
    else {
      assert.deepEqual(res.ours.entries, ours.entries, c.name);
      assert.deepEqual(res.incoming.entries, incoming.entries, c.name);
    }
  }
  const untouched = ring(A, [e(0, A, 1), e(8, A, 100)]);
  assert.equal(resolveTakeovers(untouched, untouched, A, new Map()).ours, untouched);
});

Deno.test("bumpVersions: only our entries at the given tokens", () => {
  const r = ring(A, [e(0, A, 1), e(8, A, 100), e(12, B, 5)]);
  assert.deepEqual(bumpVersions(r, A, [8, 12]).entries.map((x) => x.version), [1, 101, 5]);
});
