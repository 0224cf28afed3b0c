/**
 * `weave expose [addr...] [--without-masquerade]`: gives the host the addresses on the weave
 * bridge (`weave:expose` in `weave ps`) and, unless `--without-masquerade`, masquerades their
 * traffic leaving the host; prints the IPs as Weave does. Without an address Weave allocates one
 * from IPAM (`net:default`), which is refused with a message until IP allocation is wired in.
 *
 * @module
 */
import { Command } from "commander";
import { callPlumbing, parseAddrArgs, showAddrs } from "./attach.ts";
import type { CliIo, CommandContext } from "./io.ts";
import { type TargetFlags, withTargetOptions } from "./target.ts";
import { USAGE } from "./usage.ts";

/** Flags of `weave expose`. */
export type ExposeFlags = TargetFlags & { withoutMasquerade?: boolean };

/** Builds the `expose` command. */
export function exposeCommand(ctx: CommandContext): Command {
  return withTargetOptions(new Command("expose"))
    .description("give the host addresses on the weave network: [addr...]")
    .option("--without-masquerade", "do not masquerade traffic from these subnets")
    .argument("[addr...]", "addresses ([ip:]<cidr>)")
    .action(async (args: string[], flags: ExposeFlags) => {
      ctx.exit(await runExpose(args, flags, ctx.io));
    });
}

/** Runs `weave expose`; returns the exit code. */
export function runExpose(args: string[], flags: ExposeFlags, io: CliIo): Promise<number> {
  const parsed = parseAddrArgs(args);
  if (parsed.rest.length !== 0) {
    io.err(USAGE);
    return Promise.resolve(1);
  }
  const form = {
    cidr: parsed.cidrs,
    // Weave: no address at all means one from IPAM's default subnet.
    net: parsed.cidrs.length === 0 && parsed.ipam.length === 0 ? ["net:default"] : parsed.ipam,
    skipNAT: flags.withoutMasquerade ? "true" : undefined,
  };
  return callPlumbing(io, flags, { method: "POST", path: "/expose", form }, showAddrs);
}
