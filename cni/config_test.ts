import assert from "node:assert/strict";
import { parseNetConf, peekVersion } from "./config.ts";
import { CniCode, CniError } from "./errors.ts";

const base = { cniVersion: "1.0.0", name: "weave", type: "weave-net" };
const conf = (extra: Record<string, unknown>) => JSON.stringify({ ...base, ...extra });

Deno.test("parseNetConf defaults every Weave key", () => {
  const c = parseNetConf(conf({}));
  assert.deepEqual(
    {
      bridge: c.bridge,
      mtu: c.mtu,
      hairpinMode: c.hairpinMode,
      ipam: c.ipam,
      dns: c.dns,
      runtimeConfig: c.runtimeConfig,
    },
    { bridge: "weave", mtu: 0, hairpinMode: false, ipam: {}, dns: {}, runtimeConfig: {} },
  );
  assert.equal(c.prevResult, undefined);
  assert.equal(c.validAttachments, undefined);
});

Deno.test("parseNetConf reads each key", () => {
  const table: [
    Record<string, unknown>,
    (c: ReturnType<typeof parseNetConf>) => unknown,
    unknown,
  ][] = [
    [{ bridge: "br-pods" }, (c) => c.bridge, "br-pods"],
    [{ mtu: 1410 }, (c) => c.mtu, 1410],
    [{ mtu: 0 }, (c) => c.mtu, 0],
    [{ hairpinMode: true }, (c) => c.hairpinMode, true],
    [{ ipam: { type: "host-local", ranges: [] } }, (c) => c.ipam, { type: "host-local" }],
    [{ ipam: { type: "" } }, (c) => c.ipam, {}],
    [{ ipam: { subnet: "10.40.0.0/16" } }, (c) => c.ipam.subnet, "10.40.0.0/16"],
    [{ ipam: { gateway: "10.40.0.1" } }, (c) => c.ipam.gateway, "10.40.0.1"],
    [
      { ipam: { routes: [{ dst: "0.0.0.0/0" }, { dst: "10.0.0.0/8", gw: "10.40.0.9" }] } },
      (c) => c.ipam.routes,
      [{ dst: "0.0.0.0/0" }, { dst: "10.0.0.0/8", gw: "10.40.0.9" }],
    ],
    [{ ipam: { routes: [] } }, (c) => c.ipam.routes, []],
    [
      {
        dns: {
          nameservers: ["10.96.0.10"],
          domain: "cluster.local",
          search: ["a"],
          options: ["ndots:5"],
        },
      },
      (c) => c.dns,
      { nameservers: ["10.96.0.10"], domain: "cluster.local", search: ["a"], options: ["ndots:5"] },
    ],
    [{ isGateway: false, ipMasq: false }, (c) => c.type, "weave-net"],
    [{ prevResult: { ips: [] } }, (c) => c.prevResult, { ips: [] }],
    [{ runtimeConfig: { portMappings: [] } }, (c) => c.runtimeConfig, { portMappings: [] }],
    [
      { "cni.dev/valid-attachments": [{ containerID: "a1", ifname: "eth0" }] },
      (c) => c.validAttachments,
      [{ containerID: "a1", ifname: "eth0" }],
    ],
    [{ capabilities: { portMappings: true }, somethingElse: 1 }, (c) => c.name, "weave"],
    [{ mtu: null }, (c) => c.mtu, 0],
  ];
  for (const [extra, get, want] of table) {
    assert.deepEqual(get(parseNetConf(conf(extra))), want, JSON.stringify(extra));
  }
});

