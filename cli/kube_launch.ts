/**
 * `weave kube-launch`: the entry point of the Kubernetes DaemonSet's `weave`
 * container (Weave Net's `launch.sh`): configured by Weave's environment
 * variables, it starts the router and keeps its peers in step with the
 * cluster's Nodes (see `kube/launcher.ts`). Runs until SIGTERM/SIGINT.
 *
 * @module
 */
import { Command } from "commander";
import { createLogger } from "../lib/log.ts";
import { LaunchConfigError, parseLaunchEnv } from "../kube/launch_config.ts";
import { runKubeLaunch } from "../kube/launcher.ts";
import { systemSeams } from "../kube/launcher_system.ts";
import type { CommandContext } from "./io.ts";
import { selfCommand } from "./launch.ts";

/** Builds the `kube-launch` command. */
export function kubeLaunchCommand(ctx: CommandContext): Command {
  return new Command("kube-launch")
    .description("run as Weave Net's Kubernetes DaemonSet does (configured by environment)")
    .action(async () => {
      try {
        parseLaunchEnv(ctx.io.env); // a bad variable: its one line, before anything else
      } catch (e) {
        if (!(e instanceof LaunchConfigError)) throw e;
        ctx.io.err(`${e.message}\n`);
        return ctx.exit(1);
      }
      const ac = new AbortController();
      const stop = () => ac.abort();
      Deno.addSignalListener("SIGTERM", stop);
      Deno.addSignalListener("SIGINT", stop);
      try {
        const log = createLogger({ write: (line) => ctx.io.err(line + "\n") });
        const seams = systemSeams({ env: ctx.io.env, log, signal: ac.signal, self: selfCommand });
        ctx.exit(await runKubeLaunch(seams));
        seams.client?.close();
      } finally {
        Deno.removeSignalListener("SIGTERM", stop);
        Deno.removeSignalListener("SIGINT", stop);
      }
    });
}
