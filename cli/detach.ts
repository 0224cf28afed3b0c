/**
 * `weave detach [addr...] <container>`: removes the given addresses from the container's
 * `ethwe`, or the whole weave interface when no address is given or none remains, then prints
 * the IPs detached as Weave does. A container that is already gone is not an error.
 *
 * @module
 */
import { Command } from "commander";
import { callPlumbing, ipamUnavailable, parseAddrArgs, showAddrs } from "./attach.ts";
import { containerArg } from "./docker_container.ts";
import type { CliIo, CommandContext } from "./io.ts";
import { guard, type TargetFlags, withTargetOptions } from "./target.ts";
import { USAGE } from "./usage.ts";

/** Builds the `detach` command. */
export function detachCommand(ctx: CommandContext): Command {
  return withTargetOptions(new Command("detach"))
    .description("detach a container from weave: [addr...] <container>")
    .argument("[args...]", "addresses ([ip:]<cidr>), then the container")
    .action(async (args: string[], flags: TargetFlags) => {
      ctx.exit(await runDetach(args, flags, ctx.io));
    });
}

/** Runs `weave detach`; returns the exit code. */
export function runDetach(args: string[], flags: TargetFlags, io: CliIo): Promise<number> {
  const parsed = parseAddrArgs(args);
  if (parsed.rest.length !== 1) {
    io.err(USAGE);
    return Promise.resolve(1);
  }
  if (parsed.ipam.length > 0) {
    io.err(ipamUnavailable("detach", parsed.ipam));
    return Promise.resolve(1);
  }
  return guard(io, async () => {
    const form = { container: (await containerArg(parsed.rest[0], io)).ref, cidr: parsed.cidrs };
    return await callPlumbing(io, flags, { method: "POST", path: "/detach", form }, showAddrs);
  });
}
