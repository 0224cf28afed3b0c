import assert from "node:assert/strict";
import { writeFileAtomic } from "./atomic_file.ts";

Deno.test("writeFileAtomic creates, replaces and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/a/b/state.json`;
    await writeFileAtomic(path, "one");
    await writeFileAtomic(path, "two");
    assert.equal(await Deno.readTextFile(path), "two");
    assert.deepEqual([...Deno.readDirSync(`${dir}/a/b`)].map((e) => e.name), ["state.json"]);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
