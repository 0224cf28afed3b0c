import assert from "node:assert/strict";
import { parseWeaverArgs, type WeaverConfig } from "./config.ts";

const defaults = { hostname: "host-0", instance: "default" };
const parse = (argv: string[], env: Record<string, string> = {}) =>
  parseWeaverArgs(argv, env, defaults);

Deno.test("parseWeaverArgs applies Weave's defaults", () => {
  const expected: WeaverConfig = {
    port: 6783,
    name: undefined,
    nickName: "host-0",
    password: undefined,
    trustedSubnets: [],
    connLimit: 200,
    discovery: true,
    host: "0.0.0.0",
    httpAddr: "127.0.0.1:6784",
    socketPath: "/run/weave/default/weave.sock",
    statusAddr: "127.0.0.1:6782",
    metricsAddr: "",
    dbPrefix: "/var/lib/weave/default/weave",
    logLevel: "info",
    peers: [],
    foreground: false,
    bridge: "weave",
    mtu: 1376,
    noFastdp: false,
    ipallocRange: "10.32.0.0/12",
    ipallocDefaultSubnet: "10.32.0.0/12",
    ipallocInit: "consensus",
    noDns: false,
    dnsListenAddress: "",
    dnsDomain: "weave.local.",
    dnsTtl: 1,
    resolvConf: "/etc/resolv.conf",
    dnsFallbackTimeoutMs: 5000,
    docker: {
      docker: { kind: "unix", path: "/var/run/docker.sock" },
      proxy: {
        listen: "/var/run/weave/weave.sock",
        config: {
          withoutDns: false,
          noDefaultIpalloc: false,
          rewriteInspect: false,
          noMulticastRoute: false,
          hostnameFromLabel: "",
          hostnameMatch: "(.*)",
          hostnameReplacement: "$1",
        },
      },
      plugin: { dir: "/run/docker/plugins", dns: true },
    },
  };
  assert.deepEqual(parse([]), expected);
  assert.equal(
    parseWeaverArgs([], {}, { hostname: "x", instance: "ns1" }).socketPath,
    "/run/weave/ns1/weave.sock",
  );
});

