import assert from "node:assert/strict";
import { asCniError, CniCode, CniError } from "./errors.ts";

Deno.test("CniError.toJson is the spec's error object: cniVersion, code, msg, details when given", () => {
  const table: [CniError, string, Record<string, unknown>][] = [
    [new CniError(7, "bad"), "1.0.0", { cniVersion: "1.0.0", code: 7, msg: "bad" }],
    [
      new CniError(11, "later", { details: "router down" }),
      "0.4.0",
      { cniVersion: "0.4.0", code: 11, msg: "later", details: "router down" },
    ],
    [new CniError(50, "no", { details: "" }), "1.1.0", {
      cniVersion: "1.1.0",
      code: 50,
      msg: "no",
    }],
  ];
  for (const [e, v, want] of table) {
    assert.equal(JSON.stringify(e.toJson(v)), JSON.stringify(want));
  }
});

Deno.test("asCniError keeps CniErrors and gives others the fallback code and their message", () => {
  const original = new CniError(CniCode.TryAgainLater, "later");
  assert.equal(asCniError(original, CniCode.Internal), original);
  const wrapped = asCniError(new TypeError("boom"), CniCode.Internal, "Cannot add: ");
  assert.equal(wrapped.code, CniCode.Internal);
  assert.equal(wrapped.message, "Cannot add: boom");
  assert.equal(asCniError("text", 5).message, "text");
});

Deno.test("the spec's codes have the spec's numbers", () => {
  assert.deepEqual(
    [
      CniCode.IncompatibleVersion,
      CniCode.UnsupportedField,
      CniCode.UnknownContainer,
      CniCode.InvalidEnv,
      CniCode.IoFailure,
      CniCode.DecodeFailure,
      CniCode.InvalidConfig,
      CniCode.TryAgainLater,
      CniCode.NotAvailable,
    ],
    [1, 2, 3, 4, 5, 6, 7, 11, 50],
  );
});
