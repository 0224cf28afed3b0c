import assert from "node:assert/strict";
import { FakeClock } from "./fake_clock.ts";

Deno.test("FakeClock fires timeouts and intervals in time order, only when advanced", () => {
  const clock = new FakeClock();
  const seen: string[] = [];
  clock.setTimeout(() => seen.push(`t@${clock.now}`), 150);
  const every = clock.setInterval(() => seen.push(`i@${clock.now}`), 100);
  const gone = clock.setTimeout(() => seen.push("cleared"), 50);
  clock.clearTimeout(gone);
  assert.deepEqual(seen, []);
  clock.advance(250);
  assert.deepEqual(seen, ["i@100", "t@150", "i@200"]);
  assert.equal(clock.now, 250);
  assert.equal(clock.pending, 1, "the interval stays");
  clock.clearInterval(every);
  clock.advance(1000);
  assert.equal(seen.length, 3);
  assert.equal(clock.pending, 0);
});

Deno.test("FakeClock fires a timeout set by a firing timer within the same advance", () => {
  const clock = new FakeClock();
  const seen: number[] = [];
  clock.setTimeout(() => clock.setTimeout(() => seen.push(clock.now), 10), 10);
  clock.advance(25);
  assert.deepEqual(seen, [20]);
});
