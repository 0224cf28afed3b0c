/**
 * Entry point of the `weave` program (`deno compile` target). One executable
 * serves the CLI and the CNI plugins: run as `weave-net` or `weave-ipam`
 * (by file name, or as the launcher says in WEAVE_CNI_PLUGIN), or with
 * CNI_COMMAND set, it is a CNI plugin (`cni/`); otherwise the CLI runs with
 * this process's arguments. Only the part in use is loaded.
 *
 * @module
 */
import { cniPluginName } from "./cni/mode.ts";

if (import.meta.main) {
  const plugin = cniPluginName(Deno.execPath(), {
    WEAVE_CNI_PLUGIN: Deno.env.get("WEAVE_CNI_PLUGIN"),
    CNI_COMMAND: Deno.env.get("CNI_COMMAND"),
  });
  if (plugin) {
    const { runCniProcess } = await import("./cni/main.ts");
    Deno.exit(await runCniProcess(plugin));
  }
  const { runCli } = await import("./cli/main.ts");
  Deno.exit(await runCli(Deno.args));
}
