import assert from "node:assert/strict";
import { cniPluginName } from "./mode.ts";

Deno.test("cniPluginName: by file name, then WEAVE_CNI_PLUGIN, then CNI_COMMAND; else the CLI", () => {
  const table: [string, Record<string, string>, string | undefined][] = [
    ["/opt/cni/bin/weave-net", {}, "weave-net"],
    ["/opt/cni/bin/weave-ipam", { CNI_COMMAND: "ADD" }, "weave-ipam"],
    ["/usr/bin/deno", { WEAVE_CNI_PLUGIN: "weave-ipam" }, "weave-ipam"],
    ["/usr/bin/deno", { WEAVE_CNI_PLUGIN: "other" }, undefined],
    ["/usr/bin/weave", { CNI_COMMAND: "VERSION" }, "weave-net"],
    ["/usr/bin/weave", {}, undefined],
    ["weave-net", {}, "weave-net"],
  ];
  for (const [path, env, want] of table) assert.equal(cniPluginName(path, env), want, path);
});
