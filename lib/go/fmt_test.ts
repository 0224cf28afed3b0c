import assert from "node:assert/strict";
import { compareBytes, formatFloat, goSprintf, goValueString } from "./fmt.ts";

Deno.test("formatFloat 'g' shortest matches Go strconv (Prometheus values)", () => {
  const cases: [number, string][] = [
    [1048576, "1.048576e+06"],
    [68243456, "6.8243456e+07"],
    [2400, "2400"],
    [20000, "20000"],
    [123456, "123456"],
    [40.96, "40.96"],
    [3.4777e-05, "3.4777e-05"],
    [0.000157679, "0.000157679"],
    [0.009207109967369776, "0.009207109967369776"],
    [1795459577.504963, "1.795459577504963e+09"],
    [1.79545950619e+09, "1.79545950619e+09"],
    [-1, "-1"],
    [0, "0"],
    [1e100, "1e+100"],
    [5e-324, "5e-324"],
    [NaN, "NaN"],
    [Infinity, "+Inf"],
    [-Infinity, "-Inf"],
  ];
  for (const [x, want] of cases) assert.equal(formatFloat(x, "g"), want, String(x));
});

Deno.test("formatFloat 'f' rounds exact ties to even like Go, others to nearest", () => {
  assert.equal(formatFloat(0.25, "f", 1), "0.2");
  assert.equal(formatFloat(0.35, "f", 1), "0.3"); // 0.35 is below the tie in binary
  assert.equal(formatFloat(0.75, "f", 1), "0.8");
  assert.equal(formatFloat(12.5, "f", 0), "12");
  assert.equal(formatFloat(13.5, "f", 0), "14");
  assert.equal(formatFloat(37.5, "f", 1), "37.5");
  assert.equal(formatFloat(33.33333206176758, "f", 1), "33.3");
  assert.equal(formatFloat(1.5, "f"), "1.500000");
  assert.equal(formatFloat(-2.5, "f", 0), "-2");
});

Deno.test("formatFloat 'e' and precise 'g'", () => {
  assert.equal(formatFloat(1234.5678, "e", 2), "1.23e+03");
  assert.equal(formatFloat(0.000012, "e"), "1.2e-05");
  assert.equal(formatFloat(1, "g", 3), "1");
  assert.equal(formatFloat(123456, "g", 3), "1.23e+05");
  assert.equal(formatFloat(0.5, "g", 3), "0.5");
});

Deno.test("goSprintf pads, truncates and zero-fills as Go fmt", () => {
  assert.equal(goSprintf("%-21v|", "192.0.2.2:46147"), "192.0.2.2:46147      |");
  assert.equal(goSprintf("%-11v|", "established"), "established|");
  assert.equal(goSprintf("%8d", 524288), "  524288");
  assert.equal(goSprintf("%04.1f%%", 50), "50.0%");
  assert.equal(goSprintf("%04.1f", 0.5), "00.5");
  assert.equal(goSprintf("%04.1f", -0.5), "-0.5");
  assert.equal(goSprintf("%12.12v", "eebd81120ee4abcdef"), "eebd81120ee4");
  assert.equal(goSprintf("%12.12v", "c1"), "          c1");
  assert.equal(goSprintf("%-5s|", "héé"), "héé  |");
  assert.equal(goSprintf("%x %X %d", 255, 255n, -7), "ff FF -7");
  assert.equal(goSprintf("%+d % d", 5, 5), "+5  5");
  assert.equal(goSprintf("%t %q", true, 'a"b'), 'true "a\\"b"');
});

Deno.test("goSprintf reports missing, extra and mistyped arguments as Go does", () => {
  assert.equal(goSprintf("%s %d", "a"), "a %!d(MISSING)");
  assert.equal(goSprintf("%d", "x"), "%!d(string=x)");
  assert.equal(goSprintf("x", 1), "x%!(EXTRA int=1)");
  assert.equal(goSprintf("%d", null), "%!d(<nil>)");
  assert.equal(goSprintf("%z", 1), "%!z(int=1)");
});

Deno.test("goValueString prints report values as Go %v", () => {
  assert.equal(goValueString(1438), "1438");
  assert.equal(goValueString(1048576), "1048576");
  assert.equal(goValueString(0.5), "0.5");
  assert.equal(goValueString(true), "true");
  assert.equal(goValueString(null), "<nil>");
  assert.equal(goValueString(["a", 1]), "[a 1]");
  assert.equal(goValueString({ name: "sleeve", mtu: 1438 }), "map[mtu:1438 name:sleeve]");
  assert.equal(goValueString(7454224211782294753n), "7454224211782294753");
});

Deno.test("compareBytes orders by code point", () => {
  assert.ok(compareBytes("a", "b") < 0);
  assert.ok(compareBytes("_", "s") < 0);
  assert.ok(compareBytes("ab", "a") > 0);
  assert.equal(compareBytes("x", "x"), 0);
  assert.ok(compareBytes("\uffff", "\u{1f600}") < 0);
});
