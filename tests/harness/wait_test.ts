import assert from "node:assert/strict";
import { waitFor } from "./wait.ts";

Deno.test("waitFor: resolves once the probe returns true", async () => {
  let calls = 0;
  await waitFor(() => ++calls === 3 || `call ${calls}`, { what: "third call", intervalMs: 1 });
  assert.equal(calls, 3);
});

Deno.test("waitFor: times out naming what and the last observed value", async () => {
  let n = 0;
  await assert.rejects(
    waitFor(() => `state ${++n}`, { what: "the mesh", timeoutMs: 50, intervalMs: 10 }),
    (e: Error) => {
      assert.match(e.message, /^Cannot wait for the mesh: timed out after 50 ms; last observed: /);
      assert.ok(e.message.endsWith(`"state ${n}"`), e.message);
      return true;
    },
  );
});

Deno.test("waitFor: a throwing probe is retried and its error is the observed value", async () => {
  let calls = 0;
  await waitFor(async () => {
    await Promise.resolve();
    if (++calls < 3) throw new Error("not yet");
    return true;
  }, { what: "recovery", intervalMs: 1 });
  assert.equal(calls, 3);
  await assert.rejects(
    waitFor(() => {
      throw new Error("router down");
    }, { what: "status", timeoutMs: 20, intervalMs: 5 }),
    /last observed: "error: router down"/,
  );
});

Deno.test("waitFor: truthy values other than true do not count as done", async () => {
  await assert.rejects(
    waitFor(() => ({ established: 1, wanted: 2 }), { what: "2", timeoutMs: 20, intervalMs: 5 }),
    /last observed: \{"established":1,"wanted":2\}/,
  );
});

Deno.test("waitFor: multi-line observed text is shown on its own lines", async () => {
  await assert.rejects(
    waitFor(() => "h1: 1\nh2: 0", { what: "hosts", timeoutMs: 10, intervalMs: 5 }),
    /last observed: \nh1: 1\nh2: 0$/,
  );
});
