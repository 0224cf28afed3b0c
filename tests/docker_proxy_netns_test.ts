/**
 * The Docker API proxy end to end: two test hosts, each with a router, its own dockerd and
 * the proxy in front of it. `docker run` through the proxy puts containers on weave with
 * distinct IPAM addresses and weaveDNS names; they ping each other across hosts by name;
 * `docker run -i` streams stdin and stdout through the proxy; `docker stop` removes the name
 * everywhere; a proxy whose engine is gone answers 502 and recovers. Needs root, docker.io
 * and busybox-static; ignored otherwise.
 */
import assert from "node:assert/strict";
import { dockerdSkipReason, TestDockerd } from "./harness/dockerd.ts";
import { netnsSkipReason, REPO_ROOT, TestNet, waitFor } from "./harness/netns.ts";

const skip = netnsSkipReason() ?? dockerdSkipReason();
const label = (name: string) => skip ? `${name} (ignored: ${skip})` : name;

/** Starts the proxy of host `i` in front of `d`; answers its socket. */
async function startProxy(net: TestNet, i: number, d: TestDockerd): Promise<string> {
  const sock = `${net.tempDir}/proxy-h${i}.sock`;
  net.host(i).spawn([
    Deno.execPath(),
    "run",
    "-A",
    `${REPO_ROOT}docker/main.ts`,
    "--http-addr",
    "127.0.0.1:6784",
    "--docker-api",
    `unix://${d.socket}`,
    "-H",
    `unix://${sock}`,
    "--rewrite-inspect",
    "--plugin=false",
  ], { stderr: "inherit" });
  await waitFor(async () => {
    try {
      await Deno.stat(sock);
      return true;
    } catch {
      return "no socket yet";
    }
  }, { what: `the proxy socket of h${i}`, timeoutMs: 20_000 });
  return sock;
}

for (const [datapath, args] of [["fastdp", []], ["sleeve", ["--no-fastdp"]]] as const) {
  Deno.test({
    name: label(
      `Docker proxy over ${datapath}: docker run on two hosts, ping by name, run -i, stop drops the name`,
    ),
    ignore: skip !== undefined,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => scenario([...args]),
  });
}

