/**
 * `weave version`: the CLI's version and the running router's (or, when no
 * router answers, the router program's, which is the same binary).
 *
 * @module
 */
import { Command } from "commander";
import { VERSION } from "../lib/version.ts";
import type { CliIo, CommandContext } from "./io.ts";
import { callRouter, resolveTargets, type TargetFlags, withTargetOptions } from "./target.ts";

/** Builds the `version` command. */
export function versionCommand(ctx: CommandContext): Command {
  return withTargetOptions(new Command("version"))
    .description("print the versions of this script and of the router")
    .action(async (flags: TargetFlags) => {
      ctx.exit(await runVersion(flags, ctx.io));
    });
}

/** Runs `weave version`; always succeeds. */
export async function runVersion(flags: TargetFlags, io: CliIo): Promise<number> {
  io.out(`weave script ${VERSION}\n`);
  let routerVersion = VERSION;
  try {
    const format = encodeURIComponent("{{.Version}}");
    const res = await callRouter(resolveTargets(flags, io), "GET", `/report?format=${format}`, {
      timeoutMs: 3000,
    });
    if (res.status >= 200 && res.status < 300) routerVersion = res.body;
  } catch {
    // No router: report the router program's own version.
  }
  io.out(`weave ${routerVersion}\n`);
  return 0;
}
