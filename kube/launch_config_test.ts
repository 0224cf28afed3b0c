import assert from "node:assert/strict";
import { parseWeaverArgs } from "../router/config.ts";
import {
  type LaunchConfig,
  LaunchConfigError,
  parseLaunchEnv,
  routerLaunch,
} from "./launch_config.ts";

const DEFAULTS: LaunchConfig = {
  ipallocRange: "10.32.0.0/12",
  noFastdp: false,
  connLimit: 200,
  checkpointDisable: false,
  extraArgs: [],
  noMasqLocal: true,
  httpAddr: "127.0.0.1:6784",
  metricsAddr: "0.0.0.0:6782",
  dbPrefix: "/weavedb/weave-net",
  hostRoot: "/host",
  expectNpc: true,
  hairpinMode: true,
};

Deno.test("parseLaunchEnv: Weave's defaults, also for variables set to the empty string", () => {
  assert.deepEqual(parseLaunchEnv({}), DEFAULTS);
  const empty = Object.fromEntries(
    [
      "IPALLOC_RANGE",
      "CONN_LIMIT",
      "WEAVE_MTU",
      "WEAVE_NO_FASTDP",
      "EXPECT_NPC",
      "KUBE_PEERS",
      "DB_PREFIX",
    ]
      .map((k) => [k, ""]),
  );
  assert.deepEqual(parseLaunchEnv(empty), DEFAULTS);
});

Deno.test("parseLaunchEnv: every variable read into its field", () => {
  const table: [Record<string, string>, Partial<LaunchConfig>][] = [
    [{ IPALLOC_RANGE: "10.0.0.0/16" }, { ipallocRange: "10.0.0.0/16" }],
    [{ IPALLOC_RANGE: "10.0.0.1/16" }, { ipallocRange: "10.0.0.0/16" }],
    [{ IPALLOC_INIT: "consensus=3" }, { ipallocInit: "consensus=3" }],
    [{ IPALLOC_INIT: "observer" }, { ipallocInit: "observer" }],
    [{ IPALLOC_INIT: "seed=::1,::2" }, { ipallocInit: "seed=::1,::2" }],
    [{ WEAVE_MTU: "8916" }, { mtu: 8916 }],
    [{ WEAVE_NO_FASTDP: "1" }, { noFastdp: true }],
    [{ WEAVE_NO_FASTDP: "true" }, { noFastdp: true }], // any value, as launch.sh's [ -z ]
    [{ CONN_LIMIT: "0" }, { connLimit: 0 }],
    [{ CONN_LIMIT: "30" }, { connLimit: 30 }],
    [{ WEAVE_PASSWORD: "s3cr3t pass" }, { password: "s3cr3t pass" }],
    [{ WEAVE_PASSWORD_FILE: "/etc/weave/passwd" }, { passwordFile: "/etc/weave/passwd" }],
    [{ CHECKPOINT_DISABLE: "1" }, { checkpointDisable: true }],
    [{ EXTRA_ARGS: "  --log-level=debug   --trusted-subnets=10.0.0.0/8 " }, {
      extraArgs: ["--log-level=debug", "--trusted-subnets=10.0.0.0/8"],
    }],
    [{ NO_MASQ_LOCAL: "0" }, { noMasqLocal: false }],
    [{ NO_MASQ_LOCAL: "1" }, { noMasqLocal: true }],
    [{ KUBE_PEERS: "192.0.2.1 192.0.2.2\n192.0.2.3" }, {
      kubePeers: ["192.0.2.1", "192.0.2.2", "192.0.2.3"],
    }],
    [{ KUBE_PEERS: "   " }, {}],
    [{ HOSTNAME: "node-1.example" }, { hostname: "node-1.example" }],
    [{ WEAVE_HTTP_ADDR: "127.0.0.1:7784" }, { httpAddr: "127.0.0.1:7784" }],
    [{ WEAVE_METRICS_ADDR: ":9000" }, { metricsAddr: ":9000" }],
    [{ WEAVE_STATUS_ADDR: "0.0.0.0:6782" }, { statusAddr: "0.0.0.0:6782" }],
    [{ DB_PREFIX: "/var/lib/weave/w" }, { dbPrefix: "/var/lib/weave/w" }],
    [{ HOST_ROOT: "/" }, { hostRoot: "/" }],
    [{ EXPECT_NPC: "0" }, { expectNpc: false }],
    [{ HAIRPIN_MODE: "false" }, { hairpinMode: false }],
    [{ WEAVE_EXPOSE_IP: "10.32.0.1" }, { exposeIp: "10.32.0.1" }],
    [{ WEAVE_EXPOSE_IP: "10.32.0.1/12" }, { exposeIp: "10.32.0.1/12" }],
  ];
  for (const [env, changed] of table) {
    assert.deepEqual(parseLaunchEnv(env), { ...DEFAULTS, ...changed }, JSON.stringify(env));
  }
});

