import assert from "node:assert/strict";
import type { PluginDeps } from "./deps.ts";
import { FakeIpam } from "./fake_ipam.ts";
import { FakePlumbing } from "./fake_plumbing.ts";
import { type CniIo, runCni } from "./main.ts";
import type { PluginName } from "./mode.ts";

const NETNS = "/var/run/netns/p1";

async function invoke(env: Record<string, string>, stdin: string, name: PluginName = "weave-net") {
  let stdout = "";
  let stderr = "";
  const io: CniIo = {
    env,
    readStdin: () => Promise.resolve(stdin),
    out: (t) => void (stdout += t),
    err: (t) => void (stderr += t),
  };
  const kernel = new FakePlumbing();
  kernel.namespaces.add(NETNS);
  const ipam = new FakeIpam();
  const deps: PluginDeps = { ipam, plumbing: () => kernel, delegate: () => Promise.resolve({}) };
  const code = await runCni(name, io, () => deps);
  return { code, stdout, stderr, ipam };
}

const env = (command: string) => ({
  CNI_COMMAND: command,
  CNI_CONTAINERID: "c0ffee1234",
  CNI_NETNS: NETNS,
  CNI_IFNAME: "eth0",
  CNI_PATH: "/opt/cni/bin",
});
const conf = (v = "1.0.0") => JSON.stringify({ cniVersion: v, name: "weave", type: "weave-net" });

Deno.test("runCni ADD prints only the result on stdout and nothing on stderr", async () => {
  const r = await invoke(env("ADD"), conf("0.4.0"));
  assert.equal(r.code, 0);
  assert.equal(r.stderr, "");
  assert.ok(r.stdout.endsWith("\n"));
  const out = JSON.parse(r.stdout);
  assert.equal(out.cniVersion, "0.4.0");
  assert.equal(out.ips[0].version, "4");
  assert.equal(out.interfaces[0].name, "vethweplc0ffee1");
});

Deno.test("runCni VERSION answers whatever stdin is", async () => {
  for (const stdin of ["", "garbage", '{"cniVersion":"9.9.9"}']) {
    const r = await invoke({ CNI_COMMAND: "VERSION" }, stdin);
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.stdout).supportedVersions, [
      "0.3.0",
      "0.3.1",
      "0.4.0",
      "1.0.0",
      "1.1.0",
    ]);
  }
});

Deno.test("runCni errors: the spec's JSON on stdout, exit 1, one weave-cni: line on stderr", async () => {
  const table: [Record<string, string>, string, number, string][] = [
    [env("ADD"), "garbage\non two lines", 6, "1.1.0"],
    [env("ADD"), conf("0.2.0"), 1, "1.1.0"],
    [env("ADD"), JSON.stringify({ cniVersion: "0.3.1", name: "weave" }), 7, "0.3.1"],
    [{ ...env("ADD"), CNI_NETNS: "" }, conf(), 4, "1.0.0"],
    [{ ...env("ADD"), CNI_COMMAND: "" }, conf(), 4, "1.1.0"],
    [{ ...env("ADD"), CNI_NETNS: "/var/run/netns/gone" }, conf(), 3, "1.0.0"],
    [env("CHECK"), conf("0.3.1"), 1, "0.3.1"],
  ];
  for (const [e, stdin, code, version] of table) {
    const r = await invoke(e, stdin);
    const what = `${JSON.stringify(e)} ${stdin}`;
    assert.equal(r.code, 1, what);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 1, `one JSON line on stdout: ${what}`);
    const err = JSON.parse(lines[0]);
    assert.deepEqual(Object.keys(err), ["cniVersion", "code", "msg"], what);
    assert.equal(err.code, code, `${what}: ${err.msg}`);
    assert.equal(err.cniVersion, version, what);
    assert.match(r.stderr, /^weave-cni: weave-net: [^\n]+\n$/, what);
    assert.doesNotMatch(r.stderr, /\s+at\s/, "no stack trace");
  }
});

Deno.test("runCni as weave-ipam answers an IPAM result", async () => {
  const r = await invoke(env("ADD"), conf("1.0.0"), "weave-ipam");
  assert.equal(r.code, 0, r.stdout);
  assert.deepEqual(JSON.parse(r.stdout), {
    cniVersion: "1.0.0",
    ips: [{ address: "10.32.0.1/12" }],
    dns: {},
  });
  const d = await invoke(env("DEL"), "not json either", "weave-ipam");
  assert.equal(d.code, 0, d.stdout);
  assert.equal(d.stdout, "");
});
