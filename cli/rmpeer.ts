/**
 * `weave rmpeer <peer...>`: takes over the IP ranges of dead peers (Weave's
 * `DELETE /peer/<id>`), printing `N IPs taken over from X` for each. Issuing
 * it for the same peer on two hosts at once is safe here: a takeover is held
 * back briefly and ties are broken by peer name (see `ipam/_takeover.ts`).
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

/** Builds the `rmpeer` command. */
export function rmpeerCommand(ctx: CommandContext): Command {
  return withTargetOptions(new Command("rmpeer"))
    .description("take over the IP address ranges of dead peers")
    .argument("<peer_id...>", "peer name or nickname")
    .action(async (peers: string[], flags: TargetFlags) => {
      ctx.exit(await runRmpeer(peers, flags, ctx.io));
    });
}

/** Runs `weave rmpeer`; returns the exit code of the first failure, else 0. */
export function runRmpeer(peers: string[], flags: TargetFlags, io: CliIo): Promise<number> {
  return guard(io, async () => {
    const targets = resolveTargets(flags, io);
    for (const peer of peers) {
      const res = await callRouter(targets, "DELETE", `/peer/${encodeURIComponent(peer)}`);
      const code = printAnswer(io, res);
      if (code !== 0) return code;
    }
    return 0;
  });
}
