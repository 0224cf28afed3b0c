import assert from "node:assert/strict";
import type { ContainerInfo } from "./client.ts";
import { DockerUnavailableError, NoSuchContainerError } from "./client.ts";
import {
  ContainerNotFoundError,
  isNamespaceRef,
  resolveContainerArg,
  type ResolveEnv,
} from "./resolve.ts";

const WEB1: ContainerInfo = {
  id: "ab".repeat(32),
  name: "web1",
  hostname: "web1",
  domainname: "weave.local",
  pid: 4242,
  running: true,
  networkMode: "none",
  labels: {},
  env: [],
  networks: [],
};

function env(
  netns: string[],
  engine: (ref: string) => Promise<ContainerInfo>,
): ResolveEnv & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    netnsExists: (n) => netns.includes(n),
    docker: () => ({
      host: "unix:///var/run/docker.sock",
      inspectContainer: (ref: string) => (asked.push(ref), engine(ref)),
    }),
  };
}

const known = (ref: string) =>
  ref === "web1" || WEB1.id.startsWith(ref)
    ? Promise.resolve(WEB1)
    : Promise.reject(new NoSuchContainerError(`No such container: ${ref}`));

Deno.test("resolveContainerArg: pids, paths, weave ids and existing netns names go through untouched", async () => {
  const e = env(["c1"], known);
  for (const arg of ["1234", "pid:1234", "/proc/1/ns/net", "/run/netns/x", "weave:expose", "c1"]) {
    assert.deepEqual(await resolveContainerArg(arg, e), { ref: arg }, arg);
  }
  assert.deepEqual(e.asked, [], "the engine is not asked");
  assert.ok(!isNamespaceRef("web1"));
});

Deno.test("resolveContainerArg: a Docker name or id prefix becomes the container's pid", async () => {
  const e = env([], known);
  assert.deepEqual(await resolveContainerArg("web1", e), { ref: "4242", docker: WEB1 });
  assert.equal((await resolveContainerArg("abab", e)).ref, "4242");
});

Deno.test("resolveContainerArg: unknown everywhere, or not running, is a clear error", async () => {
  await assert.rejects(
    () => resolveContainerArg("nosuch", env([], known)),
    (e: Error) =>
      e instanceof ContainerNotFoundError &&
      e.message ===
        "Error: No such container: nosuch (neither a Docker container nor a network namespace)",
  );
  const stopped = env([], () => Promise.resolve({ ...WEB1, running: false, pid: 0 }));
  await assert.rejects(
    () => resolveContainerArg("web1", stopped),
    /^ContainerNotFoundError: Container web1 not running\.$/,
  );
});

Deno.test("resolveContainerArg: no engine answering leaves the argument to the router", async () => {
  const down = env([], () => Promise.reject(new DockerUnavailableError("Cannot connect")));
  assert.deepEqual(await resolveContainerArg("c9", down), { ref: "c9" });
});
