/**
 * `weave env [--restore]`: prints what points the Docker CLI at the Weave
 * Docker API proxy, as Weave's script does, for `eval $(weave env)`:
 * `export DOCKER_HOST=<proxy> ORIG_DOCKER_HOST=<previous>` (the second word
 * left out when `DOCKER_HOST` already names the proxy); `--restore` prints
 * `export DOCKER_HOST=<ORIG_DOCKER_HOST>`. The proxy's address comes from the
 * router (`GET /proxyaddrs`, space-separated; the first one is used).
 *
 * @module
 */
import { Command } from "commander";
import { DEFAULT_DOCKER_HOST, DOCKER_HOST_ENV } from "../docker/endpoint.ts";
import type { CliIo, CommandContext } from "./io.ts";
import {
  callRouter,
  guard,
  resolveTargets,
  type TargetFlags,
  withTargetOptions,
} from "./target.ts";

/** The message when the router has no proxy. */
export const PROXY_NOT_RUNNING = "Weave proxy is not running.\n";

/**
 * The `weave env` line.
 *
 * @example
 * ```ts
 * import { formatEnv } from "./env.ts";
 * formatEnv("unix:///var/run/weave/weave.sock", {});
 * // "export DOCKER_HOST=unix:///var/run/weave/weave.sock ORIG_DOCKER_HOST=unix:///var/run/docker.sock\n"
 * ```
 */
export function formatEnv(proxy: string, env: Record<string, string | undefined>): string {
  const current = env[DOCKER_HOST_ENV] || DEFAULT_DOCKER_HOST;
  // Weave's script echoes "export DOCKER_HOST=$PROXY_ADDR $RESTORE": a space even without it.
  const restore = current === proxy ? "" : `ORIG_DOCKER_HOST=${current}`;
  return `export DOCKER_HOST=${proxy} ${restore}\n`;
}

/** The `weave env --restore` line. */
export function formatRestore(env: Record<string, string | undefined>): string {
  return `export DOCKER_HOST=${env.ORIG_DOCKER_HOST ?? ""}\n`;
}

/** The first address of the router's proxy; undefined (message printed) when it has none. */
export async function proxyAddress(io: CliIo, flags: TargetFlags): Promise<string | undefined> {
  const res = await callRouter(resolveTargets(flags, io), "GET", "/proxyaddrs");
  const first = res.status === 200 ? res.body.trim().split(/\s+/)[0] : "";
  if (!first) {
    io.err(PROXY_NOT_RUNNING);
    return undefined;
  }
  return first;
}

/** Builds the `env` command. */
export function envCommand(ctx: CommandContext): Command {
  return withTargetOptions(new Command("env"))
    .description("print the environment that points docker at the weave proxy")
    .option("--restore", "print the environment that points docker back where it was")
    .action(async (flags: TargetFlags & { restore?: boolean }) => {
      const { io } = ctx;
      ctx.exit(
        await guard(io, async () => {
          if (flags.restore) {
            io.out(formatRestore(io.env));
            return 0;
          }
          const proxy = await proxyAddress(io, flags);
          if (proxy === undefined) return 1;
          io.out(formatEnv(proxy, io.env));
          return 0;
        }),
      );
    });
}
