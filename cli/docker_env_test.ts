import assert from "node:assert/strict";
import { loadReport } from "../api/_samples.ts";
import { FakeRouterOps } from "../api/fake_ops.ts";
import type { ApiRoute } from "../api/ops.ts";
import { startApiServers } from "../api/server.ts";
import { proxyAddrsRoute } from "../docker/proxy_http.ts";
import { discardLogger } from "../lib/log.ts";
import { formatDnsArgs, parseDnsRunArgs } from "./dns_args.ts";
import { formatEnv, formatRestore } from "./env.ts";
import { memoryIo } from "./io.ts";
import { runCli } from "./main.ts";

const PROXY = "unix:///var/run/weave/weave.sock";
const DNS = { domain: "weave.local.", address: "169.254.53.1" };

function text(path: RegExp, body: string): ApiRoute {
  return { method: "GET", pattern: path, scope: "control", handle: () => new Response(body) };
}

/** Runs the CLI against a router answering `routes`. */
async function cli(argv: string[], routes: ApiRoute[], env: Record<string, string> = {}) {
  const ops = new FakeRouterOps(loadReport("plain", "h1"));
  ops.routes = routes;
  const servers = await startApiServers(ops, { httpAddr: "127.0.0.1:0", log: discardLogger });
  try {
    const io = memoryIo({ WEAVE_HTTP_ADDR: servers.addresses.http!, ...env }, "t");
    const code = await runCli(argv, io);
    return { code, stdout: io.stdout, stderr: io.stderr };
  } finally {
    await servers.close();
  }
}

const WITH_PROXY = [proxyAddrsRoute(() => [PROXY, "tcp://127.0.0.1:12375"])];
const WITH_DNS = [text(/^\/domain$/, "weave.local."), text(/^\/dns-address$/, "169.254.53.1")];

Deno.test("formatEnv: Weave's export line, ORIG_DOCKER_HOST only when it changes", () => {
  assert.equal(
    formatEnv(PROXY, {}),
    `export DOCKER_HOST=${PROXY} ORIG_DOCKER_HOST=unix:///var/run/docker.sock\n`,
  );
  assert.equal(
    formatEnv(PROXY, { DOCKER_HOST: "tcp://10.0.0.1:2375" }),
    `export DOCKER_HOST=${PROXY} ORIG_DOCKER_HOST=tcp://10.0.0.1:2375\n`,
  );
  assert.equal(formatEnv(PROXY, { DOCKER_HOST: PROXY }), `export DOCKER_HOST=${PROXY} \n`);
  assert.equal(
    formatRestore({ ORIG_DOCKER_HOST: "unix:///x.sock" }),
    "export DOCKER_HOST=unix:///x.sock\n",
  );
  assert.equal(formatRestore({}), "export DOCKER_HOST=\n");
});

Deno.test("formatDnsArgs: Weave's dns_args table", () => {
  const table: [string[], string][] = [
    [[], "--dns=169.254.53.1 --dns-search=weave.local."],
    [["--name", "web"], "--dns=169.254.53.1 --hostname=web.weave.local --dns-search=."],
    [["--name=web", "-ti"], "--dns=169.254.53.1 --hostname=web.weave.local --dns-search=."],
    [["--name", "web", "-h", "x.weave.local"], "--dns=169.254.53.1 --dns-search=."],
    [["--hostname=x"], "--dns=169.254.53.1 --dns-search=."],
    [["--dns-search", "example.com"], "--dns=169.254.53.1"],
    [["--without-dns", "--name", "web"], ""],
  ];
  for (const [args, want] of table) {
    assert.equal(formatDnsArgs(parseDnsRunArgs(args), DNS, () => {}), want, args.join(" "));
  }
  const warned: string[] = [];
  const long = parseDnsRunArgs(["--name", "n".repeat(60)]);
  assert.equal(
    formatDnsArgs(long, DNS, (m) => warned.push(m)),
    "--dns=169.254.53.1 --dns-search=weave.local.",
  );
  assert.deepEqual(warned, ["Container name too long to be used as hostname\n"]);
});

Deno.test("weave env / config: the router's first proxy address", async () => {
  const env = await cli(["env"], WITH_PROXY, { DOCKER_HOST: "unix:///run/docker.sock" });
  assert.deepEqual(env, {
    code: 0,
    stdout: `export DOCKER_HOST=${PROXY} ORIG_DOCKER_HOST=unix:///run/docker.sock\n`,
    stderr: "",
  });
  const restore = await cli(["env", "--restore"], [], {
    ORIG_DOCKER_HOST: "unix:///run/docker.sock",
  });
  assert.equal(restore.stdout, "export DOCKER_HOST=unix:///run/docker.sock\n");
  assert.deepEqual(await cli(["config"], WITH_PROXY), {
    code: 0,
    stdout: `-H=${PROXY}\n`,
    stderr: "",
  });
});

Deno.test("weave env / config without a proxy say so and exit 1", async () => {
  for (const cmd of ["env", "config"]) {
    const r = await cli([cmd], [proxyAddrsRoute(() => [])]);
    assert.deepEqual(r, { code: 1, stdout: "", stderr: "Weave proxy is not running.\n" }, cmd);
  }
});

Deno.test("weave dns-args: docker run arguments pass through, no newline; no weaveDNS: nothing", async () => {
  const r = await cli(["dns-args", "--name", "web", "-ti", "-h", "web.weave.local"], WITH_DNS);
  assert.deepEqual(r, { code: 0, stdout: "--dns=169.254.53.1 --dns-search=.", stderr: "" });
  const named = await cli(["dns-args", "--name=db"], WITH_DNS);
  assert.equal(named.stdout, "--dns=169.254.53.1 --hostname=db.weave.local --dns-search=.");
  const off = await cli(["dns-args"], []);
  assert.deepEqual(off, { code: 0, stdout: "", stderr: "" });
});

Deno.test("weave env without a router: weave is not running", async () => {
  const io = memoryIo({ WEAVE_HTTP_ADDR: "127.0.0.1:1" }, "t");
  assert.equal(await runCli(["env"], io), 1);
  assert.equal(io.stderr, "weave is not running.\n");
});
