/**
 * `weave ps [container...]`: one line per attached container, `<id> <mac> <cidr>...`, after
 * the bridge's own line `weave:expose <mac> <cidr>...`, as Weave prints them. A container's id
 * is its netns name, `pid:<n>`, or its namespace path (see `datapath/attach.ts`); the pods of
 * the CNI plugin follow, by their CNI container id (`cni/ps.ts`).
 *
 * @module
 */
import { Command } from "commander";
import { callPlumbing } from "./attach.ts";
import type { CliIo, CommandContext } from "./io.ts";
import { type TargetFlags, withTargetOptions } from "./target.ts";
import { cniPsLines } from "../cni/ps.ts";
import { ENV_WEAVE_CNI_STATE_DIR } from "../cni/records.ts";

/** Builds the `ps` command. */
export function psCommand(ctx: CommandContext): Command {
  return withTargetOptions(new Command("ps"))
    .description("list attached containers: <id> <mac> <cidr>...")
    .argument("[container...]", "only these containers (weave:expose for the bridge)")
    .action(async (containers: string[], flags: TargetFlags) => {
      ctx.exit(await runPs(containers, flags, ctx.io));
    });
}

/** Runs `weave ps`; returns the exit code. */
export function runPs(containers: string[], flags: TargetFlags, io: CliIo): Promise<number> {
  const query = new URLSearchParams(containers.map((c) => ["container", c])).toString();
  const path = query ? `/ps?${query}` : "/ps";
  // Pods attached by the CNI plugin, which the router does not know by name (cni/ps.ts).
  const pods = containers.length === 0 ? cniPsLines(io.env[ENV_WEAVE_CNI_STATE_DIR]) : "";
  return callPlumbing(io, flags, { method: "GET", path }, (body) => body + pods);
}
