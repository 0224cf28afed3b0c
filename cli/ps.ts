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
import { containerArg, dockerPsNames, renamePs, routerId } from "./docker_container.ts";
import type { CliIo, CommandContext } from "./io.ts";
import { cniPsLines } from "../cni/ps.ts";
import { ENV_WEAVE_CNI_STATE_DIR } from "../cni/records.ts";
import {
  callRouter,
  guard,
  resolveTargets,
  type TargetFlags,
  withTargetOptions,
} from "./target.ts";

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
  return guard(io, async () => {
    // Docker containers by name: the router knows them as pid:<n>; show what the user typed,
    // or (listing all) Docker's short id, as Weave did.
    const names = containers.length ? new Map<string, string>() : await dockerPsNames(io);
    const refs: string[] = [];
    for (const arg of containers) {
      const c = await containerArg(arg, io);
      if (c.docker) names.set(routerId(arg, c), arg);
      refs.push(c.docker ? routerId(arg, c) : arg);
    }
    const query = (ids: string[]) =>
      new URLSearchParams(ids.map((c) => ["container", c])).toString();
    const path = refs.length ? `/ps?${query(refs)}` : "/ps";
    // The router lists the namespaces it can find by itself; Docker's (by pid) are asked for.
    let extra = "";
    if (!containers.length && names.size > 0) {
      const targets = resolveTargets(flags, io);
      const res = await callRouter(targets, "GET", `/ps?${query([...names.keys()])}`);
      if (res.status === 200) extra = res.body;
    }
    // Pods attached by the CNI plugin, which the router does not know by name (cni/ps.ts).
    const pods = containers.length === 0 ? cniPsLines(io.env[ENV_WEAVE_CNI_STATE_DIR]) : "";
    return await callPlumbing(io, flags, { method: "GET", path }, (body) => {
      const seen = new Set(body.split("\n").map((l) => l.split(" ")[0]));
      const more = extra.split("\n").filter((l) => l !== "" && !seen.has(l.split(" ")[0]));
      return renamePs(body + more.map((l) => l + "\n").join(""), names) + pods;
    });
  });
}
