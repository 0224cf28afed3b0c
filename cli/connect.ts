/**
 * `weave connect [--replace] [peer...]`: adds peers to the router's targets,
 * or replaces the targets with them.
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
import { USAGE } from "./usage.ts";

/** Builds the `connect` command. */
export function connectCommand(ctx: CommandContext): Command {
  return withTargetOptions(new Command("connect"))
    .description("connect to peers (host[:port]); --replace replaces the target list")
    .option("--replace", "replace the current targets instead of adding to them")
    .argument("[peer...]")
    .action(async (peers: string[], flags: TargetFlags & { replace?: boolean }) => {
      ctx.exit(await runConnect(peers, flags, ctx.io));
    });
}

/** Runs `weave connect`; returns the exit code. */
export function runConnect(
  peers: string[],
  flags: TargetFlags & { replace?: boolean },
  io: CliIo,
): Promise<number> {
  if (peers.length === 0 && !flags.replace) {
    io.err(USAGE);
    return Promise.resolve(1);
  }
  return guard(io, async () => {
    const form = { peer: peers, replace: flags.replace ? "true" : undefined };
    return printAnswer(
      io,
      await callRouter(resolveTargets(flags, io), "POST", "/connect", { form }),
    );
  });
}
