import assert from "node:assert/strict";
import {
  formatResolvConf,
  isNetnsName,
  isOurResolvConf,
  removeResolvConf,
  resolvConfPath,
  sweepResolvConfs,
  writeResolvConf,
} from "./resolv_conf.ts";

const CONF = { containerID: "c1", nameserver: "169.254.53.1", domain: "weave.local." };

Deno.test("formatResolvConf names the nameserver and searches the domain, marked as ours", () => {
  const text = formatResolvConf(CONF);
  assert.equal(
    text,
    "# weave: resolv.conf of container c1 (removed by weave detach)\n" +
      "nameserver 169.254.53.1\nsearch weave.local\n",
  );
  assert.ok(isOurResolvConf(text));
  assert.ok(!isOurResolvConf("nameserver 1.1.1.1\n"));
  assert.throws(
    () => formatResolvConf({ ...CONF, nameserver: "x\nnameserver 6.6.6.6" }),
    TypeError,
  );
  assert.throws(() => formatResolvConf({ ...CONF, domain: "a b" }), TypeError);
});

Deno.test("resolvConfPath accepts netns names only", () => {
  assert.equal(resolvConfPath("c1"), "/etc/netns/c1/resolv.conf");
  assert.equal(resolvConfPath("c1", { etcNetns: "/tmp/x" }), "/tmp/x/c1/resolv.conf");
  for (const bad of ["", "..", "a/b", "pid:1", "/run/netns/c1"]) {
    assert.throws(() => resolvConfPath(bad), TypeError, bad);
    assert.equal(isNetnsName(bad), false, bad);
  }
});

Deno.test("writeResolvConf writes ours, never a foreign file; removeResolvConf removes only ours", async () => {
  const etcNetns = await Deno.makeTempDir();
  const opts = { etcNetns };
  try {
    assert.equal(await writeResolvConf(CONF, opts), true);
    assert.equal(await Deno.readTextFile(`${etcNetns}/c1/resolv.conf`), formatResolvConf(CONF));
    assert.equal(await writeResolvConf({ ...CONF, nameserver: "10.0.0.1" }, opts), true);
    assert.match(await Deno.readTextFile(`${etcNetns}/c1/resolv.conf`), /nameserver 10\.0\.0\.1/);
    assert.equal(await removeResolvConf("c1", opts), true);
    await assert.rejects(() => Deno.stat(`${etcNetns}/c1`), Deno.errors.NotFound);
    assert.equal(await removeResolvConf("c1", opts), false, "gone is fine");

    await Deno.mkdir(`${etcNetns}/c2`);
    await Deno.writeTextFile(`${etcNetns}/c2/resolv.conf`, "nameserver 9.9.9.9\n");
    await Deno.writeTextFile(`${etcNetns}/c2/hosts`, "");
    assert.equal(await writeResolvConf({ ...CONF, containerID: "c2" }, opts), false);
    assert.equal(await removeResolvConf("c2", opts), false);
    assert.equal(await Deno.readTextFile(`${etcNetns}/c2/resolv.conf`), "nameserver 9.9.9.9\n");
  } finally {
    await Deno.remove(etcNetns, { recursive: true });
  }
});

Deno.test("sweepResolvConfs removes ours of namespaces that are gone, nothing else", async () => {
  const etcNetns = await Deno.makeTempDir();
  const opts = { etcNetns };
  try {
    for (const c of ["alive", "dead"]) await writeResolvConf({ ...CONF, containerID: c }, opts);
    await Deno.mkdir(`${etcNetns}/foreign`);
    await Deno.writeTextFile(`${etcNetns}/foreign/resolv.conf`, "nameserver 9.9.9.9\n");
    assert.deepEqual(await sweepResolvConfs((n) => n === "alive", opts), ["dead"]);
    assert.ok(await Deno.stat(`${etcNetns}/alive/resolv.conf`));
    assert.ok(await Deno.stat(`${etcNetns}/foreign/resolv.conf`));
    assert.deepEqual(await sweepResolvConfs(() => false, { etcNetns: `${etcNetns}/none` }), []);
  } finally {
    await Deno.remove(etcNetns, { recursive: true });
  }
});
