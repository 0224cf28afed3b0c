/**
 * `weave reset [--force]`: stops the router and removes this instance's
 * persisted state (`<db-prefix>*`, keeping logs) and its control socket
 * directory. Without `--force` a router that is not running is an error, as
 * in Weave.
 *
 * @module
 */
import { Command } from "commander";
import { defaultDbPrefix, defaultSocketPath } from "./instance.ts";
import type { CliIo, CommandContext } from "./io.ts";
import { stopRouter } from "./stop.ts";
import {
  callRouter,
  guard,
  resolveTargets,
  routerAnswers,
  type TargetFlags,
  withTargetOptions,
} from "./target.ts";

/** Flags of `weave reset`. */
export interface ResetFlags extends TargetFlags {
  force?: boolean;
  dbPrefix?: string;
}

/** Builds the `reset` command. */
export function resetCommand(ctx: CommandContext): Command {
  return withTargetOptions(new Command("reset"))
    .description("stop the router and remove its persisted state")
    .option("--force", "reset even when the router is not running")
    .option("--db-prefix <prefix>", "state file prefix the router was launched with")
    .action(async (flags: ResetFlags) => {
      ctx.exit(await runReset(flags, ctx.io));
    });
}

/** Runs `weave reset`; returns the exit code. */
export function runReset(flags: ResetFlags, io: CliIo): Promise<number> {
  return guard(io, async () => {
    const targets = resolveTargets(flags, io);
    if (await routerAnswers(targets)) {
      // Hand our IP ranges to the other peers first (Weave's `DELETE /peer`).
      const res = await callRouter(targets, "DELETE", "/peer").catch(() => undefined);
      if (res && res.status >= 200 && res.status < 300) await sleep(500);
      const code = await stopRouter(targets, io);
      if (code !== 0) return code;
    } else if (!flags.force) {
      io.err("ERROR: weave is not running; unable to remove from cluster.\n");
      io.err("Re-launch weave before reset or use --force to override.\n");
      return 1;
    }
    await removeState(flags.dbPrefix ?? defaultDbPrefix(io.instance()));
    if (flags.socket) await removeQuietly(flags.socket, false);
    else if (!flags.httpAddr) {
      const socket = defaultSocketPath(io.instance());
      await removeQuietly(socket.slice(0, socket.lastIndexOf("/")), true);
    }
    return 0;
  });
}

/** Removes the files `<prefix>*` except logs. */
export async function removeState(prefix: string): Promise<void> {
  const slash = prefix.lastIndexOf("/");
  const dir = slash <= 0 ? (slash === 0 ? "/" : ".") : prefix.slice(0, slash);
  const base = prefix.slice(slash + 1);
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  for (const entry of entries) {
    if (entry.name.startsWith(base) && !entry.name.endsWith(".log") && !entry.isDirectory) {
      await removeQuietly(`${dir}/${entry.name}`, false);
    }
  }
}

async function removeQuietly(path: string, recursive: boolean): Promise<void> {
  try {
    await Deno.remove(path, { recursive });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
