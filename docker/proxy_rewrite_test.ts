import assert from "node:assert/strict";
import {
  ATTACH_LABEL,
  classifyRequest,
  containerOfPath,
  DEFAULT_PROXY_CONFIG,
  goReplaceAll,
  type ProxyConfig,
  ProxyRequestError,
  rewriteCreate,
  rewriteInspect,
  rewriteStart,
  weaveCidrs,
} from "./proxy_rewrite.ts";

const DNS = { domain: "weave.local.", address: "169.254.53.1" };

/** A captured create request (testdata/docker/README.md). */
function captured(name: string): { path: string; body: Record<string, unknown> } {
  const url = new URL(`../testdata/docker/${name}.json`, import.meta.url);
  return JSON.parse(Deno.readTextFileSync(url));
}

function nameOf(path: string): string {
  return new URL(path, "http://docker").searchParams.get("name") ?? "";
}

/** The fields the rewrite may change, to compare compactly. */
function view(body: Record<string, unknown>) {
  const hc = body.HostConfig as Record<string, unknown>;
  return {
    Hostname: body.Hostname,
    Domainname: body.Domainname,
    Labels: body.Labels,
    Dns: hc.Dns,
    DnsSearch: hc.DnsSearch,
  };
}

interface CreateCase {
  name: string;
  fixture: string;
  config?: Partial<ProxyConfig>;
  dns?: typeof DNS | undefined;
  attach: boolean;
  want?: ReturnType<typeof view>;
}

const CREATE_CASES: CreateCase[] = [
  {
    name:
      "docker run --name web1 -e WEAVE_CIDR=net:…: hostname web1.weave.local, weaveDNS, search .",
    fixture: "create-run-name-weave-cidr-net",
    attach: true,
    want: {
      Hostname: "web1",
      Domainname: "weave.local",
      Labels: { [ATTACH_LABEL]: "net:10.32.5.0/24" },
      Dns: ["169.254.53.1"],
      DnsSearch: ["."],
    },
  },
  {
    name: "--hostname and --dns/--dns-search of the user are kept; weaveDNS is added after theirs",
    fixture: "create-run-hostname-dns-label",
    attach: true,
    want: {
      Hostname: "db",
      Domainname: "",
      Labels: { app: "db", [ATTACH_LABEL]: "net:default" },
      Dns: ["10.0.0.53", "169.254.53.1"],
      DnsSearch: ["example.com"],
    },
  },
  {
    name: "--net=host is left alone",
    fixture: "create-net-host",
    attach: false,
  },
  {
    name: "WEAVE_CIDR=none is left alone",
    fixture: "create-label-cidr-none",
    attach: false,
  },
  {
    name: "--no-default-ipalloc: no WEAVE_CIDR, no weave",
    fixture: "create-run-hostname-dns-label",
    config: { noDefaultIpalloc: true },
    attach: false,
  },
  {
    name: "--no-default-ipalloc still attaches a container with WEAVE_CIDR",
    fixture: "create-run-name-weave-cidr-net",
    config: { noDefaultIpalloc: true },
    attach: true,
    want: {
      Hostname: "web1",
      Domainname: "weave.local",
      Labels: { [ATTACH_LABEL]: "net:10.32.5.0/24" },
      Dns: ["169.254.53.1"],
      DnsSearch: ["."],
    },
  },
  {
    name: "--without-dns: marked for weave, DNS and hostname untouched",
    fixture: "create-run-name-weave-cidr-net",
    config: { withoutDns: true },
    attach: true,
    want: {
      Hostname: "",
      Domainname: "",
      Labels: { [ATTACH_LABEL]: "net:10.32.5.0/24" },
      Dns: [],
      DnsSearch: [],
    },
  },
  {
    name: "weaveDNS not running (no DNS settings): hostname untouched too",
    fixture: "create-run-name-weave-cidr-net",
    dns: undefined,
    attach: true,
    want: {
      Hostname: "",
      Domainname: "",
      Labels: { [ATTACH_LABEL]: "net:10.32.5.0/24" },
      Dns: [],
      DnsSearch: [],
    },
  },
  {
    name: "--hostname-match/--hostname-replacement shape the name",
    fixture: "create-run-name-weave-cidr-net",
    config: { hostnameMatch: "^web([0-9]+)$", hostnameReplacement: "www-$1" },
    attach: true,
    want: {
      Hostname: "www-1",
      Domainname: "weave.local",
      Labels: { [ATTACH_LABEL]: "net:10.32.5.0/24" },
      Dns: ["169.254.53.1"],
      DnsSearch: ["."],
    },
  },
];

