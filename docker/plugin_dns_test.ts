import assert from "node:assert/strict";
import { discardLogger } from "../lib/log.ts";
import type { ContainerInfo, DockerEvent } from "./client.ts";
import { handlePluginDnsEvent, type PluginDnsEffects, watchPluginDns } from "./plugin_dns.ts";

const C1: ContainerInfo = {
  id: "c1".padEnd(64, "0"),
  name: "c1",
  hostname: "c1",
  domainname: "weave.local",
  pid: 10,
  running: true,
  networkMode: "weave",
  labels: {},
  env: [],
  networks: [
    { name: "weave", networkId: "ours", ipAddress: "10.32.0.4" },
    { name: "other", networkId: "theirs", ipAddress: "172.18.0.2" },
  ],
};

function fake(info: ContainerInfo, events: DockerEvent[] = []) {
  const calls: string[] = [];
  const effects: PluginDnsEffects = {
    async *events() {
      for (const e of events) yield e;
    },
    inspect: () => Promise.resolve(info),
    isOurNetwork: (id) => Promise.resolve(id === "ours"),
    register: (
      id,
      ip,
      fqdn,
    ) => (calls.push(`register ${id.slice(0, 2)} ${ip} ${fqdn}`), Promise.resolve()),
    unregister: (id) => (calls.push(`unregister ${id.slice(0, 2)}`), Promise.resolve()),
  };
  return { calls, effects };
}

const ev = (action: string, type = "container"): DockerEvent => ({
  type,
  action,
  id: C1.id,
  attributes: {},
});

Deno.test("plugin DNS: a start registers the address on our network only, under Hostname.Domainname", async () => {
  const { calls, effects } = fake(C1);
  await handlePluginDnsEvent(ev("start"), effects, discardLogger);
  assert.deepEqual(calls, ["register c1 10.32.0.4 c1.weave.local"]);
});

Deno.test("plugin DNS: die drops the names; other events and bare hostnames do nothing", async () => {
  const { calls, effects } = fake({ ...C1, domainname: "" });
  await handlePluginDnsEvent(ev("start"), effects, discardLogger);
  await handlePluginDnsEvent(ev("create"), effects, discardLogger);
  await handlePluginDnsEvent(ev("start", "network"), effects, discardLogger);
  await handlePluginDnsEvent(ev("die"), effects, discardLogger);
  assert.deepEqual(calls, ["unregister c1"]);
});

Deno.test("plugin DNS: the watch follows the stream again after it ends, until aborted", async () => {
  const { calls, effects } = fake(C1, [ev("start"), ev("die")]);
  const ac = new AbortController();
  const watching = watchPluginDns({ effects, log: discardLogger, signal: ac.signal, retryMs: 5 });
  await new Promise((r) => setTimeout(r, 30));
  ac.abort();
  await watching;
  assert.ok(calls.length >= 4, `reconnected: ${calls.join(", ")}`);
  assert.deepEqual(calls.slice(0, 2), ["register c1 10.32.0.4 c1.weave.local", "unregister c1"]);
});
