/**
 * `weave hide [addr...]`: removes the given host addresses (default: all) from the weave bridge
 * together with their masquerading, and prints the IPs hidden as Weave does.
 *
 * @module
 */
import { Command } from "commander";
import { callPlumbing, ipamUnavailable, parseAddrArgs, showAddrs } from "./attach.ts";
import type { CliIo, CommandContext } from "./io.ts";
import { type TargetFlags, withTargetOptions } from "./target.ts";
import { USAGE } from "./usage.ts";

/** Builds the `hide` command. */
export function hideCommand(ctx: CommandContext): Command {
  return withTargetOptions(new Command("hide"))
    .description("remove the host's addresses from the weave network: [addr...]")
    .argument("[addr...]", "addresses ([ip:]<cidr>); none: all")
    .action(async (args: string[], flags: TargetFlags) => {
      ctx.exit(await runHide(args, flags, ctx.io));
    });
}

/** Runs `weave hide`; returns the exit code. */
export function runHide(args: string[], flags: TargetFlags, io: CliIo): Promise<number> {
  const parsed = parseAddrArgs(args);
  if (parsed.rest.length !== 0) {
    io.err(USAGE);
    return Promise.resolve(1);
  }
  if (parsed.ipam.length > 0) {
    io.err(ipamUnavailable("hide", parsed.ipam));
    return Promise.resolve(1);
  }
  return callPlumbing(
    io,
    flags,
    { method: "POST", path: "/hide", form: { cidr: parsed.cidrs } },
    showAddrs,
  );
}
