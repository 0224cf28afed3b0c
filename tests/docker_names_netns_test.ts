/**
 * Containers by Docker name in the CLI, against a real dockerd in a test host: `weave attach
 * <name>` (its weaveDNS name from Docker's hostname), `weave ps <name>` and `weave ps` (Docker's
 * short id), `weave dns-add <name>` with the addresses taken from weave, `weave detach <name>`,
 * and clear errors for unknown and stopped containers. Needs root, docker.io and
 * busybox-static; ignored otherwise.
 */
import assert from "node:assert/strict";
import { dockerdSkipReason, TestDockerd } from "./harness/dockerd.ts";
import { netnsSkipReason, TestNet } from "./harness/netns.ts";

const skip = netnsSkipReason() ?? dockerdSkipReason();
const label = (name: string) => skip ? `${name} (ignored: ${skip})` : name;

Deno.test({
  name: label("weave attach, ps, dns-add and detach take Docker container names"),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 1 });
    await net.launch(1);
    await using d = await TestDockerd.start(net.host(1).name, `${net.tempDir}/d1`);
    const env = { DOCKER_HOST: `unix://${d.socket}` };
    const weave = (args: string[]) => net.weave(1, args, { env, timeoutMs: 40_000 });
    const runs: [string, string[]][] = [
      ["web1", ["--hostname", "web1", "--domainname", "weave.local"]],
      ["web2", []],
    ];
    for (const [name, extra] of runs) {
      const r = await d.docker([
        "run",
        "-d",
        "--name",
        name,
        ...extra,
        "--net",
        "none",
        "busybox:local",
        "sleep",
        "600",
      ]);
      assert.equal(r.code, 0, r.stderr);
    }
    const id1 = (await d.docker(["inspect", "-f", "{{.Id}}", "web1"])).stdout.trim();

    const attach = await weave(["attach", "web1"]);
    assert.equal(attach.code, 0, attach.stderr);
    const ip1 = attach.stdout.trim();
    assert.match(ip1, /^10\.\d+\.\d+\.\d+$/);
    const inside = await d.docker(["exec", "web1", "ip", "-o", "-4", "addr", "show", "ethwe"]);
    assert.ok(inside.stdout.includes(`${ip1}/12`), inside.stdout + inside.stderr);
    assert.equal(
      (await weave(["dns-lookup", "web1"])).stdout.trim(),
      ip1,
      "named after Docker's hostname",
    );

    const ps = await weave(["ps", "web1"]);
    assert.match(ps.stdout, new RegExp(`^web1 [0-9a-f:]{17} ${ip1.replace(/\./g, "\\.")}/12\n$`));
    const all = await weave(["ps"]);
    assert.match(
      all.stdout,
      new RegExp(`^${id1.slice(0, 12)} [0-9a-f:]{17} ${ip1.replace(/\./g, "\\.")}/12$`, "m"),
    );

    const attach2 = await weave(["attach", "--without-dns", "web2"]);
    assert.equal(attach2.code, 0, attach2.stderr);
    const ip2 = attach2.stdout.trim();
    const add = await weave(["dns-add", "web2", "-h", "other.weave.local"]);
    assert.equal(add.code, 0, add.stderr);
    assert.equal((await weave(["dns-lookup", "other"])).stdout.trim(), ip2);
    assert.equal((await weave(["dns-remove", "web2"])).code, 0);
    assert.equal((await weave(["dns-lookup", "other"])).stdout.trim(), "");

    const detach = await weave(["detach", "web1"]);
    assert.deepEqual([detach.code, detach.stdout.trim()], [0, ip1]);

    const nosuch = await weave(["attach", "nosuch"]);
    assert.equal(nosuch.code, 1);
    assert.equal(
      nosuch.stderr,
      "Error: No such container: nosuch (neither a Docker container nor a network namespace)\n",
    );
    assert.equal((await d.docker(["stop", "-t", "1", "web2"])).code, 0);
    const stopped = await weave(["attach", "web2"]);
    assert.deepEqual([stopped.code, stopped.stderr], [1, "Container web2 not running.\n"]);
  },
});
