import assert from "node:assert/strict";
import {
  fastdpDecision,
  REASON_DISABLED,
  REASON_ENABLED,
  REASON_NO_ESP,
  REASON_NO_IPSEC,
} from "./decision.ts";

Deno.test("fastdpDecision table", () => {
  const rows: [boolean, boolean, boolean, boolean, string, string][] = [
    // password, noFastdp, esp -> enabled, reason, brief
    [false, false, false, true, REASON_ENABLED, "on"],
    [false, false, true, true, REASON_ENABLED, "on"],
    [false, true, true, false, REASON_DISABLED, "off: --no-fastdp"],
    [true, true, false, false, REASON_DISABLED, "off: --no-fastdp"],
    [true, false, false, false, REASON_NO_ESP, "off: kernel lacks IPsec ESP"],
    [true, false, true, false, REASON_NO_IPSEC, "off: encrypted fastdp not implemented"],
  ];
  for (const [password, noFastdp, esp, enabled, reason, brief] of rows) {
    assert.deepEqual(
      fastdpDecision({ password, noFastdp, esp }),
      { enabled, reason, brief },
      JSON.stringify({ password, noFastdp, esp }),
    );
  }
  assert.match(REASON_NO_ESP, /IPsec ESP.*CONFIG_INET_ESP.*encrypted sleeve/);
});

Deno.test("fastdpDecision probes ESP only when a password is set", () => {
  let probes = 0;
  const esp = () => {
    probes++;
    return false;
  };
  assert.equal(fastdpDecision({ password: false, noFastdp: false, esp }).enabled, true);
  assert.equal(fastdpDecision({ password: true, noFastdp: true, esp }).enabled, false);
  assert.equal(probes, 0);
  assert.equal(fastdpDecision({ password: true, noFastdp: false, esp }).reason, REASON_NO_ESP);
  assert.equal(probes, 1);
});
