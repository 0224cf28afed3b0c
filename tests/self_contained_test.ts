/**
 * The repository is self-contained: no source, script or test reads the
 * shared reference folder that sits beside the developers' checkouts
 * (`../shared`, `/work/shared`). A user's plain `git clone` has no such
 * folder, so every fixture lives in `testdata/` (see its README). Comments
 * may still cite the reference documents; code lines may not name them.
 *
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const SKIP_DIRS = new Set([".git", ".tools", "dist", "node_modules", "testdata"]);
const SOURCE = /\.(ts|sh|json)$|^weave$|^run$/;
/** A path into the reference folder: `../shared/`, `/work/shared/` or `shared/spec|design/`. */
const REFERENCE_PATH = /(\.\.\/|\/work\/)shared\/|\bshared\/(spec|design)\b/;

/** Lines of code (not comments) in `text` that name the reference folder. */
export function referenceLines(text: string): number[] {
  const found: number[] = [];
  let inBlock = false;
  text.split("\n").forEach((line, i) => {
    const t = line.trim();
    if (inBlock) {
      if (t.includes("*/")) inBlock = false;
      return;
    }
    if (t.startsWith("/*")) {
      inBlock = !t.includes("*/");
      return;
    }
    if (t.startsWith("//") || t.startsWith("#") || t.startsWith("*")) return;
    const code = t.replace(/\s\/\/ .*$/, "");
    if (REFERENCE_PATH.test(code)) found.push(i + 1);
  });
  return found;
}

async function* sourceFiles(dir: URL, rel = ""): AsyncGenerator<[string, URL]> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) {
      if (SKIP_DIRS.has(entry.name)) continue;
      yield* sourceFiles(new URL(`${entry.name}/`, dir), `${rel}${entry.name}/`);
    } else if (entry.isFile && SOURCE.test(entry.name)) {
      yield [`${rel}${entry.name}`, new URL(entry.name, dir)];
    }
  }
}

Deno.test("referenceLines finds code that names the reference folder, not comments", () => {
  const text = [
    "/**",
    " * see `../shared/spec/weave-protocol.md`",
    " */",
    'const a = new URL("../../shared/spec/gob-vectors.txt", import.meta.url);',
    "// ../shared/spec is documentation",
    'const b = "/work/shared/spec/samples";',
    'const c = "shared by every connection";',
    "# ../shared in a shell comment",
    "cat ../shared/spec/x",
  ].join("\n");
  assert.deepEqual(referenceLines(text), [4, 6, 9]);
});

Deno.test("no source, script or test reads the shared reference folder", async () => {
  const offenders: string[] = [];
  let files = 0;
  for await (const [rel, url] of sourceFiles(ROOT)) {
    if (rel === "tests/self_contained_test.ts") continue;
    files++;
    for (const line of referenceLines(await Deno.readTextFile(url))) {
      offenders.push(`${rel}:${line}`);
    }
  }
  assert.ok(files > 100, `only ${files} source files found under ${ROOT.pathname}`);
  assert.deepEqual(offenders, [], "these lines read outside the repository: use testdata/");
});
