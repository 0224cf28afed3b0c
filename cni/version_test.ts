import assert from "node:assert/strict";
import { CniError } from "./errors.ts";
import { compareVersions, requireCommandIn, requireVersion, versionInfo } from "./version.ts";

Deno.test("versionInfo lists 0.3.0 to 1.1.0", () => {
  assert.deepEqual(versionInfo(), {
    cniVersion: "1.1.0",
    supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
  });
});

Deno.test("requireVersion accepts ours and refuses others with code 1", () => {
  assert.equal(requireVersion("0.3.0"), "0.3.0");
  for (const v of ["0.1.0", "0.2.0", "1.2.0", "1.0", "x"]) {
    assert.throws(() => requireVersion(v), (e: unknown) => e instanceof CniError && e.code === 1);
  }
});

Deno.test("commands exist from their spec version: CHECK 0.4.0, STATUS and GC 1.1.0", () => {
  const table: [Parameters<typeof requireCommandIn>[0], string, boolean][] = [
    ["ADD", "0.3.0", true],
    ["CHECK", "0.3.1", false],
    ["CHECK", "0.4.0", true],
    ["STATUS", "1.0.0", false],
    ["STATUS", "1.1.0", true],
    ["GC", "1.0.0", false],
    ["GC", "1.1.0", true],
  ];
  for (const [cmd, v, ok] of table) {
    if (ok) requireCommandIn(cmd, v);
    else assert.throws(() => requireCommandIn(cmd, v), CniError, `${cmd} ${v}`);
  }
  assert.equal(compareVersions("0.10.0", "0.4.0"), 1);
  assert.equal(compareVersions("1.0.0", "1.0.0"), 0);
});
