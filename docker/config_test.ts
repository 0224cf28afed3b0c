import assert from "node:assert/strict";
import { parseDockerConfig } from "./config.ts";
import { scanDockerArgs } from "./main.ts";
import { DEFAULT_PROXY_CONFIG } from "./proxy_rewrite.ts";

const parse = (argv: string[], env: Record<string, string> = {}, noDns = false) => {
  const { values, bools } = scanDockerArgs(argv);
  return parseDockerConfig(values, bools, env, { noDns });
};

Deno.test("parseDockerConfig: Weave's defaults — proxy on weave.sock, plugin in /run/docker/plugins", () => {
  assert.deepEqual(parse([]), {
    docker: { kind: "unix", path: "/var/run/docker.sock" },
    proxy: { listen: "/var/run/weave/weave.sock", config: DEFAULT_PROXY_CONFIG },
    plugin: { dir: "/run/docker/plugins", dns: true },
  });
});

Deno.test("parseDockerConfig: --proxy=false, --plugin=false, -H, --docker-api beats DOCKER_HOST", () => {
  const c = parse(["--plugin=false", "-H", "unix:///tmp/p.sock", "--docker-api=unix:///d.sock"], {
    DOCKER_HOST: "unix:///env.sock",
  });
  assert.equal(c.plugin, undefined);
  assert.equal(c.proxy?.listen, "/tmp/p.sock");
  assert.deepEqual(c.docker, { kind: "unix", path: "/d.sock" });
  assert.deepEqual(parse([], { DOCKER_HOST: "tcp://10.0.0.1:2375" }).docker, {
    kind: "tcp",
    host: "10.0.0.1",
    port: 2375,
  });
  assert.equal(parse(["--proxy=false"]).proxy, undefined);
});

Deno.test("parseDockerConfig: proxy flags; --no-dns turns the proxy's DNS and the plugin's names off", () => {
  const c = parse([
    "--rewrite-inspect",
    "--no-default-ipalloc",
    "--no-multicast-route",
    "--hostname-from-label",
    "app",
    "--hostname-match=^aws-(.*)$",
    "--hostname-replacement",
    "x-$1",
  ]);
  assert.deepEqual(c.proxy?.config, {
    withoutDns: false,
    noDefaultIpalloc: true,
    rewriteInspect: true,
    noMulticastRoute: true,
    hostnameFromLabel: "app",
    hostnameMatch: "^aws-(.*)$",
    hostnameReplacement: "x-$1",
  });
  const quiet = parse([], {}, true);
  assert.equal(quiet.proxy?.config.withoutDns, true);
  assert.equal(quiet.plugin?.dns, false);
  assert.equal(parse(["--without-dns"]).proxy?.config.withoutDns, true);
});

Deno.test("parseDockerConfig: bad values are named", () => {
  assert.throws(
    () => parse(["-H", "tcp://0.0.0.0:12375"]),
    /^RangeError: Cannot parse -H: the proxy listens on a unix socket/,
  );
  assert.throws(() => parse(["--docker-api", "ssh://x"]), /Cannot parse --docker-api: /);
  assert.throws(() => parse(["--hostname-match", "("]), /Cannot parse --hostname-match: /);
  assert.throws(() => scanDockerArgs(["--frobnicate"]), /unknown flag "--frobnicate"/);
  assert.throws(() => scanDockerArgs(["-H"]), /needs a value/);
});
