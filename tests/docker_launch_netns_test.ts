/**
 * `weave launch` starts the Docker API proxy and the network plugin beside the router when the
 * engine answers, as Weave's did: `weave status` shows both services, `weave env` points at the
 * proxy, `docker run` through it lands on weave with an IPAM address, and the plugin's sockets
 * appear in the engine's plugin directory. With no engine, or with `--proxy=false
 * --plugin=false`, the router starts without them and says why in one log line. Needs root,
 * docker.io and busybox-static; ignored otherwise.
 */
import assert from "node:assert/strict";
import { dockerdSkipReason, TestDockerd } from "./harness/dockerd.ts";
import { netnsSkipReason, TestNet, waitFor } from "./harness/netns.ts";

const skip = netnsSkipReason() ?? dockerdSkipReason();
const label = (name: string) => skip ? `${name} (ignored: ${skip})` : name;

Deno.test({
  name: label("weave launch starts the Docker proxy and plugin when the engine answers"),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 1 });
    await using d = await TestDockerd.start(net.host(1).name, `${net.tempDir}/d1`);
    const proxy = `${net.tempDir}/weave-proxy.sock`;
    await net.launch(1, {
      args: [
        "--docker-api",
        `unix://${d.socket}`,
        "-H",
        `unix://${proxy}`,
        "--plugin-dir",
        d.pluginDir,
      ],
    });
    const status = (await net.weave(1, ["status"])).stdout;
    assert.match(status, /Service: proxy\s+Address: unix:\/\/.*weave-proxy\.sock/);
    assert.match(status, /Service: plugin \(legacy\)\s+DriverName: weave/);
    const env = await net.weave(1, ["env"]);
    assert.ok(
      env.stdout.startsWith(`export DOCKER_HOST=unix://${proxy} ORIG_DOCKER_HOST=`),
      env.stdout + env.stderr,
    );
    const plugins = [...Deno.readDirSync(d.pluginDir)].map((e) => e.name).sort();
    assert.deepEqual(plugins, ["weave.sock", "weavemesh.sock"]);

    const run = await new Deno.Command("/usr/bin/docker", {
      args: [
        "-H",
        `unix://${proxy}`,
        "run",
        "-d",
        "--name",
        "web",
        "--net",
        "none",
        "busybox:local",
        "sleep",
        "600",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    let addr = "";
    await waitFor(async () => {
      const r = await d.docker(["exec", "web", "ip", "-4", "-o", "addr", "show", "ethwe"]);
      addr = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(r.stdout)?.[1] ?? "";
      return addr !== "" || r.stdout + r.stderr;
    }, { what: "the proxied container on weave", timeoutMs: 20_000 });
    assert.match(addr, /^10\.(3[2-9]|4[0-7])\./, "an address from the IPAM range 10.32.0.0/12");
  },
});

Deno.test({
  name: label(
    "weave launch without an engine, or with --proxy=false --plugin=false, starts no Docker services",
  ),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 2 });
    await net.launch(1, { args: ["--docker-api", `unix://${net.tempDir}/no-engine.sock`] });
    await net.launch(2, { args: ["--proxy=false", "--plugin=false"] });
    for (const i of [1, 2]) {
      const status = (await net.weave(i, ["status"])).stdout;
      assert.match(status, /Service: router/);
      assert.doesNotMatch(status, /Service: (proxy|plugin)/);
    }
    const log = await Deno.readTextFile(`${net.host(1).dbPrefix.replace(/[^/]*$/, "")}weave.log`);
    assert.match(
      log,
      /Docker engine at unix:\/\/\S+no-engine\.sock not answering .*: Docker API proxy and plugin not started/,
    );
  },
});
