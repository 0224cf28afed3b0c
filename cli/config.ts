/**
 * `weave config`: prints `-H=<proxy address>`, as Weave's script does, for
 * `docker $(weave config) run …` (the proxy's address from `GET /proxyaddrs`).
 *
 * @module
 */
import { Command } from "commander";
import { proxyAddress } from "./env.ts";
import type { CommandContext } from "./io.ts";
import { guard, type TargetFlags, withTargetOptions } from "./target.ts";

/** Builds the `config` command. */
export function configCommand(ctx: CommandContext): Command {
  return withTargetOptions(new Command("config"))
    .description("print the docker -H argument of the weave proxy")
    .action(async (flags: TargetFlags) => {
      ctx.exit(
        await guard(ctx.io, async () => {
          const proxy = await proxyAddress(ctx.io, flags);
          if (proxy === undefined) return 1;
          ctx.io.out(`-H=${proxy}\n`);
          return 0;
        }),
      );
    });
}