for (const c of CREATE_CASES) {
  Deno.test(`rewriteCreate: ${c.name}`, () => {
    const req = captured(c.fixture);
    const before = structuredClone(req.body);
    const config = { ...DEFAULT_PROXY_CONFIG, ...c.config };
    const dns = "dns" in c ? c.dns : DNS;
    const out = rewriteCreate(req.body, nameOf(req.path), config, dns);
    assert.equal(out.decision.attach, c.attach);
    assert.deepEqual(req.body, before, "the request object itself is not changed");
    if (!c.attach) {
      assert.equal(out.body, req.body, "left alone means forwarded as it came");
      return;
    }
    if (c.want) assert.deepEqual(view(out.body), c.want);
    // Everything else is forwarded as the client sent it.
    const rest = (b: Record<string, unknown>) => {
      const { Hostname: _h, Domainname: _d, Labels: _l, HostConfig, ...others } = b;
      const { Dns: _dns, DnsSearch: _s, ...hc } = HostConfig as Record<string, unknown>;
      return { others, hc };
    };
    assert.deepEqual(rest(out.body), rest(before));
  });
}

Deno.test("rewriteCreate: an unnamed container searches the weave domain", () => {
  const req = captured("create-run-hostname-dns-label");
  const body = structuredClone(req.body);
  body.Hostname = "";
  (body.HostConfig as Record<string, unknown>).DnsSearch = [];
  const out = rewriteCreate(body, "", DEFAULT_PROXY_CONFIG, DNS);
  assert.equal(out.body.Hostname, "");
  assert.deepEqual((out.body.HostConfig as Record<string, unknown>).DnsSearch, ["weave.local."]);
});

Deno.test("rewriteCreate: --hostname-from-label takes the label, else the name", () => {
  const req = captured("create-label-cidr-none");
  const body = structuredClone(req.body);
  body.Env = [];
  const config = { ...DEFAULT_PROXY_CONFIG, hostnameFromLabel: "weave.hostname" };
  assert.equal(rewriteCreate(body, "c4", config, DNS).body.Hostname, "api");
  body.Labels = {};
  assert.equal(rewriteCreate(body, "c4", config, DNS).body.Hostname, "c4");
});

Deno.test("rewriteCreate: a name too long for name.domain keeps no hostname, as Weave", () => {
  const long = "x".repeat(MAX_NAME_FOR_DEFAULT_DOMAIN + 1);
  const out = rewriteCreate({ HostConfig: {} }, long, DEFAULT_PROXY_CONFIG, DNS);
  assert.equal(out.body.Hostname, undefined);
  const fits = rewriteCreate({ HostConfig: {} }, long.slice(1), DEFAULT_PROXY_CONFIG, DNS);
  assert.equal(fits.body.Hostname, long.slice(1));
});
/** 64 - ".weave.local".length */
const MAX_NAME_FOR_DEFAULT_DOMAIN = 64 - 12;

Deno.test("rewriteCreate: bad WEAVE_CIDR and wrongly typed fields are ProxyRequestErrors", () => {
  for (
    const env of [["WEAVE_CIDR=10.32.0.1"], ["WEAVE_CIDR=net:300.0.0.0/8"], ["WEAVE_CIDR=ip:x"]]
  ) {
    assert.throws(
      () => rewriteCreate({ Env: env }, "c", DEFAULT_PROXY_CONFIG, DNS),
      (e: Error) => e instanceof ProxyRequestError && /^invalid WEAVE_CIDR: /.test(e.message),
    );
  }
  assert.throws(
    () => rewriteCreate({ Env: "x" }, "c", DEFAULT_PROXY_CONFIG, DNS),
    ProxyRequestError,
  );
  assert.throws(
    () => rewriteCreate({ HostConfig: [] }, "c", DEFAULT_PROXY_CONFIG, DNS),
    ProxyRequestError,
  );
});

