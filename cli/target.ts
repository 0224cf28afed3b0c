/**
 * How a command finds its router and reports the answer: the instance's unix
 * socket, then `127.0.0.1:6784`, unless `--socket`, `--http-addr` or
 * `WEAVE_HTTP_ADDR` say otherwise; answers are printed as Weave's script
 * prints them (2xx body to stdout; 404 → exit 4; other bodies to stderr, exit 1).
 *
 * @module
 */
import type { Command } from "commander";
import {
  ApiClient,
  type ApiResponse,
  type ApiTarget,
  type FormFields,
  NotRunningError,
} from "../api/client.ts";
import { ENV_WEAVE_HTTP_ADDR } from "../router/env.ts";
import { defaultSocketPath } from "./instance.ts";
import type { CliIo } from "./io.ts";

/** Flags that choose the router. */
export interface TargetFlags {
  httpAddr?: string;
  socket?: string;
}

/** The message for a router that does not answer. */
export const NOT_RUNNING = "weave is not running.\n";

/** Adds `--http-addr` and `--socket` to a command. */
export function withTargetOptions(cmd: Command): Command {
  return cmd
    .option("--http-addr <addr>", "router control API address (host:port)")
    .option("--socket <path>", "router control API unix socket");
}

/** The routers to try, in order. */
export function resolveTargets(flags: TargetFlags, io: CliIo): ApiTarget[] {
  if (flags.socket) return [{ socketPath: flags.socket }];
  if (flags.httpAddr) return [{ httpAddr: flags.httpAddr }];
  const fromEnv = io.env[ENV_WEAVE_HTTP_ADDR];
  if (fromEnv) return [{ httpAddr: fromEnv }];
  return [{ socketPath: defaultSocketPath(io.instance()) }, { httpAddr: "127.0.0.1:6784" }];
}

/** Sends one request to the first target that answers; throws NotRunningError if none does. */
export async function callRouter(
  targets: ApiTarget[],
  method: string,
  path: string,
  init: { form?: FormFields; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ApiResponse> {
  let last: unknown;
  for (const target of targets) {
    try {
      return await new ApiClient(target, { timeoutMs: init.timeoutMs }).request(method, path, init);
    } catch (e) {
      if (!(e instanceof NotRunningError)) throw e;
      last = e;
    }
  }
  throw last ?? new NotRunningError("Cannot reach weave: no address to try");
}

/** Whether any target answers HTTP at all (whatever the status). */
export async function routerAnswers(targets: ApiTarget[], timeoutMs = 2000): Promise<boolean> {
  try {
    await callRouter(targets, "GET", "/status", { timeoutMs });
    return true;
  } catch {
    return false;
  }
}

/** Prints an answer the way Weave's `http_call` does and returns the exit code. */
export function printAnswer(io: CliIo, res: ApiResponse): number {
  if (res.status >= 200 && res.status < 300) {
    io.out(res.body);
    return 0;
  }
  if (res.status === 404) return 4;
  io.err(res.body);
  return 1;
}

/** Runs a command body, turning a missing router and other failures into messages and exit 1. */
export async function guard(io: CliIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof NotRunningError) io.err(NOT_RUNNING);
    else io.err(`${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
