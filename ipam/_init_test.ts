import assert from "node:assert/strict";
import { parseAddressCidr, parseIpamInit, parseSubnet } from "./_init.ts";

Deno.test("parseIpamInit: the three modes and their errors", () => {
  assert.deepEqual(parseIpamInit(""), { mode: "consensus" });
  assert.deepEqual(parseIpamInit("consensus"), { mode: "consensus" });
  assert.deepEqual(parseIpamInit("consensus=5"), { mode: "consensus", count: 5 });
  assert.deepEqual(parseIpamInit("observer"), { mode: "observer" });
  assert.deepEqual(parseIpamInit("seed=02:00:00:00:00:01,02:00:00:00:00:02"), {
    mode: "seed",
    seeds: [0x020000000001n, 0x020000000002n],
  });
  for (const bad of ["consensus=0", "consensus=x", "seed=", "seed=nothex", "elect"]) {
    assert.throws(() => parseIpamInit(bad), /Cannot parse --ipalloc-init/);
  }
});

Deno.test("parseSubnet: Go's checks and messages", () => {
  assert.deepEqual(parseSubnet("10.32.0.0/12"), { network: 0x0a200000, prefix: 12 });
  assert.throws(
    () => parseSubnet("10.32.0.1/12"),
    /bits after network prefix are not all zero: 10.32.0.1\/12/,
  );
  assert.throws(() => parseSubnet("10.32.0.0/31"), /smaller than minimum size 4/);
  assert.throws(() => parseSubnet("10.32.0.0"), /invalid CIDR address/);
  assert.throws(() => parseSubnet("10.32.0.300/24"), /invalid CIDR address/);
  assert.deepEqual(parseAddressCidr("10.32.0.7/12"), { addr: 0x0a200007, prefix: 12 });
  assert.throws(() => parseAddressCidr("10.32.0.7/33"), /invalid CIDR address/);
});
