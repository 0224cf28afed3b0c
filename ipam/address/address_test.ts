import assert from "node:assert/strict";
import { parseCidr, parseIPv4 } from "../../lib/cidr.ts";
import {
  biggestCidrRange,
  cidrRange,
  formatRange,
  hostRange,
  isUint32,
  newRange,
  rangeAsCidrString,
  rangeContains,
  rangesEqual,
  rangeSize,
  rangesOverlap,
} from "./address.ts";

Deno.test("address: range size, containment, overlap", () => {
  const r = newRange(10, 5);
  assert.deepStrictEqual(r, { start: 10, end: 15 });
  assert.equal(rangeSize(r), 5);
  assert.equal(rangeSize({ start: 5, end: 5 }), 0);
  assert.ok(rangeContains(r, 10) && rangeContains(r, 14) && !rangeContains(r, 15));
  assert.ok(rangesOverlap(r, { start: 14, end: 20 }));
  assert.ok(!rangesOverlap(r, { start: 15, end: 20 }));
  assert.ok(!rangesOverlap(r, { start: 0, end: 10 }));
  assert.ok(rangesEqual(r, { start: 10, end: 15 }));
  assert.ok(isUint32(0xffffffff) && !isUint32(2 ** 32) && !isUint32(-1) && !isUint32(1.5));
});

Deno.test("address: formatting as Go prints ranges", () => {
  const r = { start: parseIPv4("10.32.0.0"), end: parseIPv4("10.48.0.0") };
  assert.equal(formatRange(r), "10.32.0.0-10.47.255.255");
  assert.equal(rangeAsCidrString(r), "10.32.0.0/12");
  assert.equal(rangeAsCidrString({ start: 7, end: 8 }), "0.0.0.7/32");
  assert.equal(rangeAsCidrString({ start: 0, end: 3 }), "0.0.0.0-0.0.0.2");
});

Deno.test("address: cidrRange and hostRange exclude network and broadcast", () => {
  assert.deepStrictEqual(cidrRange(parseCidr("10.32.0.0/24")), {
    start: parseIPv4("10.32.0.0"),
    end: parseIPv4("10.32.1.0"),
  });
  assert.deepStrictEqual(hostRange(parseCidr("10.32.0.0/24")), {
    start: parseIPv4("10.32.0.1"),
    end: parseIPv4("10.32.0.255"),
  });
  assert.deepStrictEqual(hostRange(parseCidr("0.0.0.0/0")), { start: 1, end: 0xffffffff });
  for (const c of ["10.0.0.0/31", "10.0.0.0/32"]) {
    assert.equal(rangeSize(hostRange(parseCidr(c))), 0);
  }
});

Deno.test("address: biggestCidrRange picks Go's aligned block", () => {
  const cases: [number, number, number, number][] = [
    // start, end → expected start, end
    [0, 8, 0, 8],
    [3, 8, 4, 8],
    [3, 7, 4, 6],
    [1, 5, 2, 4],
    [5, 6, 5, 6],
    [6, 13, 8, 12],
    [0x0a200001, 0x0a2000ff, 0x0a200040, 0x0a200080],
    [0, 2 ** 32, 0, 2 ** 32],
  ];
  for (const [s, e, ws, we] of cases) {
    const got = biggestCidrRange({ start: s, end: e });
    assert.deepStrictEqual(got, { start: ws, end: we }, `${s}-${e}`);
    const size = rangeSize(got);
    assert.equal(got.start % size, 0, "aligned");
    assert.ok(got.start >= s && got.end <= e, "inside");
  }
});
