import assert from "node:assert/strict";
import { FakeClock } from "../../lib/fake_clock.ts";
import { MIN_MTU, PmtuSearch } from "./pmtu.ts";

/** A search whose remote answers every test of at most `pathLimit` bytes at once. */
function rig(pathLimit: number, attempts = 3) {
  const clock = new FakeClock();
  const tests: number[] = [];
  const verified: number[] = [];
  const search: PmtuSearch = new PmtuSearch({
    clock,
    timing: { mtuVerifyTimeoutMs: 10, mtuVerifyAttempts: attempts },
    sendTest: (n) => {
      tests.push(n);
      if (n <= pathLimit) queueMicrotask(() => search.onVerified(n));
    },
    verified: (n) => verified.push(n),
  });
  return { clock, tests, verified, search };
}

const settle = async (clock: FakeClock, rounds = 200) => {
  for (let i = 0; i < rounds; i++) {
    await Promise.resolve();
    clock.advance(10);
  }
};

Deno.test("PmtuSearch finds the largest size that gets through by bisection", async () => {
  const { clock, tests, verified, search } = rig(1400);
  assert.ok(search.wants(1438));
  search.begin(1438);
  assert.equal(tests[0], 1438, "the kernel's value is tried first");
  assert.equal(search.wants(1500), false, "a larger candidate does not restart it");
  await settle(clock);
  assert.deepEqual(verified, [1400]);
  assert.equal(clock.pending, 0, "no timer left");
  assert.ok(tests.length < 40, `${tests.length} tests`);
});

Deno.test("PmtuSearch retries each candidate with doubling waits, then gives up on it", () => {
  const { clock, tests, verified, search } = rig(0, 3);
  search.begin(600);
  clock.advance(10 + 20 - 1);
  assert.deepEqual(tests, [600, 600], "retried after 10 ms, next wait 20 ms");
  clock.advance(1);
  assert.deepEqual(tests, [600, 600, 600]);
  clock.advance(100_000);
  assert.deepEqual(verified, [MIN_MTU], "nothing answered: the floor");
  assert.equal(clock.pending, 0);
});

Deno.test("PmtuSearch ignores answers for other sizes and stops without a result", () => {
  const { clock, verified, search } = rig(0);
  search.begin(1000);
  search.onVerified(999);
  search.stop();
  assert.equal(clock.pending, 0);
  clock.advance(100_000);
  assert.deepEqual(verified, []);
  assert.ok(search.wants(2000), "a stopped search may start again");
});
