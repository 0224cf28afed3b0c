import assert from "node:assert/strict";
import { Command } from "commander";
import { loadReport } from "../api/_samples.ts";
import { FakeRouterOps } from "../api/fake_ops.ts";
import { startApiServers } from "../api/server.ts";
import { dnsRoutes } from "../dns/http.ts";
import { Nameserver } from "../dns/nameserver.ts";
import { parseIPv4 } from "../lib/cidr.ts";
import { discardLogger } from "../lib/log.ts";
import { parsePeerName } from "../lib/peer_name.ts";
import { dnsAddCommand, parseDnsArgs } from "./dns_add.ts";
import { dnsLookupCommand } from "./dns_lookup.ts";
import { dnsRemoveCommand } from "./dns_remove.ts";
import { type CommandContext, memoryIo } from "./io.ts";
import { USAGE } from "./usage.ts";

const US = parsePeerName("02:00:00:00:00:01");

/** A router API serving a real nameserver's routes, and a CLI runner against it. */
async function withRouter(
  fn: (run: (argv: string[]) => Promise<Run>, ns: Nameserver) => Promise<void>,
) {
  const ns = new Nameserver({
    ourName: US,
    listenAddress: "127.0.0.1:0",
    upstream: { servers: [] },
    log: discardLogger,
  });
  await ns.start();
  const ops = new FakeRouterOps(loadReport("plain", "h1"));
  ops.routes = dnsRoutes(ns);
  const servers = await startApiServers(ops, { httpAddr: "127.0.0.1:0", log: discardLogger });
  const run = (argv: string[]) => runCommand([...argv, "--http-addr", servers.addresses.http!]);
  try {
    await fn(run, ns);
  } finally {
    await servers.close();
    await ns.stop();
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one of the dns commands the way cli/main.ts dispatches commands. */
async function runCommand(argv: string[]): Promise<Run> {
  const io = memoryIo({}, `test-${crypto.randomUUID()}`);
  let code = 0;
  const ctx: CommandContext = { io, exit: (c) => void (code = c) };
  const program = new Command("weave").exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  for (const make of [dnsAddCommand, dnsRemoveCommand, dnsLookupCommand]) {
    const cmd = make(ctx);
    cmd.copyInheritedSettings(program);
    program.addCommand(cmd);
  }
  await program.parseAsync(argv, { from: "user" });
  return { code, stdout: io.stdout, stderr: io.stderr };
}

Deno.test("parseDnsArgs splits leading IPs from the container", () => {
  assert.deepEqual(parseDnsArgs([]), { ips: [], container: undefined });
  assert.deepEqual(parseDnsArgs(["10.0.0.1", "10.0.0.2/24"]), {
    ips: ["10.0.0.1", "10.0.0.2"],
    container: undefined,
  });
  assert.deepEqual(parseDnsArgs(["web"]), { ips: [], container: "web" });
  assert.equal(parseDnsArgs(["web", "10.0.0.1"]), undefined);
});

Deno.test("weave dns-add / dns-lookup / dns-remove against a running router", async () => {
  await withRouter(async (run, ns) => {
    const add = await run(["dns-add", "10.32.0.5", "10.32.0.6", "web", "-h", "web.weave.local"]);
    assert.deepEqual(add, { code: 0, stdout: "", stderr: "" });
    assert.deepEqual(ns.entries.lookup("web.weave.local.").sort(), [
      parseIPv4("10.32.0.5"),
      parseIPv4("10.32.0.6"),
    ]);
    const ext = await run(["dns-add", "10.32.0.9", "-h", "ext.weave.local."]);
    assert.equal(ext.code, 0);
    assert.equal(
      ns.entries.all().find((e) => e.hostname === "ext.weave.local.")?.containerID,
      "weave:extern",
    );

    const look = await run(["dns-lookup", "web", "--timeout", "2000"]);
    assert.equal(look.code, 0);
    assert.deepEqual(look.stdout.trim().split("\n").sort(), ["10.32.0.5", "10.32.0.6"]);
    assert.deepEqual(await run(["dns-lookup", "nope.weave.local"]), {
      code: 0,
      stdout: "",
      stderr: "",
    });

    assert.equal(
      (await run(["dns-remove", "10.32.0.5", "web", "-h", "other.weave.local"])).code,
      0,
    );
    assert.equal(ns.entries.lookup("web.weave.local.").length, 2, "-h must match");
    assert.equal((await run(["dns-remove", "10.32.0.5", "web"])).code, 0);
    assert.deepEqual(ns.entries.lookup("web.weave.local."), [parseIPv4("10.32.0.6")]);
    assert.equal((await run(["dns-remove", "web"])).code, 0);
    assert.deepEqual(ns.entries.lookup("web.weave.local."), []);
    assert.equal((await run(["dns-remove", "10.32.0.9", "-h", "ext.weave.local"])).code, 0);
    assert.equal(ns.localEntryCount(), 0);

    const bad = await run(["dns-add", "10.32.0.300", "web", "-h", "x.weave.local"]);
    assert.equal(bad.code, 1, "not an IP, so it is taken as the container: too many args");
    assert.equal(bad.stderr, USAGE);
  });
});

Deno.test("weave dns-add refuses what needs Docker and bad grammar", async () => {
  const noName = await runCommand(["dns-add", "10.32.0.5", "web", "--http-addr", "127.0.0.1:1"]);
  assert.equal(noName.code, 1);
  assert.match(noName.stderr, /-h <fqdn>/);
  const noIp = await runCommand([
    "dns-add",
    "web",
    "-h",
    "w.weave.local",
    "--http-addr",
    "127.0.0.1:1",
  ]);
  assert.match(noIp.stderr, /IP addresses/);
  assert.deepEqual(await runCommand(["dns-add", "10.32.0.5", "--http-addr", "127.0.0.1:1"]), {
    code: 1,
    stdout: "",
    stderr: USAGE,
  });
  assert.equal((await runCommand(["dns-lookup", "a", "b"])).stderr, USAGE);
});

Deno.test("weave dns-lookup reports a server that never answers as dig does", async () => {
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 }); // TCP only: UDP port is free
  const port = (silent.addr as Deno.NetAddr).port;
  silent.close();
  const ns = new Nameserver({
    ourName: US,
    listenAddress: `127.0.0.1:${port}`,
    upstream: { servers: [] },
    log: discardLogger,
  });
  const ops = new FakeRouterOps(loadReport("plain", "h1"));
  ops.routes = dnsRoutes(ns); // not started: nothing listens
  const servers = await startApiServers(ops, { httpAddr: "127.0.0.1:0", log: discardLogger });
  try {
    const r = await runCommand([
      "dns-lookup",
      "web",
      "--timeout",
      "100",
      "--http-addr",
      servers.addresses.http!,
    ]);
    assert.equal(r.code, 9);
    assert.equal(r.stdout, ";; connection timed out; no servers could be reached\n");
  } finally {
    await servers.close();
  }
});
