/**
 * `weave ps [container...]`: one line per attached container, `<id> <mac> <cidr>...`, after
 * the bridge's own line `weave:expose <mac> <cidr>...`, as Weave prints them, from the router's
 * `GET /ps` (JSON). A container's id is its netns name, `pid:<n>`, or its namespace path (see
 * `datapath/container.ts`).
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
      const listed = parsePs(body);
      const seen = new Set(listed.map((e) => e.id));
      const more = extra ? parsePs(extra).filter((e) => !seen.has(e.id)) : [];
      return renamePs(formatPs([...listed, ...more]), names) + pods;
    });
  });
}

/** One `weave ps` line: what the router's `GET /ps` lists per container. */
export interface PsEntry {
  id: string;
  mac: string;
  cidrs: string[];
}

/** The `GET /ps` answer, checked: an array of `{ id, mac, cidrs }`. */
export function parsePs(body: string): PsEntry[] {
  const value: unknown = JSON.parse(body);
  const ok = Array.isArray(value) &&
    value.every((e) =>
      typeof e?.id === "string" && typeof e.mac === "string" && Array.isArray(e.cidrs) &&
      e.cidrs.every((c: unknown) => typeof c === "string")
    );
  if (!ok) throw new TypeError("Cannot read the router's ps answer: want [{ id, mac, cidrs }]");
  return value;
}

/**
 * Renders `weave ps` lines: `<id> <mac> <cidr>...`, one per entry.
 *
 * @example
 * ```ts
 * import { formatPs } from "./ps.ts";
 * formatPs([{ id: "c1", mac: "ce:15:34:a9:b5:6d", cidrs: ["10.2.5.1/24"] }]);
 * // "c1 ce:15:34:a9:b5:6d 10.2.5.1/24\n"
 * ```
 */
export function formatPs(entries: readonly PsEntry[]): string {
  return entries.map((e) => [e.id, e.mac, ...e.cidrs].join(" ") + "\n").join("");
}
