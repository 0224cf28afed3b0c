/**
 * The `weave` command dispatcher: parses argv with commander, runs one
 * subcommand and returns its exit code (never throws, never prints a stack
 * trace). `weave --local <cmd>` is accepted and means the same as `weave <cmd>`.
 *
 * @module
 */
import { Command, CommanderError } from "commander";
import { VERSION } from "../lib/version.ts";
import { attachCommand } from "./attach.ts";
import { configCommand } from "./config.ts";
import { connectCommand } from "./connect.ts";
import { detachCommand } from "./detach.ts";
import { exposeCommand } from "./expose.ts";
import { hideCommand } from "./hide.ts";
import { psCommand } from "./ps.ts";
import { primeCommand } from "./prime.ts";
import { rmpeerCommand } from "./rmpeer.ts";
import { dnsAddCommand } from "./dns_add.ts";
import { dnsArgsCommand } from "./dns_args.ts";
import { dnsLookupCommand } from "./dns_lookup.ts";
import { dnsRemoveCommand } from "./dns_remove.ts";
import { envCommand } from "./env.ts";
import { forgetCommand } from "./forget.ts";
import { type CliIo, type CommandContext, systemIo } from "./io.ts";
import { kubeLaunchCommand } from "./kube_launch.ts";
import { launchCommand } from "./launch.ts";
import { reportCommand } from "./report.ts";
import { resetCommand } from "./reset.ts";
import { setupCniCommand } from "./setup_cni.ts";
import { statusCommand } from "./status.ts";
import { stopCommand } from "./stop.ts";
import { USAGE } from "./usage.ts";
import { versionCommand } from "./version.ts";

const COMMANDS = [
  attachCommand,
  detachCommand,
  exposeCommand,
  hideCommand,
  psCommand,
  primeCommand,
  rmpeerCommand,
  dnsAddCommand,
  dnsRemoveCommand,
  dnsLookupCommand,
  envCommand,
  configCommand,
  dnsArgsCommand,
  launchCommand,
  kubeLaunchCommand,
  stopCommand,
  resetCommand,
  setupCniCommand,
  connectCommand,
  forgetCommand,
  statusCommand,
  reportCommand,
  versionCommand,
];

/** Commands Weave 2.0 removed; still answered with its message. */
const REMOVED = new Set([
  "run",
  "start",
  "restart",
  "launch-plugin",
  "stop-plugin",
  "launch-proxy",
  "stop-proxy",
  "launch-router",
  "stop-router",
]);

/**
 * Runs the `weave` CLI.
 *
 * @example
 * ```ts ignore
 * import { runCli } from "./main.ts";
 * Deno.exit(await runCli(["status"]));
 * ```
 */
export async function runCli(argv: string[], io: CliIo = systemIo()): Promise<number> {
  const args = argv[0] === "--local" ? argv.slice(1) : argv;
  const name = args[0];
  if (name === undefined) {
    io.err(USAGE);
    return 1;
  }
  if (name === "help" || name === "--help" || name === "-h") {
    io.err(USAGE);
    return 0;
  }
  if (REMOVED.has(name)) {
    io.err(`The 'weave ${name}' command has been removed as of Weave Net version 2.0\n`);
    io.err("Please see release notes for further information\n");
    return 1;
  }
  let code = 0;
  const ctx: CommandContext = { io, exit: (c) => void (code = c) };
  const program = new Command("weave")
    .version(VERSION, "--version")
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: (s, write) => write(s) });
  const known = new Set<string>();
  for (const make of COMMANDS) {
    const cmd = make(ctx);
    cmd.copyInheritedSettings(program);
    program.addCommand(cmd);
    known.add(cmd.name());
  }
  if (!known.has(name) && !name.startsWith("-")) {
    io.err(`weave: unknown command '${name}'\n${USAGE}`);
    return 1;
  }
  try {
    await program.parseAsync(args, { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    io.err(`${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