Deno.test("parseWeaverArgs reads every flag in both spellings", () => {
  const cases: [string[], Partial<WeaverConfig>][] = [
    [["--mtu=8916"], { mtu: 8916 }],
    [["--no-fastdp"], { noFastdp: true }],
    [["--weave-bridge", "wbr0"], { bridge: "wbr0" }],
    [["--ipalloc-range="], { ipallocRange: "", ipallocDefaultSubnet: "" }],
    [["--ipalloc-range", "10.2.0.0/16"], {
      ipallocRange: "10.2.0.0/16",
      ipallocDefaultSubnet: "10.2.0.0/16",
    }],
    [["--ipalloc-default-subnet", "10.32.5.1/24"], { ipallocDefaultSubnet: "10.32.5.0/24" }],
    [["--ipalloc-init", "consensus=3"], { ipallocInit: "consensus=3" }],
    [["--ipalloc-init=seed=02:00:00:00:00:01,h2"], { ipallocInit: "seed=02:00:00:00:00:01,h2" }],
    [["--ipalloc-init", "observer"], { ipallocInit: "observer" }],
    [["--no-dns"], {
      noDns: true,
      docker: {
        docker: { kind: "unix", path: "/var/run/docker.sock" },
        proxy: {
          listen: "/var/run/weave/weave.sock",
          config: {
            withoutDns: true,
            noDefaultIpalloc: false,
            rewriteInspect: false,
            noMulticastRoute: false,
            hostnameFromLabel: "",
            hostnameMatch: "(.*)",
            hostnameReplacement: "$1",
          },
        },
        plugin: { dir: "/run/docker/plugins", dns: false },
      },
    }],
    [["--docker-api="], { docker: undefined }],
    [["--proxy=false", "--plugin=false", "--docker-api", "unix:///d.sock"], {
      docker: { docker: { kind: "unix", path: "/d.sock" } },
    }],
    [["--dns-listen-address", "10.32.0.1:53"], { dnsListenAddress: "10.32.0.1:53" }],
    [["--dns-domain", "Example.Net"], { dnsDomain: "example.net." }],
    [["--dns-ttl", "30"], { dnsTtl: 30 }],
    [["--dns-fallback-timeout", "250ms"], { dnsFallbackTimeoutMs: 250 }],
    [["--port=7000"], { port: 7000 }],
    [["--port", "7000"], { port: 7000 }],
    [["-port", "7000"], { port: 7000 }],
    [["--name", "02:00:00:00:00:01"], { name: 0x020000000001n }],
    [["--name=::1"], { name: 1n }],
    [["--nickname=h1"], { nickName: "h1" }],
    [["--password", "sëcret"], { password: new TextEncoder().encode("sëcret") }],
    [["--trusted-subnets=10.0.0.0/8, 192.168.1.0/24"], {
      trustedSubnets: ["10.0.0.0/8", "192.168.1.0/24"],
    }],
    [["--trusted-subnets", "fd00::/8"], { trustedSubnets: ["fd00::/8"] }],
    [["--conn-limit=0"], { connLimit: 0 }],
    [["--no-discovery"], { discovery: false }],
    [["--no-discovery=false"], { discovery: true }],
    [["--host", "192.0.2.1"], { host: "192.0.2.1" }],
    [["--http-addr="], { httpAddr: "" }],
    [["--http-addr=/run/w.sock"], { httpAddr: "/run/w.sock" }],
    [["--socket", "/tmp/x.sock"], { socketPath: "/tmp/x.sock" }],
    [["--socket="], { socketPath: "" }],
    [["--status-addr", "0.0.0.0:6782"], { statusAddr: "0.0.0.0:6782" }],
    [["--metrics-addr=:9000"], { metricsAddr: ":9000" }],
    [["--db-prefix=/tmp/db/weave"], { dbPrefix: "/tmp/db/weave" }],
    [["--log-level=debug"], { logLevel: "debug" }],
    [["--log-level", "warn"], { logLevel: "warning" }],
    [["--foreground"], { foreground: true }],
    [["10.0.0.2", "--port=1", "h3:6783"], { peers: ["10.0.0.2", "h3:6783"], port: 1 }],
    [["--", "--odd"], { peers: ["--odd"] }],
  ];
  for (const [argv, want] of cases) {
    const got = parse(argv) as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(want)) {
      assert.deepEqual(got[key], value, argv.join(" "));
    }
  }
});

Deno.test("parseWeaverArgs takes environment variables when flags are absent", () => {
  const env = {
    WEAVE_PORT: "7001",
    CONN_LIMIT: "5",
    WEAVE_PASSWORD: "pw",
    WEAVE_HTTP_ADDR: "127.0.0.1:7784",
    WEAVE_STATUS_ADDR: "127.0.0.1:7782",
    WEAVE_METRICS_ADDR: "0.0.0.0:7782",
  };
  const c = parse([], env);
  assert.deepEqual(
    [c.port, c.connLimit, c.password, c.httpAddr, c.statusAddr, c.metricsAddr],
    [7001, 5, new TextEncoder().encode("pw"), "127.0.0.1:7784", "127.0.0.1:7782", "0.0.0.0:7782"],
  );
  const flagsWin = parse(["--port=7002", "--password=x", "--conn-limit=9"], env);
  assert.deepEqual([flagsWin.port, flagsWin.password, flagsWin.connLimit], [
    7002,
    new Uint8Array([120]),
    9,
  ]);
  assert.equal(parse([], { WEAVE_PORT: "", WEAVE_PASSWORD: "" }).port, 6783);
  assert.equal(parse([], { WEAVE_PASSWORD: "" }).password, undefined);
});

