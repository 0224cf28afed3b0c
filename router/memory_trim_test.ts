import assert from "node:assert/strict";
import { QUIET_FRAMES, quietEnough, trimTick } from "./memory_trim.ts";

Deno.test("quietEnough: a data path that moved fewer frames than the bound is quiet", () => {
  assert.equal(quietEnough(0, 0), true);
  assert.equal(quietEnough(10, 10 + QUIET_FRAMES - 1), true);
  assert.equal(quietEnough(10, 10 + QUIET_FRAMES), false);
});

Deno.test("trimTick releases memory only after intervals without traffic", () => {
  let frames = 0;
  let released = 0;
  const tick = trimTick(() => frames, () => released++);
  tick();
  assert.equal(released, 1, "idle: released");
  frames += 50_000;
  tick();
  assert.equal(released, 1, "a transfer ran in that interval: not released");
  frames += 10;
  tick();
  assert.equal(released, 2, "the first quiet interval after it: released");
});
