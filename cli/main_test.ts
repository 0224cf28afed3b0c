import assert from "node:assert/strict";
import { FakeRouterOps } from "../api/fake_ops.ts";
import { renderStatus } from "../api/render_status.ts";
import { type ApiServers, startApiServers } from "../api/server.ts";
import { loadReport } from "../api/_samples.ts";
import { discardLogger } from "../lib/log.ts";
import { VERSION } from "../lib/version.ts";
import { memoryIo } from "./io.ts";
import { runCli } from "./main.ts";
import { USAGE } from "./usage.ts";

async function withRouter(
  fn: (addr: string, ops: FakeRouterOps, servers: ApiServers) => Promise<void>,
) {
  const ops = new FakeRouterOps(loadReport("3host", "h1"));
  const servers = await startApiServers(ops, { httpAddr: "127.0.0.1:0", log: discardLogger });
  ops.onStop = () => servers.close();
  try {
    await fn(servers.addresses.http!, ops, servers);
  } finally {
    await servers.close();
  }
}

function closedAddr(): string {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return `127.0.0.1:${port}`;
}

async function cli(argv: string[], env: Record<string, string> = {}) {
  const io = memoryIo(env, `test-${crypto.randomUUID()}`);
  const code = await runCli(argv, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

Deno.test("weave status prints the status between blank lines", async () => {
  await withRouter(async (addr, ops) => {
    const r = await cli(["status", "--http-addr", addr]);
    assert.deepEqual(r, { code: 0, stdout: "\n" + renderStatus(ops.current) + "\n", stderr: "" });
  });
});

Deno.test("weave status <sub> prints the part without blank lines; WEAVE_HTTP_ADDR picks the router", async () => {
  await withRouter(async (addr) => {
    assert.deepEqual(await cli(["status", "targets"], { WEAVE_HTTP_ADDR: addr }), {
      code: 0,
      stdout: "192.0.2.2\n",
      stderr: "",
    });
    const peers = await cli(["--local", "status", "peers", "--http-addr", addr]);
    assert.ok(peers.stdout.startsWith("02:00:00:00:00:01(h1)\n   -> 192.0.2.2:6783"));
  });
});

Deno.test("weave status with an unknown sub-command exits 4 with the usage", async () => {
  await withRouter(async (addr) => {
    const r = await cli(["status", "bogus", "--http-addr", addr]);
    assert.equal(r.code, 4);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, "Invalid 'weave status' sub-command: bogus\n" + USAGE);
  });
});

Deno.test("weave status on a router that is not ready exits 1 with the text on stderr", async () => {
  await withRouter(async (addr, ops) => {
    ops.current = { ...ops.current, Ready: false };
    const r = await cli(["status", "--http-addr", addr]);
    assert.deepEqual(r, { code: 1, stdout: "\n\n", stderr: renderStatus(ops.current) });
  });
});

Deno.test("commands print 'weave is not running.' when nothing answers", async () => {
  const addr = closedAddr();
  for (
    const argv of [["status"], ["status", "peers"], ["report"], ["connect", "a"], ["forget", "a"]]
  ) {
    const r = await cli([...argv, "--http-addr", addr]);
    assert.equal(r.code, 1, argv.join(" "));
    assert.equal(r.stderr, "weave is not running.\n", argv.join(" "));
  }
  const sock = await cli(["status", "--socket", "/nonexistent/weave.sock"]);
  assert.deepEqual([sock.code, sock.stderr], [1, "weave is not running.\n"]);
});

Deno.test("weave report prints the JSON report or a template's output", async () => {
  await withRouter(async (addr) => {
    const json = await cli(["report", "--http-addr", addr]);
    assert.equal(json.code, 0);
    assert.equal(JSON.parse(json.stdout).Router.NickName, "h1");
    assert.deepEqual(await cli(["report", "-f", "{{.Version}}", "--http-addr", addr]), {
      code: 0,
      stdout: "2.8.1",
      stderr: "",
    });
    const bad = await cli(["report", "-f", "{{if}}", "--http-addr", addr]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^template: /);
  });
});

Deno.test("weave connect and forget send peers; bad peers fail with the router's message", async () => {
  await withRouter(async (addr, ops) => {
    assert.equal(
      (await cli(["connect", "10.0.0.2", "10.0.0.3:6783", "--http-addr", addr])).code,
      0,
    );
    assert.equal((await cli(["connect", "--replace", "--http-addr", addr])).code, 0);
    assert.equal((await cli(["forget", "10.0.0.2", "--http-addr", addr])).code, 0);
    assert.deepEqual(ops.calls, [
      { op: "connect", peers: ["10.0.0.2", "10.0.0.3:6783"], replace: false },
      { op: "connect", peers: [], replace: true },
      { op: "forget", peers: ["10.0.0.2"] },
    ]);
    const bad = await cli(["connect", "bad peer", "--http-addr", addr]);
    assert.deepEqual(bad, { code: 1, stdout: "", stderr: 'invalid peer address "bad peer"\n' });
    const none = await cli(["connect", "--http-addr", addr]);
    assert.deepEqual([none.code, none.stderr], [1, USAGE]);
    const forgetNone = await cli(["forget", "--http-addr", addr]);
    assert.equal(forgetNone.code, 1);
  });
});

Deno.test("weave version prints the script's and the router's versions", async () => {
  await withRouter(async (addr) => {
    assert.deepEqual(await cli(["version", "--http-addr", addr]), {
      code: 0,
      stdout: `weave script ${VERSION}\nweave 2.8.1\n`,
      stderr: "",
    });
  });
  const alone = await cli(["version", "--http-addr", closedAddr()]);
  assert.equal(alone.stdout, `weave script ${VERSION}\nweave ${VERSION}\n`);
});

Deno.test("weave stop stops the router and waits until it is gone", async () => {
  await withRouter(async (addr, ops) => {
    assert.deepEqual(await cli(["stop", "--http-addr", addr]), { code: 0, stdout: "", stderr: "" });
    assert.deepEqual(ops.calls, [{ op: "stop" }]);
    const again = await cli(["stop", "--http-addr", addr]);
    assert.deepEqual(again, {
      code: 0,
      stdout: "",
      stderr: "Weave is not running (ignore on Kubernetes).\n",
    });
  });
});

Deno.test("weave reset refuses without --force when not running, and removes state with it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const f of ["weavedata.db", "weave-extra", "weave.log", "other"]) {
      await Deno.writeTextFile(`${dir}/${f}`, "x");
    }
    const addr = closedAddr();
    const refused = await cli(["reset", "--http-addr", addr, "--db-prefix", `${dir}/weave`]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^ERROR: weave is not running; unable to remove from cluster\.\n/);
    assert.equal((await Array.fromAsync(Deno.readDir(dir))).length, 4);
    const forced = await cli([
      "reset",
      "--force",
      "--http-addr",
      addr,
      "--db-prefix",
      `${dir}/weave`,
    ]);
    assert.deepEqual(forced, { code: 0, stdout: "", stderr: "" });
    const left = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
    assert.deepEqual(left, ["other", "weave.log"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("weave reset stops a running router first", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/weavedata.db`, "x");
    await withRouter(async (addr, ops) => {
      const r = await cli(["reset", "--http-addr", addr, "--db-prefix", `${dir}/weave`]);
      assert.deepEqual(r, { code: 0, stdout: "", stderr: "" });
      assert.deepEqual(ops.calls, [{ op: "stop" }]);
    });
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("help, usage errors, unknown and removed commands", async () => {
  assert.deepEqual(await cli(["--help"]), { code: 0, stdout: "", stderr: USAGE });
  assert.deepEqual(await cli(["help"]), { code: 0, stdout: "", stderr: USAGE });
  assert.deepEqual(await cli([]), { code: 1, stdout: "", stderr: USAGE });
  const unknown = await cli(["frobnicate"]);
  assert.deepEqual([unknown.code, unknown.stderr], [
    1,
    "weave: unknown command 'frobnicate'\n" + USAGE,
  ]);
  const removed = await cli(["launch-router"]);
  assert.equal(removed.code, 1);
  assert.match(
    removed.stderr,
    /^The 'weave launch-router' command has been removed as of Weave Net version 2\.0\n/,
  );
  for (
    const cmd of ["status", "report", "connect", "forget", "stop", "reset", "version", "launch"]
  ) {
    const help = await cli([cmd, "--help"]);
    assert.equal(help.code, 0, cmd);
    assert.match(help.stdout, new RegExp(`^Usage: weave ${cmd} `), cmd);
  }
  const badOption = await cli(["status", "--bogus"]);
  assert.equal(badOption.code, 1);
  assert.match(badOption.stderr, /unknown option '--bogus'/);
  assert.equal((await cli(["stop", "extra"])).code, 1);
});

Deno.test("weave launch validates flags and refuses when the router already answers", async () => {
  const bad = await cli(["launch", "--bogus"]);
  assert.deepEqual(bad, {
    code: 1,
    stdout: "",
    stderr: 'Cannot parse arguments: unknown flag "--bogus"\n',
  });
  const badPort = await cli(["launch", "--port=0"]);
  assert.match(badPort.stderr, /--port/);
  await withRouter(async (addr) => {
    const r = await cli(["launch", "--http-addr", addr, "--socket="]);
    assert.deepEqual(r, { code: 1, stdout: "", stderr: "Weave Net is already running\n" });
  });
});
