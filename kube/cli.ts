/**
 * `weave kube-launch` as a program: parses the environment first (a bad
 * variable is its one line and exit code 1), then runs the launcher with the
 * real seams until SIGTERM/SIGINT. Loaded by `cli/kube_launch.ts` at run
 * time only, so that the router, which runs from the same program, does not
 * carry this code and its YAML parser (~145 KB of source) in memory.
 *
 * @module
 */
import { createLogger } from "../lib/log.ts";
import { LaunchConfigError, parseLaunchEnv } from "./launch_config.ts";
import { runKubeLaunch } from "./launcher.ts";
import { systemSeams } from "./launcher_system.ts";

/** What the CLI gives the program. */
export interface KubeLaunchIo {
  env: Record<string, string | undefined>;
  /** Writes to standard error. */
  err(text: string): void;
  /** The command that runs this program with `args` (to start the router). */
  self(args: string[]): string[];
}

/** Runs `weave kube-launch`; resolves with the exit code. */
export async function kubeLaunchMain(io: KubeLaunchIo): Promise<number> {
  try {
    parseLaunchEnv(io.env);
  } catch (e) {
    if (!(e instanceof LaunchConfigError)) throw e;
    io.err(`${e.message}\n`);
    return 1;
  }
  const ac = new AbortController();
  const stop = () => ac.abort();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  try {
    const log = createLogger({ write: (line) => io.err(line + "\n") });
    const seams = systemSeams({ env: io.env, log, signal: ac.signal, self: io.self });
    const code = await runKubeLaunch(seams);
    seams.client?.close();
    return code;
  } finally {
    Deno.removeSignalListener("SIGTERM", stop);
    Deno.removeSignalListener("SIGINT", stop);
  }
}
