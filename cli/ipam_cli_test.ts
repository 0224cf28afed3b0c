import assert from "node:assert/strict";
import { Command } from "commander";
import { loadReport } from "../api/_samples.ts";
import { FakeRouterOps } from "../api/fake_ops.ts";
import { startApiServers } from "../api/server.ts";
import { Allocator } from "../ipam/allocator.ts";
import { ipamRoutes } from "../ipam/http.ts";
import { FakeStore } from "../ipam/store/mod.ts";
import { discardLogger } from "../lib/log.ts";
import { type CommandContext, memoryIo } from "./io.ts";
import { primeCommand } from "./prime.ts";
import { rmpeerCommand } from "./rmpeer.ts";

async function withRouter(
  init: string,
  fn: (run: (argv: string[]) => Promise<Run>) => Promise<void>,
) {
  const alloc = new Allocator({
    ourName: 0x020000000001n,
    ourUID: 1n,
    nickName: "h1",
    range: "10.32.0.0/12",
    init,
    store: new FakeStore(),
    log: discardLogger,
    peers: () => [],
    tickMs: 0,
  });
  await alloc.start();
  const ops = new FakeRouterOps(loadReport("plain", "h1"));
  ops.routes = ipamRoutes(alloc);
  const base = ops.current;
  ops.report = () => ({ ...base, IPAM: alloc.report() });
  const servers = await startApiServers(ops, { httpAddr: "127.0.0.1:0", log: discardLogger });
  const run = (argv: string[]) => runCommand([...argv, "--http-addr", servers.addresses.http!]);
  try {
    await fn(run);
  } finally {
    alloc.stop();
    await servers.close();
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function runCommand(argv: string[]): Promise<Run> {
  const io = memoryIo({}, `test-${crypto.randomUUID()}`);
  let code = 0;
  const ctx: CommandContext = { io, exit: (c) => void (code = c) };
  const program = new Command("weave").exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  for (const make of [primeCommand, rmpeerCommand]) {
    const cmd = make(ctx);
    cmd.copyInheritedSettings(program);
    program.addCommand(cmd);
  }
  await program.parseAsync(argv, { from: "user" });
  return { code, stdout: io.stdout, stderr: io.stderr };
}

Deno.test("weave prime: returns once the ring exists", async () => {
  await withRouter("consensus=1", async (run) => {
    assert.deepEqual(await run(["prime"]), { code: 0, stdout: "", stderr: "" });
  });
});

Deno.test("weave prime --timeout: explains why it gave up", async () => {
  await withRouter("consensus=3", async (run) => {
    const r = await run(["prime", "--timeout", "0.2", "--progress", "0.05"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Waiting for IPAM: awaiting consensus \(quorum: 2, known: 1\)/);
    assert.match(r.stderr, /Cannot prime: no answer within 0.2s; IPAM status: awaiting consensus/);
  });
});

Deno.test("weave rmpeer: prints what was taken over from each peer", async () => {
  await withRouter("seed=02:00:00:00:00:01,02:00:00:00:00:02", async (run) => {
    assert.deepEqual(await run(["rmpeer", "02:00:00:00:00:02", "ghost"]), {
      code: 0,
      stdout: "524288 IPs taken over from 02:00:00:00:00:02\n0 IPs taken over from ghost\n",
      stderr: "",
    });
  });
});
