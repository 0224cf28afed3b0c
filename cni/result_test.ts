import assert from "node:assert/strict";
import { CniCode, CniError } from "./errors.ts";
import { type CniResult, decodeResult, encodeResult } from "./result.ts";
import { SUPPORTED_VERSIONS } from "./version.ts";

const pod: CniResult = {
  interfaces: [
    { name: "vethwepl4b0c1d2", mac: "aa:bb:cc:00:00:01" },
    { name: "eth0", mac: "aa:bb:cc:00:00:02", mtu: 1376, sandbox: "/var/run/netns/cni-1" },
  ],
  ips: [{ address: "10.32.0.2/12", gateway: "10.32.0.1", interface: 1 }],
  routes: [{ dst: "0.0.0.0/0", gw: "10.32.0.1" }],
  dns: { nameservers: ["10.96.0.10"], search: ["svc.cluster.local"] },
};

const golden = (v: string) =>
  Deno.readTextFileSync(new URL(`../testdata/cni/result-${v}.json`, import.meta.url));

Deno.test("encodeResult matches the golden JSON of every supported version, key order included", () => {
  for (const v of SUPPORTED_VERSIONS) {
    const want = JSON.parse(golden(v));
    const got = encodeResult(pod, v);
    assert.deepEqual(got, want, v);
    assert.equal(JSON.stringify(got), JSON.stringify(want), `${v}: key order`);
  }
});

Deno.test("encodeResult of an IPAM-only result has no interfaces and no interface index", () => {
  const got = encodeResult({
    interfaces: [],
    ips: [{ address: "10.40.0.5/16" }],
    routes: [],
    dns: {},
  }, "1.0.0");
  assert.deepEqual(got, { cniVersion: "1.0.0", ips: [{ address: "10.40.0.5/16" }], dns: {} });
});

Deno.test("decodeResult reads back each version's golden result", () => {
  for (const v of SUPPORTED_VERSIONS) {
    const got = decodeResult(JSON.parse(golden(v)));
    const want = v === "1.1.0" ? pod : {
      ...pod,
      interfaces: [pod.interfaces[0], { ...pod.interfaces[1], mtu: undefined }],
    };
    assert.deepEqual(JSON.parse(JSON.stringify(got)), JSON.parse(JSON.stringify(want)), v);
  }
});

Deno.test("decodeResult refuses what is not a result (code 6)", () => {
  const table: unknown[] = [
    null,
    "x",
    { ips: {} },
    { ips: [{}] },
    { ips: [{ version: "6", address: "fd00::1/64" }] },
    { interfaces: [{}] },
    { routes: [{ dst: "nope" }] },
  ];
  for (const doc of table) {
    assert.throws(() => decodeResult(doc), (e: unknown) => {
      assert.ok(
        e instanceof CniError && e.code === CniCode.DecodeFailure,
        `${JSON.stringify(doc)}: ${e}`,
      );
      return true;
    });
  }
});
