import assert from "node:assert/strict";
import { containerExists, resolveContainer } from "./container.ts";

Deno.test("resolveContainer names netns, pids and paths", () => {
  const cases: [string, { id: string; path: string }][] = [
    ["c1", { id: "c1", path: "/run/netns/c1" }],
    ["/run/netns/c1", { id: "c1", path: "/run/netns/c1" }],
    ["/var/run/netns/c1", { id: "c1", path: "/run/netns/c1" }],
    ["1234", { id: "pid:1234", path: "/proc/1234/ns/net" }],
    ["pid:1234", { id: "pid:1234", path: "/proc/1234/ns/net" }],
    ["/proc/1234/ns/net", { id: "pid:1234", path: "/proc/1234/ns/net" }],
    ["/var/run/docker/netns/abc", {
      id: "/var/run/docker/netns/abc",
      path: "/var/run/docker/netns/abc",
    }],
  ];
  for (const [ref, want] of cases) assert.deepEqual(resolveContainer(ref), want, ref);
  for (const bad of ["", "a/b", "..", "0", "pid:0", "/x/../etc", "/a\0b", "c 1"]) {
    assert.throws(() => resolveContainer(bad), TypeError, JSON.stringify(bad));
  }
});

Deno.test("containerExists follows the namespace file; non-container ids always exist", async () => {
  assert.equal(containerExists(`pid:${Deno.pid}`), true);
  assert.equal(containerExists("pid:999999999"), false);
  assert.equal(containerExists("weave:expose"), true);
  assert.equal(containerExists("weave:extern"), true);
  assert.equal(containerExists("wt-no-such-netns-here"), false);
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(containerExists(`${dir}/ns`), false);
    await Deno.writeTextFile(`${dir}/ns`, "");
    assert.equal(containerExists(`${dir}/ns`), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
