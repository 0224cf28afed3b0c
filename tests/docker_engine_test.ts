/**
 * The Docker client against a real engine (Debian's dockerd in a test host): inspect by
 * name and id prefix, list, the event stream, and clear errors. Needs root, docker.io and
 * busybox-static; ignored otherwise.
 */
import assert from "node:assert/strict";
import { DockerClient, NoSuchContainerError } from "../docker/client.ts";
import { dockerdSkipReason, TestDockerd } from "./harness/dockerd.ts";
import { netnsSkipReason, TestNet } from "./harness/netns.ts";

const skip = netnsSkipReason() ?? dockerdSkipReason();
const label = (name: string) => skip ? `${name} (ignored: ${skip})` : name;

Deno.test({
  name: label("DockerClient against dockerd: inspect, list and events of a real container"),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 1 });
    await using dockerd = await TestDockerd.start(net.host(1).name, `${net.tempDir}/d1`);
    const docker = new DockerClient({ kind: "unix", path: dockerd.socket });
    assert.match((await docker.version()).apiVersion, /^1\.\d+$/);

    const ac = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      for await (const ev of docker.events({ signal: ac.signal })) {
        seen.push(`${ev.action} ${ev.attributes.name ?? ""}`);
        if (ev.action === "die") ac.abort();
      }
    })();
    // The stream is open before anything happens on it.
    await new Promise((r) => setTimeout(r, 300));

    const run = await dockerd.docker([
      "run",
      "-d",
      "--name",
      "web1",
      "--hostname",
      "web1.weave.local",
      "--network",
      "none",
      "busybox:local",
      "sleep",
      "300",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    const byName = await docker.inspectContainer("web1");
    assert.equal(byName.id, id);
    assert.equal(byName.name, "web1");
    assert.equal(byName.hostname, "web1.weave.local");
    assert.equal(byName.networkMode, "none");
    assert.ok(byName.running && byName.pid > 0);
    const containerNs = await Deno.readLink(`/proc/${byName.pid}/ns/net`);
    assert.notEqual(containerNs, await Deno.readLink("/proc/self/ns/net"));
    assert.deepEqual(await docker.inspectContainer(id.slice(0, 12)), byName);

    const list = await docker.listContainers();
    assert.deepEqual(list.map((c) => [c.id, c.names, c.state]), [[id, ["web1"], "running"]]);

    await assert.rejects(() => docker.inspectContainer("nosuch"), NoSuchContainerError);

    assert.equal((await dockerd.docker(["kill", "web1"])).code, 0);
    await watching;
    assert.ok(seen.includes("start web1"), seen.join(", "));
    assert.ok(seen.includes("die web1"), seen.join(", "));
    const dead = await docker.inspectContainer("web1");
    assert.equal(dead.running, false);
    assert.equal(dead.pid, 0);
    assert.equal((await docker.listContainers()).length, 0);
    assert.equal((await docker.listContainers({ all: true })).length, 1);
  },
});
