import assert from "node:assert/strict";
import { dnsListenPlan } from "./weave_dns.ts";

Deno.test("dnsListenPlan: by default the restricted bridge address plus loopback", () => {
  assert.deepEqual(dnsListenPlan(""), {
    advertised: "169.254.53.1:53",
    restricted: true,
    also: ["127.0.0.1:53"],
    containerAddress: "169.254.53.1",
  });
});

Deno.test("dnsListenPlan: --dns-listen-address replaces both, unrestricted", () => {
  assert.deepEqual(dnsListenPlan("0.0.0.0:53"), {
    advertised: "0.0.0.0:53",
    restricted: false,
    also: [],
    containerAddress: "169.254.53.1",
  });
  assert.equal(dnsListenPlan("10.32.0.1:53").containerAddress, "10.32.0.1");
  assert.equal(dnsListenPlan("127.0.0.1:5353").containerAddress, undefined);
  assert.equal(dnsListenPlan("[::1]:53").containerAddress, undefined);
  assert.throws(() => dnsListenPlan("nonsense"), SyntaxError);
});