async function scenario(launchArgs: string[]): Promise<void> {
  await using net = await TestNet.create({ hosts: 2 });
  await net.launch(1, { args: launchArgs });
  await net.launch(2, { args: launchArgs, peers: [net.host(1).ip] });
  for (const i of [1, 2]) {
    await waitFor(async () => {
      const r = await net.weave(i, ["status", "connections"]);
      return r.stdout.includes(launchArgs.length ? "sleeve" : "fastdp") || r.stdout;
    }, { what: `h${i}'s connection on the datapath asked for`, timeoutMs: 20_000 });
  }
  const engines: TestDockerd[] = [];
  try {
    const proxies: string[] = [];
    for (const i of [1, 2]) {
      const d = await TestDockerd.start(net.host(i).name, `${net.tempDir}/d${i}`);
      engines.push(d);
      proxies.push(await startProxy(net, i, d));
    }
    // The Docker CLI against the proxy of host k+1.
    const cli = (k: number, args: string[], opts: { stdin?: string } = {}) =>
      new Deno.Command("/usr/bin/docker", {
        args: ["-H", `unix://${proxies[k]}`, ...args],
        stdin: opts.stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
      });
    const run = async (k: number, args: string[], stdin?: string) => {
      const child = cli(k, args, { stdin }).spawn();
      if (stdin !== undefined) {
        const w = child.stdin.getWriter();
        await w.write(new TextEncoder().encode(stdin));
        await w.close();
      }
      const out = await child.output();
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    };

    for (const k of [0, 1]) {
      const r = await run(k, [
        "run",
        "-d",
        "--name",
        `c${k + 1}`,
        "--net",
        "none",
        "busybox:local",
        "sleep",
        "600",
      ]);
      assert.equal(r.code, 0, r.stderr);
    }
    const ips: string[] = [];
    for (const k of [0, 1]) {
      const addr = await engines[k].docker([
        "exec",
        `c${k + 1}`,
        "ip",
        "-o",
        "-4",
        "addr",
        "show",
        "ethwe",
      ]);
      const m = /inet (10\.\d+\.\d+\.\d+)\/12/.exec(addr.stdout);
      assert.ok(m, `c${k + 1} has a weave address: ${addr.stdout}${addr.stderr}`);
      ips.push(m[1]);
      const inspect = await run(k, [
        "inspect",
        "-f",
        "{{.NetworkSettings.IPAddress}} {{.Config.Hostname}}.{{.Config.Domainname}}",
        `c${k + 1}`,
      ]);
      assert.equal(
        inspect.stdout.trim(),
        `${m[1]} c${k + 1}.weave.local`,
        "--rewrite-inspect and the weave hostname",
      );
      const resolv = await engines[k].docker(["exec", `c${k + 1}`, "cat", "/etc/resolv.conf"]);
      assert.match(resolv.stdout, /nameserver 169\.254\.53\.1/);
    }
    assert.notEqual(ips[0], ips[1]);

    await waitFor(async () => {
      const r = await engines[0].docker([
        "exec",
        "c1",
        "ping",
        "-c",
        "1",
        "-W",
        "1",
        "c2.weave.local",
      ]);
      return r.code === 0 || r.stdout + r.stderr;
    }, { what: "c1 on h1 to ping c2.weave.local on h2", timeoutMs: 30_000 });

    // Docker restarts it by itself (restart policy): the proxy attaches it again from the events.
    const flaky = await run(0, [
      "run",
      "-d",
      "--name",
      "c3",
      "--restart",
      "on-failure:1",
      "--net",
      "none",
      "busybox:local",
      "sh",
      "-c",
      "sleep 3; exit 1",
    ]);
    assert.equal(flaky.code, 0, flaky.stderr);
    await waitFor(async () => {
      const r = await engines[0].docker([
        "inspect",
        "-f",
        "{{.RestartCount}} {{.State.Running}}",
        "c3",
      ]);
      return r.stdout.trim() === "1 true" || r.stdout;
    }, { what: "Docker to restart c3", timeoutMs: 20_000, intervalMs: 100 });
    await waitFor(async () => {
      const r = await engines[0].docker(["exec", "c3", "ip", "-o", "-4", "addr", "show", "ethwe"]);
      return /inet 10\./.test(r.stdout) || r.stdout + r.stderr;
    }, { what: "the restarted c3 to be on weave again", timeoutMs: 3_000, intervalMs: 100 });

    const echo = await run(0, [
      "run",
      "-i",
      "--rm",
      "--net",
      "none",
      "busybox:local",
      "sh",
      "-c",
      "read a; echo got:$a; cat",
    ], "hello\nworld\n");
    assert.equal(echo.code, 0, echo.stderr);
    assert.equal(echo.stdout, "got:hello\nworld\n");

    assert.equal((await run(1, ["stop", "-t", "1", "c2"])).code, 0);
    await waitFor(async () => {
      const r = await net.weave(1, ["dns-lookup", "c2"]);
      return r.stdout.trim() === "" || r.stdout;
    }, { what: "c2's name to disappear on h1", timeoutMs: 15_000 });

    // The engine goes away: 502 in Docker's words; back again: the proxy serves again.
    await engines[1][Symbol.asyncDispose]();
    const down = await run(1, ["ps"]);
    assert.notEqual(down.code, 0);
    assert.match(down.stderr, /Cannot connect to the Docker daemon at unix:\/\/.*docker\.sock/);
    engines[1] = await TestDockerd.start(net.host(2).name, `${net.tempDir}/d2`);
    const up = await run(1, ["ps", "-a", "--format", "{{.Names}}"]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.stdout, "", "a fresh engine behind the same proxy");
  } finally {
    for (const d of engines.reverse()) await d[Symbol.asyncDispose]().catch(() => {});
  }
}