Deno.test("parseNetConf refuses bad configs with the right code and a message naming the key", () => {
  const table: [string, number, RegExp][] = [
    ["", CniCode.DecodeFailure, /stdin is empty/],
    ["garbage", CniCode.DecodeFailure, /not JSON/],
    ["[1,2]", CniCode.DecodeFailure, /not a JSON object/],
    ['"text"', CniCode.DecodeFailure, /not a JSON object/],
    [JSON.stringify({ name: "weave", type: "weave-net" }), CniCode.InvalidConfig, /"cniVersion"/],
    [conf({ cniVersion: "0.2.0" }), CniCode.IncompatibleVersion, /"0\.2\.0".*supports 0\.3\.0/],
    [conf({ cniVersion: "2.0.0" }), CniCode.IncompatibleVersion, /"2\.0\.0"/],
    [conf({ cniVersion: 1 }), CniCode.InvalidConfig, /"cniVersion" must be a string/],
    [conf({ name: undefined }), CniCode.InvalidConfig, /"name" is missing/],
    [conf({ name: "-bad" }), CniCode.InvalidConfig, /"name" "-bad"/],
    [conf({ type: "" }), CniCode.InvalidConfig, /"type" must be a non-empty string/],
    [conf({ bridge: 7 }), CniCode.InvalidConfig, /"bridge" is 7: want a string/],
    [conf({ bridge: "a-bridge-name-too-long" }), CniCode.InvalidConfig, /"bridge".*interface name/],
    [conf({ mtu: "1376" }), CniCode.InvalidConfig, /"mtu" is "1376": want a number/],
    [conf({ mtu: 1.5 }), CniCode.InvalidConfig, /"mtu" is 1\.5/],
    [conf({ mtu: 20 }), CniCode.InvalidConfig, /"mtu" is 20/],
    [conf({ mtu: 70000 }), CniCode.InvalidConfig, /"mtu" is 70000/],
    [
      conf({ hairpinMode: "true" }),
      CniCode.InvalidConfig,
      /"hairpinMode" is "true": want a boolean/,
    ],
    [
      conf({ isGateway: true }),
      CniCode.UnsupportedField,
      /"isGateway": true: gateway functionality/,
    ],
    [conf({ ipMasq: true }), CniCode.UnsupportedField, /"ipMasq": true: IP masquerading/],
    [conf({ isGateway: "yes" }), CniCode.InvalidConfig, /"isGateway" is "yes"/],
    [conf({ ipam: "weave" }), CniCode.InvalidConfig, /"ipam" is "weave": want an object/],
    [conf({ ipam: { type: 3 } }), CniCode.InvalidConfig, /"ipam.type" is 3/],
    [conf({ ipam: { type: "../x" } }), CniCode.InvalidConfig, /"ipam.type".*plugin file name/],
    [conf({ ipam: { subnet: "10.40.0.0" } }), CniCode.InvalidConfig, /"ipam.subnet".*CIDR/],
    [conf({ ipam: { subnet: "10.40.0.300/16" } }), CniCode.InvalidConfig, /"ipam.subnet"/],
    [conf({ ipam: { subnet: "10.40.0.0/33" } }), CniCode.InvalidConfig, /"ipam.subnet"/],
    [
      conf({ ipam: { subnet: "10.40.1.7/16" } }),
      CniCode.InvalidConfig,
      /host bits zero, e\.g\. 10\.40\.0\.0\/16/,
    ],
    [conf({ ipam: { gateway: "gw" } }), CniCode.InvalidConfig, /"ipam.gateway" is "gw"/],
    [conf({ ipam: { routes: {} } }), CniCode.InvalidConfig, /"ipam.routes".*array/],
    [conf({ ipam: { routes: [{}] } }), CniCode.InvalidConfig, /"ipam.routes\[0\].dst"/],
    [
      conf({ ipam: { routes: [{ dst: "0.0.0.0/0", gw: 1 }] } }),
      CniCode.InvalidConfig,
      /\.gw" is 1/,
    ],
    [conf({ dns: [] }), CniCode.InvalidConfig, /"dns" is \[\]/],
    [conf({ dns: { nameservers: "1.1.1.1" } }), CniCode.InvalidConfig, /"dns.nameservers"/],
    [conf({ dns: { domain: 5 } }), CniCode.InvalidConfig, /"dns.domain"/],
    [conf({ prevResult: [] }), CniCode.InvalidConfig, /"prevResult" is \[\]/],
    [
      conf({ "cni.dev/valid-attachments": [{ containerID: 1 }] }),
      CniCode.InvalidConfig,
      /valid-attachments\[0\]/,
    ],
  ];
  for (const [text, code, message] of table) {
    assert.throws(() => parseNetConf(text), (e: unknown) => {
      assert.ok(e instanceof CniError, `${text}: ${e}`);
      assert.equal(e.code, code, `${text}: ${e.message}`);
      assert.match(e.message, message, text);
      return true;
    });
  }
});

Deno.test("parseNetConf survives hostile input: only CniErrors, never a crash", () => {
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const pieces = [
    '{"',
    '":',
    "[",
    "]",
    "}",
    ",",
    "null",
    "1e999",
    '"\\u0000"',
    "true",
    "cniVersion",
  ];
  for (let i = 0; i < 2000; i++) {
    let text = "";
    for (let j = Math.floor(rnd() * 12); j > 0; j--) {
      text += pieces[Math.floor(rnd() * pieces.length)];
    }
    try {
      parseNetConf(text);
    } catch (e) {
      assert.ok(e instanceof CniError, `${JSON.stringify(text)} threw ${e}`);
    }
  }
});

Deno.test("peekVersion reads only cniVersion and never throws", () => {
  assert.equal(peekVersion('{"cniVersion":"0.4.0"}'), "0.4.0");
  assert.equal(peekVersion("nope"), undefined);
  assert.equal(peekVersion("null"), undefined);
  assert.equal(peekVersion('{"cniVersion":4}'), undefined);
});
