import assert from "node:assert/strict";
import { fileRecords } from "./records.ts";

Deno.test("fileRecords writes, lists (sorted, skipping junk) and removes records", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const records = fileRecords(`${dir}/cni`);
    assert.deepEqual(records.list(), [], "no directory yet");
    const b = {
      containerId: "b2",
      netns: "/proc/2/ns/net",
      ifname: "eth0",
      hostVeth: "vethweplb2",
    };
    const a = {
      containerId: "a1",
      netns: "/proc/1/ns/net",
      ifname: "eth0",
      hostVeth: "vethwepla1",
    };
    records.write(b);
    records.write(a);
    records.write({ ...a, ifname: "net1" });
    await Deno.writeTextFile(`${dir}/cni/junk.json`, "{");
    assert.deepEqual(records.list(), [{ ...a, ifname: "net1" }, b]);
    records.remove("a1");
    records.remove("a1");
    assert.deepEqual(records.list(), [b]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
