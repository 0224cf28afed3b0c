import assert from "node:assert/strict";
import { quoteGoJson, toGoJson } from "./json.ts";
import { loadReport, readSample, SAMPLE_HOSTS } from "../../api/_samples.ts";

for (const [scenario, host] of SAMPLE_HOSTS) {
  Deno.test(`toGoJson re-encodes ${scenario}/${host}-report.json byte for byte`, () => {
    const text = readSample(scenario, `${host}-report.json`);
    const report = loadReport(scenario, host);
    assert.equal(typeof report.Router.Peers[0].UID, "bigint");
    assert.equal(toGoJson(report, { indent: "    " }), text);
  });
}

Deno.test("toGoJson writes bigints beyond 2^53 exactly", () => {
  assert.equal(toGoJson({ UID: 18446744073709551615n }), '{"UID":18446744073709551615}');
});

Deno.test("toGoJson keeps empty arrays and objects on one line when indenting", () => {
  assert.equal(
    toGoJson({ A: [], B: {}, C: null, D: [1] }, { indent: "  " }),
    '{\n  "A": [],\n  "B": {},\n  "C": null,\n  "D": [\n    1\n  ]\n}',
  );
});

Deno.test("toGoJson leaves out undefined keys and keeps insertion order", () => {
  assert.equal(toGoJson({ z: 1, a: undefined, m: "x" }), '{"z":1,"m":"x"}');
});

Deno.test("toGoJson formats numbers as Go float64", () => {
  assert.equal(
    toGoJson([1048576, 0.5, 1e-7, 1e21, 123456789012, -0]),
    "[1048576,0.5,1e-7,1e+21,123456789012,-0]",
  );
  assert.throws(() => toGoJson(NaN), RangeError);
  assert.throws(() => toGoJson([Infinity]), RangeError);
});

Deno.test("quoteGoJson escapes HTML, control characters and lone surrogates as Go does", () => {
  assert.equal(quoteGoJson("<a&b>"), '"\\u003ca\\u0026b\\u003e"');
  assert.equal(quoteGoJson("\b\f\n\r\t\x01"), '"\\u0008\\u000c\\n\\r\\t\\u0001"');
  assert.equal(quoteGoJson('q"\\'), '"q\\"\\\\"');
  assert.equal(quoteGoJson("\u2028\ud800x\ud83d\ude00"), '"\\u2028\ufffdx\ud83d\ude00"');
});

Deno.test("toGoJson encodes Uint8Array as base64 like Go []byte", () => {
  assert.equal(toGoJson(new Uint8Array([1, 2, 255])), '"AQL/"');
});

Deno.test("toGoJson refuses cycles", () => {
  const a: Record<string, unknown> = {};
  a.self = a;
  assert.throws(() => toGoJson(a), TypeError);
});
