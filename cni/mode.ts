/**
 * Which plugin a process is: Weave installs one executable under the names
 * `weave-net` and `weave-ipam` and each behaves by the name it is run as.
 * Kept tiny and dependency-free: `main.ts` asks it before loading anything.
 *
 * @module
 */

/** The plugin names. */
export type PluginName = "weave-net" | "weave-ipam";
/** Set by the `./weave` launcher and the installed wrapper scripts to the name they were run as. */
export const ENV_WEAVE_CNI_PLUGIN = "WEAVE_CNI_PLUGIN";

/**
 * The plugin to run: by the executable's file name (a compiled binary
 * installed as `weave-net`), else by {@link ENV_WEAVE_CNI_PLUGIN}, else
 * `weave-net` when CNI_COMMAND is set; undefined for the CLI.
 *
 * @example
 * ```ts
 * import { cniPluginName } from "./mode.ts";
 * cniPluginName("/opt/cni/bin/weave-ipam", {}); // "weave-ipam"
 * cniPluginName("/usr/bin/weave", { CNI_COMMAND: "ADD" }); // "weave-net"
 * cniPluginName("/usr/bin/weave", {}); // undefined
 * ```
 */
export function cniPluginName(
  execPath: string,
  env: Record<string, string | undefined>,
): PluginName | undefined {
  const base = execPath.slice(execPath.lastIndexOf("/") + 1);
  if (base === "weave-net" || base === "weave-ipam") return base;
  const named = env[ENV_WEAVE_CNI_PLUGIN];
  if (named === "weave-net" || named === "weave-ipam") return named;
  return env.CNI_COMMAND ? "weave-net" : undefined;
}
