import assert from "node:assert/strict";
import { DEFAULT_ROUTER_ADDR, parseCniArgs, parseCniEnv } from "./env.ts";
import { CniCode, CniError } from "./errors.ts";

const add = {
  CNI_COMMAND: "ADD",
  CNI_CONTAINERID: "abc123",
  CNI_NETNS: "/var/run/netns/p",
  CNI_IFNAME: "eth0",
  CNI_PATH: "/opt/cni/bin:/usr/lib/cni",
};

Deno.test("parseCniEnv reads the spec's variables and WEAVE_HTTP_ADDR", () => {
  const a = parseCniEnv({ ...add, CNI_ARGS: "K8S_POD_NAME=web;IgnoreUnknown=1" });
  assert.deepEqual(a, {
    command: "ADD",
    containerId: "abc123",
    netns: "/var/run/netns/p",
    ifname: "eth0",
    args: { K8S_POD_NAME: "web", IgnoreUnknown: "1" },
    path: ["/opt/cni/bin", "/usr/lib/cni"],
    routerAddr: DEFAULT_ROUTER_ADDR,
    datapathMtu: 1376,
  });
  assert.equal(parseCniEnv({ ...add, WEAVE_MTU: "8916" }).datapathMtu, 8916);
  assert.equal(
    parseCniEnv({ ...add, WEAVE_HTTP_ADDR: "127.0.0.1:7000" }).routerAddr,
    "127.0.0.1:7000",
  );
});

Deno.test("parseCniEnv asks per command only what the spec requires", () => {
  assert.equal(parseCniEnv({ CNI_COMMAND: "VERSION" }).command, "VERSION");
  assert.equal(parseCniEnv({ CNI_COMMAND: "STATUS" }).command, "STATUS");
  assert.equal(parseCniEnv({ CNI_COMMAND: "GC" }).command, "GC");
  assert.equal(parseCniEnv({ ...add, CNI_COMMAND: "DEL", CNI_NETNS: "" }).netns, "");
});

Deno.test("parseCniEnv: each missing or bad variable gets its own code 4 error", () => {
  const table: [Record<string, string>, RegExp][] = [
    [{}, /CNI_COMMAND is not set/],
    [{ CNI_COMMAND: "add" }, /CNI_COMMAND "add" is not one of ADD, DEL/],
    [{ ...add, CNI_CONTAINERID: "" }, /CNI_CONTAINERID is not set/],
    [{ ...add, CNI_CONTAINERID: "-x" }, /CNI_CONTAINERID "-x" is not a container id/],
    [{ ...add, CNI_CONTAINERID: "a/b" }, /CNI_CONTAINERID "a\/b"/],
    [{ ...add, CNI_IFNAME: "" }, /CNI_IFNAME is not set/],
    [{ ...add, CNI_IFNAME: "a-very-long-ifname" }, /CNI_IFNAME "a-very-long-ifname"/],
    [{ ...add, CNI_IFNAME: "a/b" }, /CNI_IFNAME "a\/b"/],
    [{ ...add, CNI_NETNS: "" }, /CNI_NETNS is not set/],
    [{ ...add, CNI_COMMAND: "CHECK", CNI_NETNS: "" }, /CNI_NETNS is not set/],
    [{ ...add, CNI_NETNS: "relative/ns" }, /CNI_NETNS "relative\/ns" is not an absolute path/],
    [{ ...add, CNI_ARGS: "novalue" }, /CNI_ARGS has "novalue"/],
    [{ ...add, WEAVE_MTU: "big" }, /WEAVE_MTU "big" is not an MTU/],
    [{ ...add, WEAVE_MTU: "20" }, /WEAVE_MTU "20"/],
  ];
  for (const [env, message] of table) {
    assert.throws(() => parseCniEnv(env), (e: unknown) => {
      assert.ok(
        e instanceof CniError && e.code === CniCode.InvalidEnv,
        `${JSON.stringify(env)}: ${e}`,
      );
      assert.match(e.message, message);
      return true;
    });
  }
});

Deno.test("parseCniArgs keeps values with '=' and skips empty pairs", () => {
  assert.deepEqual(parseCniArgs("A=b=c;;B="), { A: "b=c", B: "" });
});