Deno.test("parseLaunchEnv: a bad value stops with one line naming the variable", () => {
  const table: [string, string, string][] = [
    ["IPALLOC_RANGE", "10.32.0.0", "a CIDR such as 10.32.0.0/12"],
    ["IPALLOC_RANGE", "10.32.0.0/33", "a CIDR such as 10.32.0.0/12"],
    ["IPALLOC_INIT", "consensus=two", "consensus[=<count>], seed=<peer>,... or observer"],
    ["IPALLOC_INIT", "paxos", "consensus[=<count>], seed=<peer>,... or observer"],
    ["WEAVE_MTU", "100", "an integer from 576 to 65535"],
    ["WEAVE_MTU", "1376 ", "an integer from 576 to 65535"],
    ["CONN_LIMIT", "-1", "an integer from 0 to 100000"],
    ["CONN_LIMIT", "lots", "an integer from 0 to 100000"],
    ["NO_MASQ_LOCAL", "false", "0 or 1"],
    ["EXPECT_NPC", "no", "0 or 1"],
    ["HAIRPIN_MODE", "1", "true or false"],
    ["WEAVE_HTTP_ADDR", "localhost", "an address such as 127.0.0.1:6784"],
    ["WEAVE_METRICS_ADDR", "0.0.0.0:99999", "an address such as 127.0.0.1:6784"],
    ["WEAVE_STATUS_ADDR", "6782", "an address such as 127.0.0.1:6784"],
    ["DB_PREFIX", "weavedb/weave-net", "an absolute path"],
    ["HOST_ROOT", "host", "an absolute path"],
    ["WEAVE_PASSWORD_FILE", "passwd", "an absolute path"],
    ["KUBE_PEERS", "192.0.2.1 192.0.2.2;rm", "a host or address (one of a list)"],
    ["HOSTNAME", "node 1", "a host name"],
    ["WEAVE_EXPOSE_IP", "10.32.0.300", "an IPv4 address or CIDR"],
    ["WEAVE_EXPOSE_IP", "10.32.0.1/40", "an IPv4 address or CIDR"],
  ];
  for (const [name, value, expected] of table) {
    assert.throws(() => parseLaunchEnv({ [name]: value }), (e: Error) => {
      assert.ok(e instanceof LaunchConfigError, name);
      assert.equal(e.variable, name);
      const shown = name === "KUBE_PEERS" ? "192.0.2.2;rm" : value;
      assert.equal(e.message, `Cannot start: ${name}=${JSON.stringify(shown)} is not ${expected}`);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
});

const HOST = { hostname: "h", instance: "default" };

Deno.test("routerLaunch: Weave's weaver arguments, which our router's parser accepts", () => {
  const c = parseLaunchEnv({ HOSTNAME: "node-1" });
  const r = routerLaunch(c, { peers: ["192.0.2.2", "192.0.2.3"], consensus: 3 });
  assert.deepEqual(r.args, [
    "--port=6783",
    "--http-addr=127.0.0.1:6784",
    "--metrics-addr=0.0.0.0:6782",
    "--status-addr=",
    "--no-dns",
    "--db-prefix=/weavedb/weave-net",
    "--ipalloc-range=10.32.0.0/12",
    "--nickname=node-1",
    "--ipalloc-init=consensus=3",
    "--conn-limit=200",
    "192.0.2.2",
    "192.0.2.3",
  ]);
  assert.deepEqual(r.env, {});
  const w = parseWeaverArgs(r.args, {}, HOST);
  assert.deepEqual(
    [w.port, w.nickName, w.ipallocInit, w.connLimit, w.peers, w.noDns, w.statusAddr],
    [6783, "node-1", "consensus=3", 200, ["192.0.2.2", "192.0.2.3"], true, ""],
  );
});

Deno.test("routerLaunch: every option that changes the arguments", () => {
  const c = parseLaunchEnv({
    EXTRA_ARGS: "--log-level=debug",
    WEAVE_MTU: "1400",
    WEAVE_NO_FASTDP: "1",
    WEAVE_STATUS_ADDR: "0.0.0.0:6782",
    WEAVE_METRICS_ADDR: "0.0.0.0:6781",
    IPALLOC_INIT: "observer",
    IPALLOC_RANGE: "10.0.0.0/16",
    CONN_LIMIT: "30",
    DB_PREFIX: "/data/w",
    WEAVE_PASSWORD: "pw",
  });
  const r = routerLaunch(c, { peers: [], consensus: 1, peerName: "02:00:00:00:00:01" });
  assert.deepEqual(r.args, [
    "--log-level=debug",
    "--port=6783",
    "--name=02:00:00:00:00:01",
    "--mtu=1400",
    "--no-fastdp",
    "--http-addr=127.0.0.1:6784",
    "--metrics-addr=0.0.0.0:6781",
    "--status-addr=0.0.0.0:6782",
    "--no-dns",
    "--db-prefix=/data/w",
    "--ipalloc-range=10.0.0.0/16",
    "--ipalloc-init=observer",
    "--conn-limit=30",
  ]);
  assert.deepEqual(r.env, { WEAVE_PASSWORD: "pw" });
  assert.ok(!r.args.some((a) => a.includes("pw") && !a.includes("/")));
  const w = parseWeaverArgs(r.args, r.env, HOST);
  assert.deepEqual(
    [w.name, w.mtu, w.noFastdp, w.metricsAddr, w.dbPrefix, w.ipallocRange, w.logLevel],
    [0x020000000001n, 1400, true, "0.0.0.0:6781", "/data/w", "10.0.0.0/16", "debug"],
  );
  assert.deepEqual(w.password, new TextEncoder().encode("pw"));
  // A password read from a mounted file wins over none in the environment.
  assert.deepEqual(
    routerLaunch(parseLaunchEnv({}), { peers: [], consensus: 1, password: "f" }).env,
    {
      WEAVE_PASSWORD: "f",
    },
  );
});

Deno.test("routerLaunch: a bad EXTRA_ARGS flag is caught by the router's parser with its name", () => {
  const r = routerLaunch(parseLaunchEnv({ EXTRA_ARGS: "--bogus=1" }), { peers: [], consensus: 1 });
  assert.throws(() => parseWeaverArgs(r.args, {}, HOST), /unknown flag "--bogus"/);
});
