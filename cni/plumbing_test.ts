import assert from "node:assert/strict";
import { hostVethName } from "./plumbing.ts";

Deno.test("hostVethName is vethwepl and the first 7 characters of the container id", () => {
  const table: [string, string][] = [
    ["4b0c1d2e3f405162738495a6b7c8d9e0", "vethwepl4b0c1d2"],
    ["abcdefg", "vethweplabcdefg"],
    ["ab", "vethweplab"],
    ["pod_1.a-b", "vethweplpod_1.a"],
  ];
  for (const [id, want] of table) {
    assert.equal(hostVethName(id), want);
    assert.ok(hostVethName(id).length <= 15, "fits IFNAMSIZ");
  }
});
