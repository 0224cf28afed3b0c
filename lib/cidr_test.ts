import assert from "node:assert/strict";
import { formatCidr, formatIPv4, ipInSubnets, parseCidr, parseIPv4 } from "./cidr.ts";

Deno.test("parseIPv4 and formatIPv4 round trip", () => {
  assert.equal(parseIPv4("10.32.0.1"), 0x0a200001);
  assert.equal(parseIPv4("255.255.255.255"), 0xffffffff);
  assert.equal(formatIPv4(0xc0000201), "192.0.2.1");
  for (const bad of ["", "1.2.3", "1.2.3.256", "a.b.c.d", "1.2.3.4.5", "01234.1.1.1"]) {
    assert.throws(() => parseIPv4(bad), SyntaxError, bad);
  }
});

Deno.test("parseCidr clears host bits and validates", () => {
  assert.equal(formatCidr(parseCidr("10.32.1.7/12")), "10.32.0.0/12");
  assert.equal(formatCidr(parseCidr("0.0.0.0/0")), "0.0.0.0/0");
  assert.equal(formatCidr(parseCidr("192.0.2.9/32")), "192.0.2.9/32");
  for (const bad of ["10.0.0.0", "10.0.0.0/33", "10.0.0/8", "/8"]) {
    assert.throws(() => parseCidr(bad), SyntaxError, bad);
  }
});

Deno.test("ipInSubnets matches prefixes", () => {
  const nets = [parseCidr("192.0.2.0/24"), parseCidr("10.0.0.0/8")];
  assert.ok(ipInSubnets("192.0.2.200", nets));
  assert.ok(ipInSubnets("10.9.9.9", nets));
  assert.ok(!ipInSubnets("192.0.3.1", nets));
  assert.ok(!ipInSubnets("::1", nets));
  assert.ok(ipInSubnets("8.8.8.8", [parseCidr("0.0.0.0/0")]));
  assert.ok(!ipInSubnets("8.8.8.8", []));
});
