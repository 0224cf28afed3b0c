import assert from "node:assert/strict";
import type { PluginDeps } from "./deps.ts";
import { parseCniEnv } from "./env.ts";
import { CniCode, CniError } from "./errors.ts";
import { FakeIpam } from "./fake_ipam.ts";
import { FakePlumbing } from "./fake_plumbing.ts";
import { runIpamPlugin } from "./ipam_plugin.ts";

const ipam = new FakeIpam();
const deps: PluginDeps = {
  ipam,
  plumbing: () => new FakePlumbing(),
  delegate: () => Promise.reject(new Error("unused")),
};
const run = (command: string, extra: Record<string, unknown> = {}) =>
  runIpamPlugin({
    args: parseCniEnv({
      CNI_COMMAND: command,
      CNI_CONTAINERID: "p1",
      CNI_NETNS: "/run/netns/p1",
      CNI_IFNAME: "eth0",
    }),
    stdin: JSON.stringify({ cniVersion: "0.3.1", name: "n", type: "bridge", ...extra }),
  }, deps);

Deno.test("weave-ipam ADD/CHECK/DEL: subnet, gateway and routes from the ipam section", async () => {
  const out = await run("ADD", {
    ipam: {
      type: "weave-ipam",
      subnet: "10.44.0.0/16",
      gateway: "10.44.0.1",
      routes: [{ dst: "0.0.0.0/0" }],
    },
  });
  assert.deepEqual(out, {
    cniVersion: "0.3.1",
    ips: [{ version: "4", address: "10.44.0.1/16", gateway: "10.44.0.1" }],
    routes: [{ dst: "0.0.0.0/0" }],
    dns: {},
  });
  await assert.rejects(
    run("CHECK"),
    (e: unknown) => e instanceof CniError && e.code === CniCode.IncompatibleVersion,
  );
  assert.equal(await run("CHECK", { cniVersion: "1.0.0" }), undefined);
  assert.equal(await run("DEL"), undefined);
  assert.equal(ipam.held.size, 0);
  await assert.rejects(
    run("CHECK", { cniVersion: "1.0.0" }),
    (e: unknown) => e instanceof CniError && e.code === CniCode.CheckFailed,
  );
});
