/**
 * `weave report [-f <template>]`: the router's JSON report, or a Go template
 * evaluated against it by the router (e.g. `-f '{{json .DNS}}'`).
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

/** Builds the `report` command. */
export function reportCommand(ctx: CommandContext): Command {
  return withTargetOptions(new Command("report"))
    .description("print the router's report as JSON, or formatted by a Go template")
    .option("-f, --format <template>", "Go text/template evaluated against the report")
    .action(async (flags: TargetFlags & { format?: string }) => {
      ctx.exit(await runReport(flags, ctx.io));
    });
}

/** Runs `weave report`; returns the exit code. */
export function runReport(flags: TargetFlags & { format?: string }, io: CliIo): Promise<number> {
  return guard(io, async () => {
    const targets = resolveTargets(flags, io);
    const res = flags.format === undefined
      ? await callRouter(targets, "GET", "/report", { headers: { accept: "application/json" } })
      : await callRouter(targets, "GET", `/report?format=${encodeURIComponent(flags.format)}`);
    return printAnswer(io, res);
  });
}
