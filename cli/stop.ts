/**
 * `weave stop`: asks the router to stop (`POST /stop`) and waits until its API
 * no longer answers.
 *
 * @module
 */
import { Command } from "commander";
import type { ApiTarget } from "../api/client.ts";
import { NotRunningError } from "../api/client.ts";
import type { CliIo, CommandContext } from "./io.ts";
import {
  callRouter,
  guard,
  printAnswer,
  resolveTargets,
  routerAnswers,
  type TargetFlags,
  withTargetOptions,
} from "./target.ts";

/** Builds the `stop` command. */
export function stopCommand(ctx: CommandContext): Command {
  return withTargetOptions(new Command("stop"))
    .description("stop the router (the network stays configured)")
    .action(async (flags: TargetFlags) => {
      ctx.exit(await runStop(flags, ctx.io));
    });
}

/** Runs `weave stop`; a router that is not running is not an error (as in Weave). */
export function runStop(flags: TargetFlags, io: CliIo): Promise<number> {
  return guard(io, async () => {
    try {
      return await stopRouter(resolveTargets(flags, io), io);
    } catch (e) {
      if (!(e instanceof NotRunningError)) throw e;
      io.err("Weave is not running (ignore on Kubernetes).\n");
      return 0;
    }
  });
}

/**
 * Stops the router at `targets` and waits up to `timeoutMs` for its API to go
 * away; throws NotRunningError if nothing answers in the first place.
 */
export async function stopRouter(
  targets: ApiTarget[],
  io: CliIo,
  timeoutMs = 10_000,
): Promise<number> {
  const res = await callRouter(targets, "POST", "/stop");
  if (res.status < 200 || res.status >= 300) return printAnswer(io, res) || 1;
  const deadline = Date.now() + timeoutMs;
  while (await routerAnswers(targets, 1000)) {
    if (Date.now() > deadline) {
      io.err(`Cannot stop weave: it still answers after ${timeoutMs / 1000} s\n`);
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return 0;
}
