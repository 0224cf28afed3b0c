/**
 * `weave status [targets|connections|peers|dns|ipam]`: the router's status
 * text. Like Weave's script, the full status is framed by blank lines and an
 * unknown sub-command (router 404) prints an error and the usage, exit 4.
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

/** Builds the `status` command. */
export function statusCommand(ctx: CommandContext): Command {
  return withTargetOptions(new Command("status"))
    .description("show the router's status, or one part of it")
    .argument("[sub...]", "targets | connections | peers | dns | ipam")
    .action(async (subs: string[], flags: TargetFlags) => {
      ctx.exit(await runStatus(subs, flags, ctx.io));
    });
}

/** Runs `weave status`; returns the exit code. */
export async function runStatus(subs: string[], flags: TargetFlags, io: CliIo): Promise<number> {
  const path = "/status" + subs.map((s) => `/${encodeURIComponent(s)}`).join("");
  const full = subs.length === 0;
  if (full) io.out("\n");
  const code = await guard(io, async () => {
    return printAnswer(io, await callRouter(resolveTargets(flags, io), "GET", path));
  });
  if (code === 4) {
    io.err(`Invalid 'weave status' sub-command: ${subs.join(" ")}\n`);
    io.err(USAGE);
    return 4;
  }
  if (full) io.out("\n");
  return code;
}
