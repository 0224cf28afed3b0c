/**
 * `weave launch [flags] [peer...]`: starts this instance's router. By default
 * it re-runs this program as `launch --foreground …` in a new session
 * (`setsid`), output appended to `<dir of --db-prefix>/weave.log`, and waits
 * until the router's API answers; `--foreground` runs the router in this
 * process until SIGTERM/SIGINT.
 *
 * @module
 */
import { Command } from "commander";
import type { ApiTarget } from "../api/client.ts";
import { createLogger } from "../lib/log.ts";
import { parseWeaverArgs, type WeaverConfig } from "../router/config.ts";
import type { CliIo, CommandContext } from "./io.ts";
import { routerAnswers } from "./target.ts";
import { USAGE } from "./usage.ts";

/** How long `weave launch` waits for the new router's API. */
export const LAUNCH_TIMEOUT_MS = 15_000;

/** Builds the `launch` command (its flags are the router's, see `router/config.ts`). */
export function launchCommand(ctx: CommandContext): Command {
  return new Command("launch")
    .description("start the router; flags and peers are passed to it")
    .helpOption("--help", "display help for command")
    .allowUnknownOption()
    .allowExcessArguments()
    .argument("[args...]", "router flags and peers")
    .addHelpText(
      "after",
      "\n" + USAGE.slice(USAGE.indexOf("weave launch"), USAGE.indexOf("weave connect")),
    )
    .action(async (args: string[]) => {
      ctx.exit(await runLaunch(args, ctx.io));
    });
}

/** Runs `weave launch`; returns the exit code. */
export async function runLaunch(args: string[], io: CliIo): Promise<number> {
  let config: WeaverConfig;
  try {
    config = parseWeaverArgs(args, io.env, { hostname: Deno.hostname(), instance: io.instance() });
  } catch (e) {
    io.err(`${(e as Error).message}\n`);
    return 1;
  }
  if (config.foreground) return await runForeground(config, io);
  const targets = configTargets(config);
  if (await routerAnswers(targets)) {
    io.err("Weave Net is already running\n");
    return 1;
  }
  const dir = config.dbPrefix.slice(0, config.dbPrefix.lastIndexOf("/")) || "/";
  await Deno.mkdir(dir, { recursive: true });
  return await launchDetached({
    command: selfCommand(["launch", "--foreground", ...args]),
    logPath: `${dir}/weave.log`,
    ready: () => routerAnswers(targets, 1000),
    timeoutMs: LAUNCH_TIMEOUT_MS,
    io,
  });
}

/** Where a router with this configuration answers. */
export function configTargets(config: WeaverConfig): ApiTarget[] {
  const targets: ApiTarget[] = [];
  if (config.socketPath) targets.push({ socketPath: config.socketPath });
  if (config.httpAddr) targets.push({ httpAddr: config.httpAddr });
  return targets;
}

/** Options of {@link launchDetached}. */
export interface DetachedLaunch {
  /** Program and arguments of the daemon. */
  command: string[];
  /** File its standard output and error are appended to. */
  logPath: string;
  /** Resolves true once the daemon is usable. */
  ready: () => Promise<boolean>;
  timeoutMs: number;
  io: CliIo;
}

/**
 * Starts a daemon in its own session with output appended to a log, and waits
 * until `ready()`; if it exits first (or never gets ready) prints the tail of
 * what it logged and returns 1.
 */
export async function launchDetached(opts: DetachedLaunch): Promise<number> {
  const logStart = await fileSize(opts.logPath);
  const script = 'log=$1; shift; exec "$@" >>"$log" 2>&1 </dev/null';
  const child = new Deno.Command("setsid", {
    args: ["sh", "-c", script, "sh", opts.logPath, ...opts.command],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let exited: Deno.CommandStatus | undefined;
  const status = child.status.then((s) => (exited = s));
  child.unref();
  const deadline = Date.now() + opts.timeoutMs;
  while (exited === undefined && Date.now() < deadline) {
    if (await opts.ready()) return 0;
    await Promise.race([status, new Promise((resolve) => setTimeout(resolve, 100))]);
  }
  if (exited === undefined) {
    child.kill("SIGTERM");
    opts.io.err(`The router did not answer within ${opts.timeoutMs / 1000} s; stopped it.\n`);
  } else {
    opts.io.err(`The router exited with status ${exited.code} while starting.\n`);
  }
  const tail = await logTail(opts.logPath, logStart, 20);
  if (tail) opts.io.err(`Last lines of ${opts.logPath}:\n${tail}`);
  return 1;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

/** The last `lines` lines written to a file after byte `from`. */
async function logTail(path: string, from: number, lines: number): Promise<string> {
  try {
    const text = new TextDecoder().decode((await Deno.readFile(path)).subarray(from));
    const all = text.split("\n");
    if (all[all.length - 1] === "") all.pop();
    return all.slice(-lines).map((l) => l + "\n").join("");
  } catch {
    return "";
  }
}

/** The command line that runs this program again with `args`. */
export function selfCommand(args: string[]): string[] {
  const exe = Deno.execPath();
  const base = exe.slice(exe.lastIndexOf("/") + 1);
  const compiled = Deno.mainModule.includes("/deno-compile-") || !/^deno(\.exe)?$/.test(base);
  if (compiled) return [exe, ...args];
  return [exe, "run", "--quiet", ...runPermissions(), Deno.mainModule, ...args];
}

/**
 * The `deno run` permission and runtime flags, from `scripts/permissions.txt`
 * (one list for all launchers).
 */
export function runPermissions(): string[] {
  const text = Deno.readTextFileSync(new URL("../scripts/permissions.txt", import.meta.url));
  return text.split("\n").filter((l) => !l.trim().startsWith("#")).join(" ").split(/\s+/).filter(
    Boolean,
  );
}

async function runForeground(config: WeaverConfig, io: CliIo): Promise<number> {
  const { runWeaver } = await import("../router/weaver.ts");
  const log = createLogger({ level: config.logLevel });
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    await runWeaver(config, { log, signal: abort.signal });
    return 0;
  } catch (e) {
    io.err(`${(e as Error).message}\n`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGTERM", onSignal);
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}
