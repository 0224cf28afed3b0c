import assert from "node:assert/strict";
import { discardLogger, memoryLogger } from "../lib/log.ts";
import { ContainerWatch } from "./container_watch.ts";

Deno.test("ContainerWatch.check reports each gone container once and stops watching it", async () => {
  const alive = new Set(["c1", "c2", "c3"]);
  const gone: string[] = [];
  const watch = new ContainerWatch({
    exists: (id) => alive.has(id),
    onGone: (id) => void gone.push(id),
    log: discardLogger,
  });
  for (const id of ["c1", "c2", "c3"]) watch.track(id);
  assert.deepEqual(await watch.check(), []);
  alive.delete("c2");
  alive.delete("c3");
  watch.untrack("c3"); // detached before: not reported
  assert.deepEqual(await watch.check(), ["c2"]);
  assert.deepEqual(await watch.check(), []);
  assert.deepEqual(gone, ["c2"]);
  assert.deepEqual(watch.ids(), ["c1"]);
});

Deno.test("ContainerWatch keeps containers it cannot check and survives failing clean-ups", async () => {
  const log = memoryLogger();
  const watch = new ContainerWatch({
    exists: (id) => {
      if (id === "odd") throw new Error("permission denied");
      return false;
    },
    onGone: () => Promise.reject(new Error("netlink is down")),
    log,
  });
  watch.track("odd");
  watch.track("dead");
  assert.deepEqual(await watch.check(), ["dead"]);
  assert.deepEqual(watch.ids(), ["odd"]);
  const text = log.lines.join("\n");
  assert.match(text, /Cannot tell whether container "odd" exists: permission denied/);
  assert.match(text, /Cannot clean up after container "dead": netlink is down/);
});

Deno.test("ContainerWatch.start checks periodically until stop", async () => {
  let alive = true;
  const gone = Promise.withResolvers<string>();
  const watch = new ContainerWatch({
    exists: () => alive,
    onGone: (id) => gone.resolve(id),
    intervalMs: 10,
    log: discardLogger,
  });
  watch.track("c1");
  watch.start();
  try {
    alive = false;
    assert.equal(await gone.promise, "c1");
  } finally {
    await watch.stop();
  }
});
