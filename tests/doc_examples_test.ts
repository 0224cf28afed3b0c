// The ```ts examples in JSDoc comments and in the READMEs type-check (`deno check --doc-only`).
//
// With one compiler option relaxed: `deno test --doc`/`deno check --doc` add to every example an
// import of all the exports of its file (denoland/deno#26900, fix not released in 2.9), which
// `noUnusedLocals` then reports in every example that does not use them all. The check runs with
// a copy of deno.json that turns only that option off; the code itself stays under the strict
// options through `deno check` and every test's own type check.
import assert from "node:assert/strict";
import { run } from "./harness/exec.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("doc examples type-check", async () => {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.json`));
  config.compilerOptions = { ...config.compilerOptions, noUnusedLocals: false };
  // Paths in a config are relative to it: the copy lives elsewhere, so make them absolute.
  config.exclude = (config.exclude ?? []).map((p: string) => `${ROOT}/${p}`);
  const dir = Deno.makeTempDirSync({ prefix: "weave-doc-check-" });
  try {
    Deno.writeTextFileSync(`${dir}/deno.json`, JSON.stringify(config));
    const r = await run([
      Deno.execPath(),
      "check",
      "--doc-only",
      "--quiet",
      "--config",
      `${dir}/deno.json`,
      "--lock",
      `${ROOT}/deno.lock`,
      "--frozen",
      ROOT,
    ], { timeoutMs: 120_000, env: { NO_COLOR: "1" } });
    assert.equal(r.code, 0, `deno check --doc-only failed:\n${r.stderr}${r.stdout}`.slice(0, 4000));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
