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
import type { CliIo, CommandContext } from "./io.ts";
import { type TargetFlags, withTargetOptions } from "./target.ts";

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
  return callPlumbing(io, flags, { method: "GET", path }, (body) => formatPs(parsePs(body)));
}

/** One `weave ps` line: what the router's `GET /ps` lists per container. */
export interface PsEntry {
  id: string;
  mac: string;
  cidrs: string[];
}

/** The `GET /ps` answer, checked: an array of `{ id, mac, cidrs }`. */
function parsePs(body: string): PsEntry[] {
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
