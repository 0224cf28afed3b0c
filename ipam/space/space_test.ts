import assert from "node:assert/strict";
import { parseCidr, parseIPv4 } from "../../lib/cidr.ts";
import { hostRange } from "../address/mod.ts";
import { Space } from "./space.ts";

const ip = parseIPv4;

Deno.test("space: allocate takes the lowest free address of the host range", () => {
  const s = new Space();
  s.add(ip("10.32.0.0"), 256);
  const subnet = hostRange(parseCidr("10.32.0.0/24"));
  assert.equal(s.allocate(subnet), ip("10.32.0.1"), "network address skipped");
  assert.equal(s.allocate(subnet), ip("10.32.0.2"));
  s.free(ip("10.32.0.1"));
  assert.equal(s.allocate(subnet), ip("10.32.0.1"), "freed address reused first");
  assert.equal(s.numAllocatedAddresses(), 2);
  assert.equal(s.numFreeAddresses(), 254);
  assert.equal(s.allocate({ start: ip("10.33.0.0"), end: ip("10.34.0.0") }), undefined);
  assert.equal(s.allocate({ start: 5, end: 5 }), undefined, "empty range");
});

Deno.test("space: a /30 yields exactly its two host addresses, never broadcast", () => {
  const s = new Space();
  s.add(ip("10.0.0.0"), 4);
  const r = hostRange(parseCidr("10.0.0.0/30"));
  assert.deepStrictEqual([s.allocate(r), s.allocate(r), s.allocate(r)], [
    ip("10.0.0.1"),
    ip("10.0.0.2"),
    undefined,
  ]);
  assert.ok(s.isFree(ip("10.0.0.0")) && s.isFree(ip("10.0.0.3")));
});

Deno.test("space: claim and free check ownership", () => {
  const s = new Space();
  s.add(100, 10);
  s.claim(105);
  assert.ok(s.isAllocated(105) && !s.isFree(105));
  assert.throws(() => s.claim(105), /Cannot claim address 0\.0\.0\.105: it is not free/);
  assert.throws(() => s.claim(200), /not free/);
  assert.throws(() => s.free(104), /Cannot free address 0\.0\.0\.104: it is not allocated here/);
  s.free(105);
  assert.throws(() => s.free(105), /not allocated/);
  assert.equal(s.numFreeAddresses(), 10);
  assert.deepStrictEqual(s.freeRanges(), [{ start: 100, end: 110 }], "runs coalesce again");
});

Deno.test("space: counts in range, owned ranges, updateRanges, hasAllocationsIn, clear", () => {
  const s = new Space();
  s.addRanges([{ start: 0, end: 16 }, { start: 32, end: 48 }]);
  s.claim(3);
  s.claim(40);
  assert.equal(s.numFreeAddressesInRange({ start: 0, end: 36 }), 15 + 4);
  assert.deepStrictEqual(s.ownedRanges(), [{ start: 0, end: 16 }, { start: 32, end: 48 }]);
  assert.ok(s.hasAllocationsIn([{ start: 40, end: 41 }]));
  assert.ok(!s.hasAllocationsIn([{ start: 4, end: 40 }]));
  s.updateRanges([{ start: 0, end: 64 }]);
  assert.deepStrictEqual(s.ownedRanges(), [{ start: 0, end: 64 }]);
  assert.ok(s.isAllocated(3) && s.isAllocated(40), "allocations kept");
  assert.equal(s.numFreeAddresses(), 62);
  assert.deepStrictEqual(s.allocatedRanges(), [{ start: 3, end: 4 }, { start: 40, end: 41 }]);
  s.clear();
  assert.deepStrictEqual(s.ownedRanges(), []);
});

Deno.test("space: donate gives the biggest aligned block, or its upper half", () => {
  const cases: {
    name: string;
    free: [number, number][];
    claim?: number[];
    request: [number, number];
    given?: [number, number];
  }[] = [
    { name: "all free: upper half", free: [[0, 256]], request: [0, 256], given: [128, 256] },
    {
      name: "request narrower than space: half of the request's block",
      free: [[0, 1024]],
      request: [256, 512],
      given: [384, 512],
    },
    {
      name: "block not more than half of free space: whole block",
      free: [[0, 64], [128, 160], [200, 232]],
      request: [0, 256],
      given: [0, 64],
    },
    {
      name: "fragmented: the later of equal blocks, whole",
      free: [[0, 8], [16, 24], [32, 40]],
      request: [0, 64],
      given: [32, 40],
    },
    {
      name: "one address left: that address",
      free: [[7, 8]],
      request: [0, 64],
      given: [7, 8],
    },
    { name: "nothing free in range", free: [[0, 8]], request: [8, 64] },
    { name: "everything allocated", free: [[0, 2]], claim: [0, 1], request: [0, 64] },
  ];
  for (const c of cases) {
    const s = new Space();
    for (const [a, b] of c.free) s.add(a, b - a);
    for (const a of c.claim ?? []) s.claim(a);
    const before = s.numFreeAddresses();
    const got = s.donate({ start: c.request[0], end: c.request[1] });
    if (!c.given) {
      assert.equal(got, undefined, c.name);
      continue;
    }
    assert.deepStrictEqual(got, { start: c.given[0], end: c.given[1] }, c.name);
    assert.equal(s.numFreeAddresses(), before - (c.given[1] - c.given[0]), `${c.name}: removed`);
    assert.ok(!s.isFree(c.given[0]) && !s.isAllocated(c.given[0]), `${c.name}: not ours`);
  }
});

Deno.test("space: the capture's donations (h3 gives h2 10.44.0.0/14, h1 gives h3 10.32.0.192/26)", () => {
  const h3 = new Space();
  h3.add(ip("10.40.0.0"), 1 << 19);
  assert.deepStrictEqual(h3.donate({ start: ip("10.32.0.0"), end: ip("10.48.0.0") }), {
    start: ip("10.44.0.0"),
    end: ip("10.48.0.0"),
  });
  const h1 = new Space();
  h1.add(ip("10.32.0.0"), 1 << 19);
  h1.claim(ip("10.32.0.1"));
  assert.deepStrictEqual(h1.donate({ start: ip("10.32.0.0"), end: ip("10.32.1.0") }), {
    start: ip("10.32.0.192"),
    end: ip("10.32.1.0"),
  });
});
