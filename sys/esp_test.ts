import assert from "node:assert/strict";
import {
  ESP_AEAD,
  IPPROTO_ESP,
  probeEsp,
  XFRM_MSG_DELSA,
  XFRM_MSG_NEWSA,
  xfrmDelSaMessage,
  xfrmNewSaMessage,
} from "./esp.ts";
import { withNetns } from "./netns.ts";
import { netnsSkipReason, randomPrefix } from "../tests/harness/netns.ts";
import { run, runOk } from "../tests/harness/exec.ts";

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));

/**
 * What `ip xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x1234 mode transport aead
 * 'rfc4106(gcm(aes))' 0x0102…24 128` (iproute2 6.1) sent, captured with strace; the 4 sequence
 * bytes (offset 8) are zeroed.
 */
const IP_XFRM_NEWSA = hex(
  "60010000100005000000000000000000" + "00".repeat(56) +
    "c0000202" + "00".repeat(12) + "00001234" + "32000000" +
    "c0000201" + "00".repeat(12) + "ff".repeat(32) + "00".repeat(32) + "00".repeat(32) +
    "00".repeat(12) + "00000000" + "00000000" + "0200" + "00" + "00" + "00" + "00".repeat(7) +
    "70001200" + "726663343130362867636d2861657329290000000000" + "00".repeat(42) +
    "20010000" + "80000000" +
    "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324",
);

Deno.test("xfrmNewSaMessage matches the bytes ip xfrm sends", () => {
  const key = Uint8Array.from({ length: 36 }, (_, i) => i + 1);
  const msg = xfrmNewSaMessage(
    { src: "192.0.2.1", dst: "192.0.2.2", spi: 0x1234, key, icvBits: 128 },
    0,
  );
  assert.equal(msg.length, 352);
  assert.deepEqual(msg, IP_XFRM_NEWSA);
  assert.equal(msg[4], XFRM_MSG_NEWSA);
});

Deno.test("xfrmNewSaMessage writes the sequence number and checks its input", () => {
  const sa = { src: "10.0.0.1", dst: "10.0.0.2", spi: 0x100, key: new Uint8Array(20), icvBits: 64 };
  const msg = xfrmNewSaMessage(sa, 0x01020304);
  assert.deepEqual([...msg.subarray(8, 12)], [4, 3, 2, 1]);
  assert.equal(new TextDecoder().decode(msg.subarray(244, 244 + ESP_AEAD.length)), ESP_AEAD);
  assert.throws(() => xfrmNewSaMessage({ ...sa, spi: 255 }, 1), RangeError);
  assert.throws(() => xfrmNewSaMessage({ ...sa, spi: 2 ** 32 }, 1), RangeError);
  assert.throws(() => xfrmNewSaMessage({ ...sa, aead: "x".repeat(64) }, 1), RangeError);
  assert.throws(() => xfrmNewSaMessage({ ...sa, src: "10.0.0" }, 1));
});

Deno.test("xfrmDelSaMessage encodes struct xfrm_usersa_id", () => {
  const msg = xfrmDelSaMessage({ dst: "192.0.2.2", spi: 0x1234 }, 7);
  assert.deepEqual(
    msg,
    hex(
      "28000000110005000700000000000000" + "c0000202" + "00".repeat(12) + "00001234" +
        "0200" + "32" + "00",
    ),
  );
  assert.equal(msg[4], XFRM_MSG_DELSA);
  assert.equal(msg[38], IPPROTO_ESP);
  assert.throws(() => xfrmDelSaMessage({ dst: "192.0.2.2", spi: 0 }, 1), RangeError);
});

const skip = netnsSkipReason();

Deno.test({
  name: `probeEsp agrees with ip xfrm in a scratch namespace${skip ? ` (ignored: ${skip})` : ""}`,
  ignore: skip !== undefined,
  fn: async () => {
    const ns = `${randomPrefix()}esp`;
    await runOk(["ip", "netns", "add", ns]);
    try {
      const probe = withNetns(ns, () => probeEsp());
      const ip = await run([
        ...["ip", "netns", "exec", ns, "ip", "xfrm", "state", "add", "src", "192.0.2.9"],
        ...["dst", "192.0.2.10", "proto", "esp", "spi", "0x4321", "mode", "transport"],
        ...["aead", ESP_AEAD, `0x${"11".repeat(36)}`, "128"],
      ]);
      assert.equal(probe.supported, ip.code === 0, `${probe.reason} / ${ip.stderr}`);
      if (!probe.supported) assert.match(probe.reason, /^Cannot add probe ESP SA: /);
      const left = await runOk(["ip", "netns", "exec", ns, "ip", "xfrm", "state"]);
      assert.equal(left.includes("192.0.2.1 "), false, "the probe SA was deleted");
    } finally {
      await runOk(["ip", "netns", "del", ns]);
    }
  },
});
