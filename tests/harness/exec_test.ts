import assert from "node:assert/strict";
import { run, runOk, writeText } from "./exec.ts";

Deno.test("run: returns exit code, stdout and stderr separately", async () => {
  const r = await run(["sh", "-c", "echo out; echo err >&2; exit 3"]);
  assert.deepEqual(r, { code: 3, stdout: "out\n", stderr: "err\n" });
});

Deno.test("run: feeds stdin and passes extra environment variables", async () => {
  const r = await run(["sh", "-c", 'cat; echo "$WEAVE_TEST_VAR"'], {
    stdin: "from stdin\n",
    env: { WEAVE_TEST_VAR: "from env" },
  });
  assert.equal(r.stdout, "from stdin\nfrom env\n");
});

Deno.test("run: a background process holding the pipes does not make it hang", async () => {
  const started = Date.now();
  const r = await run(["sh", "-c", "sleep 3 & echo launched"]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "launched\n");
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
});

Deno.test("run: kills the command and throws after timeoutMs", async () => {
  await assert.rejects(
    run(["sh", "-c", "echo partial; exec sleep 5"], { timeoutMs: 300 }),
    /Cannot run "sh -c echo partial; exec sleep 5": timed out after 300 ms; stdout: "partial\\n"/,
  );
});

Deno.test("run: a signal shows as 128 + its number", async () => {
  const r = await run(["sh", "-c", "kill -TERM $$"]);
  assert.equal(r.code, 143);
});

Deno.test("run: a missing program is an error naming the command", async () => {
  await assert.rejects(run(["/nonexistent/weave-test-program", "x"]), /Cannot run "\/nonexistent/);
});

Deno.test("runOk: returns stdout, throws with stderr on a non-zero exit", async () => {
  assert.equal(await runOk(["echo", "fine"]), "fine\n");
  await assert.rejects(runOk(["sh", "-c", "echo bad >&2; exit 2"]), /exit code 2: bad/);
});

Deno.test("writeText: writes everything, also when the target takes a few bytes at a time", () => {
  const got: number[] = [];
  const target = {
    writeSync(p: Uint8Array) {
      const n = Math.min(3, p.length);
      got.push(...p.subarray(0, n));
      return n;
    },
  };
  writeText(target, "héllo, world\n");
  assert.equal(new TextDecoder().decode(new Uint8Array(got)), "héllo, world\n");
});
