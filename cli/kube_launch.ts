/**
 * `weave kube-launch`: the entry point of the Kubernetes DaemonSet's `weave`
 * container (Weave Net's `launch.sh`): configured by Weave's environment
 * variables, it starts the router and keeps its peers in step with the
 * cluster's Nodes (see `kube/launcher.ts`). Runs until SIGTERM/SIGINT.
 *
 * The Kubernetes code is imported at run time from a computed URL, so the
 * bundle the router runs from (`./weave`, `dist/weave.js`) does not contain
 * it: `../kube/cli.ts` resolves to the same file from `cli/` (sources) and
 * from `dist/` (the bundle); `compile.sh` embeds it in the binary.
 *
 * @module
 */
import { Command } from "commander";
import type { CommandContext } from "./io.ts";
import { selfCommand } from "./launch.ts";

type KubeCli = typeof import("../kube/cli.ts");

/** Builds the `kube-launch` command. */
export function kubeLaunchCommand(ctx: CommandContext): Command {
  return new Command("kube-launch")
    .description("run as Weave Net's Kubernetes DaemonSet does (configured by environment)")
    .action(async () => {
      const url = new URL("../kube/cli.ts", import.meta.url).href;
      const { kubeLaunchMain }: KubeCli = await import(url);
      ctx.exit(await kubeLaunchMain({ env: ctx.io.env, err: ctx.io.err, self: selfCommand }));
    });
}