Deno.test("weaveCidrs: Weave's table of network modes and WEAVE_CIDR values", () => {
  const table: [string, string[], boolean, unknown][] = [
    ["default", [], false, { attach: true, cidrs: ["net:default"] }],
    ["bridge", ["WEAVE_CIDR=10.32.1.1/12 net:10.40.0.0/16"], false, {
      attach: true,
      cidrs: ["10.32.1.1/12", "net:10.40.0.0/16"],
    }],
    ["none", ["WEAVE_CIDR=ip:10.32.1.1/12"], true, { attach: true, cidrs: ["ip:10.32.1.1/12"] }],
    ["", ["WEAVE_CIDR="], false, { attach: true, cidrs: ["net:default"] }],
    ["host", [], false, { attach: false, reason: "the container has '--net=host'" }],
    ["container:abc", [], false, {
      attach: false,
      reason: "the container has '--net=container:abc'",
    }],
    ["weave", [], false, { attach: false, reason: "the container has '--net=weave'" }],
  ];
  for (const [mode, env, noDefault, want] of table) {
    assert.deepEqual(weaveCidrs(mode, env, noDefault), want, `${mode} ${env}`);
  }
});

Deno.test("classifyRequest and containerOfPath: Weave's path patterns", () => {
  const table: [string, string, string | undefined][] = [
    ["POST", "/containers/create", "create"],
    ["POST", "/v1.41/containers/create", "create"],
    ["POST", "/v1.41/containers/abc/start", "start"],
    ["POST", "/containers/abc/restart", "start"],
    ["GET", "/v1.24/containers/abc/json", "inspect"],
    ["GET", "/containers/json", undefined],
    ["POST", "/v1.41/containers/abc/attach", undefined],
    ["GET", "/v1.41/containers/create", undefined],
    ["POST", "/v1.41/containers/abc/exec", undefined],
  ];
  for (const [method, path, want] of table) {
    assert.equal(classifyRequest(method, path), want, `${method} ${path}`);
  }
  assert.equal(containerOfPath("/v1.41/containers/web1/start"), "web1");
  assert.equal(containerOfPath("/containers/abc/json"), "abc");
});

Deno.test("rewriteStart: DNS put back only for containers the proxy marked", () => {
  const marked = { hostname: "web1", labels: { [ATTACH_LABEL]: "net:default" } };
  assert.deepEqual(rewriteStart({ Dns: ["1.1.1.1"] }, marked, DEFAULT_PROXY_CONFIG, DNS), {
    Dns: ["1.1.1.1", "169.254.53.1"],
    DnsSearch: ["."],
  });
  const body = { Binds: [] };
  assert.equal(rewriteStart(body, { hostname: "x", labels: {} }, DEFAULT_PROXY_CONFIG, DNS), body);
  const withoutDns = { ...DEFAULT_PROXY_CONFIG, withoutDns: true };
  assert.equal(rewriteStart(body, marked, withoutDns, DNS), body);
});

Deno.test("rewriteInspect: the weave address and MAC replace Docker's", () => {
  const inspect = { Id: "abc", NetworkSettings: { IPAddress: "", IPPrefixLen: 0, MacAddress: "" } };
  assert.deepEqual(
    rewriteInspect(inspect, { ip: "10.32.0.3", prefix: 12, mac: "aa:bb:cc:dd:ee:ff" }),
    {
      Id: "abc",
      NetworkSettings: { IPAddress: "10.32.0.3", IPPrefixLen: 12, MacAddress: "aa:bb:cc:dd:ee:ff" },
    },
  );
  assert.equal(inspect.NetworkSettings.IPAddress, "", "the original is not changed");
});

Deno.test("goReplaceAll: Go's ReplaceAllString, not JavaScript's replace", () => {
  assert.equal(goReplaceAll(/(.*)/, "web", "my-app-$1"), "my-app-web");
  assert.equal("web".replace(/(.*)/g, "my-app-$1"), "my-app-webmy-app-", "why it exists");
  assert.equal(goReplaceAll(/(.*)/, "", "x-$1"), "x-");
  assert.equal(goReplaceAll(/^aws-[0-9]+-(.*)$/, "aws-12-db", "${1}.prod"), "db.prod");
  assert.equal(goReplaceAll(/a/, "banana", "$$"), "b$n$n$");
  assert.equal(goReplaceAll(/(?<x>n)/, "banana", "[$x]"), "ba[n]a[n]a");
});
