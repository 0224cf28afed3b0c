import assert from "node:assert/strict";
import { formatMac, MacAdd, MacCache, macKey } from "./mac_cache.ts";

const M1 = 0x0a0000000001;
const M2 = 0x0a0000000002;
const P1 = 0x020000000001n;
const P2 = 0x020000000002n;

function clocked(maxAgeMs = 1000) {
  const clock = { t: 5000 };
  return { clock, cache: new MacCache({ maxAgeMs, now: () => clock.t }) };
}

Deno.test("macKey and formatMac read and print 48-bit MACs at an offset", () => {
  const bytes = Uint8Array.of(9, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa);
  assert.equal(macKey(bytes, 1), 0xffeeddccbbaa);
  assert.equal(formatMac(macKey(bytes, 1)), "ff:ee:dd:cc:bb:aa");
  assert.equal(formatMac(0x0180c2000000), "01:80:c2:00:00:00");
  assert.equal(formatMac(1), "00:00:00:00:00:01");
});

Deno.test("MacCache learns, reports known, refuses a conflicting plain add", () => {
  const { cache } = clocked();
  assert.equal(cache.add(M1, P1), MacAdd.New);
  assert.equal(cache.add(M1, P1), MacAdd.Known);
  assert.equal(cache.lookup(M1), P1);
  assert.equal(cache.lookup(M2), undefined);
  assert.equal(cache.add(M1, P2), MacAdd.Conflict);
  assert.equal(cache.previous, P1);
  assert.equal(cache.lookup(M1), P1, "a plain add leaves it where it was");
});

Deno.test("MacCache moves a MAC on a forced add and remembers where it was", () => {
  const { cache } = clocked();
  assert.equal(cache.addForced(M1, P1), MacAdd.New);
  assert.equal(cache.addForced(M1, P2), MacAdd.Moved);
  assert.equal(cache.previous, P1);
  assert.equal(cache.lookup(M1), P2);
  assert.equal(cache.addForced(M1, P2), MacAdd.Known);
});

Deno.test("MacCache expires entries after the maximum age, refreshing at most every tenth", () => {
  const { clock, cache } = clocked(1000);
  cache.add(M1, P1);
  cache.add(M2, P2);
  clock.t += 50;
  cache.add(M1, P1); // within a tenth: lastSeen stays 5000
  assert.equal(cache.entries()[0].lastSeen, 5000);
  clock.t += 60;
  cache.add(M1, P1); // past a tenth: refreshed to 5110
  assert.equal(cache.entries()[0].lastSeen, 5110);
  clock.t = 6001;
  assert.equal(cache.lookup(M2), undefined, "expired entries are not found before the sweep");
  assert.equal(cache.lookup(M1), P1);
  assert.deepEqual(cache.expire(), [{ mac: M2, peer: P2, lastSeen: 5000 }]);
  assert.equal(cache.size, 1);
  clock.t = 7000;
  assert.equal(cache.add(M1, P2), MacAdd.New, "an expired entry is replaced, not a conflict");
  assert.equal(cache.lookup(M1), P2);
});

Deno.test("MacCache deletePeer purges only that peer's MACs", () => {
  const { cache } = clocked();
  cache.add(M1, P1);
  cache.add(M2, P2);
  cache.add(3, P1);
  assert.equal(cache.deletePeer(P1), 2);
  assert.deepEqual(cache.entries().map((e) => e.mac), [M2]);
  assert.equal(cache.deletePeer(P1), 0);
});
