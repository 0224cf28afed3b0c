import assert from "node:assert/strict";
import { hostVethName } from "./veth.ts";

Deno.test("hostVethName is vethwepl plus 7 hex digits, stable and distinct", () => {
  const a = hostVethName("c1");
  assert.match(a, /^vethwepl[0-9a-f]{7}$/);
  assert.equal(hostVethName("c1"), a);
  assert.notEqual(hostVethName("c2"), a);
  assert.notEqual(hostVethName("pid:1"), hostVethName("pid:2"));
});
