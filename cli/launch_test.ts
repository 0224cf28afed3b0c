import assert from "node:assert/strict";
import { memoryIo } from "./io.ts";
import { configTargets, launchDetached, runPermissions, selfCommand } from "./launch.ts";
import { parseWeaverArgs } from "../router/config.ts";

Deno.test("launchDetached waits until the daemon is ready", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const marker = `${dir}/ready`;
    const io = memoryIo();
    const code = await launchDetached({
      command: ["sh", "-c", `echo started; touch ${marker}; sleep 0.2`],
      logPath: `${dir}/weave.log`,
      ready: async () => await Deno.stat(marker).then(() => true, () => false),
      timeoutMs: 5000,
      io,
    });
    assert.deepEqual([code, io.stderr], [0, ""]);
    assert.equal(await Deno.readTextFile(`${dir}/weave.log`), "started\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("launchDetached reports a daemon that dies, with the tail of its new log lines", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/weave.log`, "old run\n");
    const io = memoryIo();
    const code = await launchDetached({
      command: ["sh", "-c", "echo starting; echo 'bind: address in use' >&2; exit 3"],
      logPath: `${dir}/weave.log`,
      ready: () => Promise.resolve(false),
      timeoutMs: 5000,
      io,
    });
    assert.equal(code, 1);
    assert.equal(
      io.stderr,
      `The router exited with status 3 while starting.\nLast lines of ${dir}/weave.log:\nstarting\nbind: address in use\n`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("launchDetached stops a daemon that never gets ready", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const io = memoryIo();
    const started = Date.now();
    const code = await launchDetached({
      command: ["sleep", "30"],
      logPath: `${dir}/weave.log`,
      ready: () => Promise.resolve(false),
      timeoutMs: 300,
      io,
    });
    assert.equal(code, 1);
    assert.ok(Date.now() - started < 5000);
    assert.match(io.stderr, /did not answer within 0\.3 s; stopped it/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("selfCommand re-runs this module with the listed permissions when not compiled", () => {
  const perms = runPermissions();
  assert.deepEqual(perms, [
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-run",
    "--allow-sys",
    "--allow-ffi",
    "--unstable-no-legacy-abort",
  ]);
  assert.deepEqual(selfCommand(["launch", "--foreground"]), [
    Deno.execPath(),
    "run",
    "--quiet",
    ...perms,
    Deno.mainModule,
    "launch",
    "--foreground",
  ]);
});

Deno.test("configTargets lists the socket then the HTTP address, skipping disabled ones", () => {
  const defaults = { hostname: "h", instance: "default" };
  assert.deepEqual(configTargets(parseWeaverArgs([], {}, defaults)), [
    { socketPath: "/run/weave/default/weave.sock" },
    { httpAddr: "127.0.0.1:6784" },
  ]);
  assert.deepEqual(configTargets(parseWeaverArgs(["--socket=", "--http-addr="], {}, defaults)), []);
});

Deno.test("the launchers' flags keep Deno's runtime warnings out of the router's log", async () => {
  // A route that watches request.signal (as IPAM's and attach's waiting calls do)
  // answering successfully made Deno 2.9 print a legacy-abort deprecation warning.
  const child = new URL("./_serve_signal_child.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...runPermissions(), child],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.equal(text(out.stderr), "");
  assert.deepEqual([out.code, text(out.stdout)], [0, "200 done\n"]);
});
