import assert from "node:assert/strict";
import {
  defaultDbPrefix,
  defaultSocketPath,
  detectInstance,
  instanceNameFrom,
} from "./instance.ts";
import { memoryIo } from "./io.ts";
import { resolveTargets } from "./target.ts";

Deno.test("instanceNameFrom prefers the ip-netns name, then default, then netns-<inode>", () => {
  const self = { dev: 4, ino: 4026532281 };
  const init = { dev: 4, ino: 4026531840 };
  assert.equal(instanceNameFrom(self, init, [{ name: "h1", dev: 4, ino: 4026532281 }]), "h1");
  assert.equal(instanceNameFrom(self, init, [{ name: "h2", dev: 4, ino: 1 }]), "netns-4026532281");
  assert.equal(instanceNameFrom(init, init, [{ name: "h2", dev: 4, ino: 1 }]), "default");
  assert.equal(instanceNameFrom(self, undefined, []), "netns-4026532281");
  assert.equal(
    instanceNameFrom(self, init, [{ name: "other-dev", dev: 5, ino: 4026532281 }]),
    "netns-4026532281",
  );
});

Deno.test("detectInstance names the current namespace", () => {
  const name = detectInstance();
  assert.match(name, /^(default|netns-\d+|[A-Za-z0-9_.-]+)$/);
  assert.equal(detectInstance(), name);
});

Deno.test("instance paths and the CLI's choice of router", () => {
  assert.equal(defaultSocketPath("h1"), "/run/weave/h1/weave.sock");
  assert.equal(defaultDbPrefix("h1"), "/var/lib/weave/h1/weave");
  const io = memoryIo({}, "h1");
  assert.deepEqual(resolveTargets({}, io), [
    { socketPath: "/run/weave/h1/weave.sock" },
    { httpAddr: "127.0.0.1:6784" },
  ]);
  assert.deepEqual(resolveTargets({ socket: "/x.sock", httpAddr: "1.2.3.4:1" }, io), [{
    socketPath: "/x.sock",
  }]);
  assert.deepEqual(resolveTargets({ httpAddr: "1.2.3.4:1" }, io), [{ httpAddr: "1.2.3.4:1" }]);
  assert.deepEqual(resolveTargets({}, memoryIo({ WEAVE_HTTP_ADDR: "127.0.0.1:7784" })), [
    { httpAddr: "127.0.0.1:7784" },
  ]);
});
