import assert from "node:assert/strict";

Deno.test("releaseFreedMemory gives memory malloc kept after a burst back to the system", async () => {
  const child = new URL("./_memory_child.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-ffi", "--v8-flags=--expose-gc", child],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(r.returned, true);
  // About 80 MB were allocated and freed; without the trim RSS stays where the burst left it.
  assert.ok(r.freed - r.trimmed >= 40, `RSS ${r.freed} MB after free, ${r.trimmed} MB after trim`);
  assert.ok(r.heapBefore - r.heapAfter >= 5, `V8 heap ${r.heapBefore} -> ${r.heapAfter} MB`);
});
