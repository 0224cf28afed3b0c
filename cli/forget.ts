/**
 * `weave forget <peer...>`: removes peers from the router's targets.
 *
 * @module
 */
import { Command } from "commander";
import type { CliIo, CommandContext } from "./io.ts";
import {
  callRouter,
  guard,
  printAnswer,
  resolveTargets,
  type TargetFlags,
  withTargetOptions,
} from "./target.ts";

/** Builds the `forget` command. */
export function forgetCommand(ctx: CommandContext): Command {
  return withTargetOptions(new Command("forget"))
    .description("stop connecting to peers")
    .argument("<peer...>")
    .action(async (peers: string[], flags: TargetFlags) => {
      ctx.exit(await runForget(peers, flags, ctx.io));
    });
}

/** Runs `weave forget`; returns the exit code. */
export function runForget(peers: string[], flags: TargetFlags, io: CliIo): Promise<number> {
  return guard(io, async () => {
    const form = { peer: peers };
    return printAnswer(
      io,
      await callRouter(resolveTargets(flags, io), "POST", "/forget", { form }),
    );
  });
}
