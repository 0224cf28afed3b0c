import assert from "node:assert/strict";
import { Persister } from "./_persister.ts";

Deno.test("Persister: one save at a time; waiters released by the first save that covers them", async () => {
  const started: number[] = [];
  const finish: (() => void)[] = [];
  let state = 0;
  const p = new Persister(() => {
    started.push(state);
    return new Promise<void>((resolve) => finish.push(resolve));
  });
  assert.equal(p.dirty, false);
  await p.whenDurable();
  state = 1;
  p.markDirty();
  const first = p.whenDurable();
  assert.deepEqual(started, [], "the save starts at the end of the task");
  await Promise.resolve();
  assert.deepEqual(started, [1]);
  state = 2;
  p.markDirty(); // during save 1
  const second = p.whenDurable();
  let firstDone = false, secondDone = false;
  first.then(() => (firstDone = true));
  second.then(() => (secondDone = true));
  finish[0]();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(firstDone, true);
  assert.equal(secondDone, false);
  assert.deepEqual(started, [1, 2]);
  finish[1]();
  await second;
  assert.equal(p.dirty, false);
});

Deno.test("Persister: a failed save rejects its waiters, the next change retries", async () => {
  let fail = true;
  let saves = 0;
  const p = new Persister(() => {
    saves++;
    return fail ? Promise.reject(new Error("disk full")) : Promise.resolve();
  });
  p.markDirty();
  await assert.rejects(p.whenDurable(), /disk full/);
  fail = false;
  p.markDirty();
  await p.whenDurable();
  assert.equal(saves, 2);
});

Deno.test("Persister: the changes of one task share one save", async () => {
  const started: number[] = [];
  let state = 0;
  const p = new Persister(() => {
    started.push(state);
    return Promise.resolve();
  });
  for (state = 1; state <= 5; state++) p.markDirty();
  await p.whenDurable();
  assert.deepEqual(started, [6]);
});