Deno.test("parseWeaverArgs rejects bad input with sentences naming the flag", () => {
  const cases: [string[], RegExp, ErrorConstructor][] = [
    [["--bogus"], /unknown flag "--bogus"/, SyntaxError],
    [["--bogus=1"], /unknown flag "--bogus"/, SyntaxError],
    [["--port"], /flag "--port" needs a value/, SyntaxError],
    [["--port=0"], /--port: "0" is not an integer from 1 to 65535/, RangeError],
    [["--port=65536"], /--port/, RangeError],
    [["--port=1e3"], /--port/, RangeError],
    [["--conn-limit=-1"], /--conn-limit/, RangeError],
    [["--name=zz"], /--name: Cannot parse peer name "zz"/, RangeError],
    [["--trusted-subnets=10.0.0.0"], /--trusted-subnets: "10.0.0.0"/, RangeError],
    [["--trusted-subnets=10.0.0.0/33"], /--trusted-subnets/, RangeError],
    [["--trusted-subnets=300.0.0.0/8"], /--trusted-subnets/, RangeError],
    [["--host=localhost"], /--host: "localhost" is not an IP address/, RangeError],
    [["--http-addr=6784"], /--http-addr/, RangeError],
    [["--status-addr=/x.sock"], /--status-addr/, RangeError],
    [["--socket=rel.sock"], /--socket: "rel.sock" is not an absolute path/, RangeError],
    [["--db-prefix="], /--db-prefix/, RangeError],
    [["--log-level=loud"], /--log-level/, RangeError],
    [["--no-discovery=maybe"], /--no-discovery: "maybe" is not a boolean/, RangeError],
  ];
  for (const [argv, message, kind] of cases) {
    assert.throws(
      () => parse(argv),
      (e: Error) => e instanceof kind && message.test(e.message),
      argv.join(" "),
    );
  }
  assert.throws(() => parse([], { WEAVE_PORT: "x" }), /--port/);
});

Deno.test("parseWeaverArgs never throws anything but TypeError, RangeError or SyntaxError on random argv", () => {
  const pieces = [
    "--port",
    "--port=",
    "-name",
    "--nickname",
    "--password=",
    "--trusted-subnets",
    "--conn-limit",
    "--no-discovery",
    "--host",
    "--http-addr",
    "--socket",
    "--status-addr",
    "--metrics-addr",
    "--db-prefix",
    "--log-level",
    "--foreground",
    "--",
    "-",
    "=",
    "1",
    "65535",
    "::1",
    "10.0.0.0/8",
    "/x",
    "debug",
    "true",
    "02:00:00:00:00:01",
    "",
    "é",
    "--x",
    "a:b",
    "1.2.3.4:5",
  ];
  let seed = 42;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (let i = 0; i < 5000; i++) {
    const argv = Array.from({ length: rand(6) }, () => {
      const a = pieces[rand(pieces.length)];
      return rand(3) === 0 ? a + pieces[rand(pieces.length)] : a;
    });
    try {
      parse(argv, rand(2) ? { WEAVE_PORT: pieces[rand(pieces.length)] } : {});
    } catch (e) {
      assert.ok(
        e instanceof TypeError || e instanceof RangeError || e instanceof SyntaxError,
        `${JSON.stringify(argv)}: ${e}`,
      );
    }
  }
});

Deno.test("parseWeaverArgs reads the data-plane and IPAM environment variables", () => {
  const c = parse([], {
    WEAVE_MTU: "8916",
    WEAVE_NO_FASTDP: "1",
    IPALLOC_RANGE: "10.40.0.0/16",
    IPALLOC_INIT: "consensus=2",
  });
  assert.equal(c.mtu, 8916);
  assert.equal(c.noFastdp, true);
  assert.equal(c.ipallocRange, "10.40.0.0/16");
  assert.equal(c.ipallocInit, "consensus=2");
  assert.equal(parse(["--mtu", "1400"], { WEAVE_MTU: "8916" }).mtu, 1400, "flag wins");
  for (
    const bad of [
      ["--mtu", "100"],
      ["--ipalloc-range", "10.0.0.0"],
      ["--ipalloc-init", "sometimes"],
      ["--dns-domain", "bad domain"],
      ["--dns-fallback-timeout", "5"],
      ["--weave-bridge", "a-name-that-is-too-long"],
    ]
  ) assert.throws(() => parse(bad), RangeError, bad.join(" "));
});
