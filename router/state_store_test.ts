import assert from "node:assert/strict";
import { loadState, parseState, saveState, StateCorruptError, statePath } from "./state_store.ts";

Deno.test("saveState then loadState round trips, atomically replacing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = statePath(`${dir}/sub/weave`);
    assert.equal(await loadState(path), undefined);
    await saveState(path, { peerName: "02:00:00:00:00:01" });
    await saveState(path, { peerName: "02:00:00:00:00:02" });
    assert.deepEqual(await loadState(path), { peerName: "02:00:00:00:00:02" });
    const leftovers = [...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name);
    assert.deepEqual(leftovers, ["weavedata.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a truncated or foreign state file is reported, never used", () => {
  const good = JSON.stringify({ format: "weave-state-v1", state: { peerName: "x" } });
  for (let n = 0; n < good.length; n++) {
    assert.throws(() => parseState("f", good.slice(0, n)), StateCorruptError, `cut at ${n}`);
  }
  assert.throws(() => parseState("f", "{}"), /missing format marker/);
  assert.throws(() => parseState("f", '{"format":"weave-state-v1"}'), /no state object/);
  assert.deepEqual(parseState("f", good), { peerName: "x" });
});
