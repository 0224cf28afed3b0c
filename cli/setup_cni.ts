/**
 * `weave setup-cni [--cni-bin-dir DIR] [--cni-conf-dir DIR]`: installs the
 * CNI plugins `weave-net` and `weave-ipam` and, when none is there, the
 * network configuration `10-weave.conflist` (see `cni/install.ts`). Silent on
 * success, as Weave's is; HAIRPIN_MODE=false turns hairpin mode off;
 * WEAVE_CNI_SELF_CONTAINED=1 (the image) copies Deno and the bundle beside the plugins.
 *
 * @module
 */
import { Command } from "commander";
import { ENV_HAIRPIN_MODE } from "../cni/conflist.ts";
import {
  DEFAULT_CNI_BIN_DIR,
  DEFAULT_CNI_CONF_DIR,
  ENV_SELF_CONTAINED,
  selfContainedProgram,
  setupCni,
} from "../cni/install.ts";
import { runPermissions } from "./launch.ts";
import type { CliIo, CommandContext } from "./io.ts";

/** Builds the `setup-cni` command. */
export function setupCniCommand(ctx: CommandContext): Command {
  return new Command("setup-cni")
    .description("install the CNI plugins weave-net and weave-ipam and 10-weave.conflist")
    .option("--cni-bin-dir <dir>", "where the plugins go", DEFAULT_CNI_BIN_DIR)
    .option("--cni-conf-dir <dir>", "where the network configuration goes", DEFAULT_CNI_CONF_DIR)
    .action(async (flags: { cniBinDir: string; cniConfDir: string }) => {
      ctx.exit(await runSetupCni(flags, ctx.io));
    });
}

/** Runs `weave setup-cni`; returns the exit code. */
export async function runSetupCni(
  flags: { cniBinDir: string; cniConfDir: string },
  io: CliIo,
): Promise<number> {
  try {
    await setupCni({
      binDir: flags.cniBinDir,
      confDir: flags.cniConfDir,
      hairpinMode: io.env[ENV_HAIRPIN_MODE],
      program: io.env[ENV_SELF_CONTAINED] === "1"
        ? selfContainedProgram(runPermissions())
        : undefined,
    });
    return 0;
  } catch (e) {
    io.err(`Cannot set up CNI: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
