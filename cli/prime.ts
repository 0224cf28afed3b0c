/**
 * `weave prime`: waits until IPAM has its ring (Weave's `GET /ring`),
 * starting consensus if needed. Weave's version could hang silently; ours
 * prints the IPAM status to stderr every `--progress` seconds while it waits
 * (e.g. `awaiting consensus (quorum: 2, known: 1)`), and gives up after
 * `--timeout` seconds if one is given.
 *
 * @module
 */
import { Command } from "commander";
import type { IpamReport } from "../api/report.ts";
import { ipamStatusText } from "../api/render_status.ts";
import type { CliIo, CommandContext } from "./io.ts";
import {
  callRouter,
  guard,
  printAnswer,
  resolveTargets,
  type TargetFlags,
  withTargetOptions,
} from "./target.ts";

/** Flags of `weave prime`. */
export interface PrimeFlags extends TargetFlags {
  /** Seconds before giving up (default: wait forever). */
  timeout?: string;
  /** Seconds between status lines (default 10). */
  progress?: string;
}

/** Longest wait the HTTP client allows (setTimeout's limit). */
const FOREVER_MS = 2 ** 31 - 1;

/** Builds the `prime` command. */
export function primeCommand(ctx: CommandContext): Command {
  return withTargetOptions(new Command("prime"))
    .description("wait until IP address allocation is ready (consensus reached)")
    .option("--timeout <seconds>", "give up after this many seconds")
    .option("--progress <seconds>", "print the IPAM status this often while waiting", "10")
    .action(async (flags: PrimeFlags) => {
      ctx.exit(await runPrime(flags, ctx.io));
    });
}

/** Runs `weave prime`; returns the exit code. */
export function runPrime(flags: PrimeFlags, io: CliIo): Promise<number> {
  return guard(io, async () => {
    const targets = resolveTargets(flags, io);
    const timeout = seconds(flags.timeout, "--timeout");
    const progress = seconds(flags.progress ?? "10", "--progress")!;
    const path = timeout === undefined ? "/ring" : `/ring?timeout=${timeout}s`;
    let done = false;
    const ticker = setInterval(async () => {
      const status = await ipamStatus(targets).catch(() => undefined);
      if (!done && status !== undefined) io.err(`Waiting for IPAM: ${status}\n`);
    }, progress * 1000);
    try {
      const timeoutMs = timeout === undefined ? FOREVER_MS : timeout * 1000 + 5000;
      return printAnswer(io, await callRouter(targets, "GET", path, { timeoutMs }));
    } finally {
      done = true;
      clearInterval(ticker);
    }
  });
}

function seconds(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    throw new RangeError(`Cannot parse ${flag} "${text}": expected a positive number of seconds`);
  }
  return n;
}

async function ipamStatus(targets: ReturnType<typeof resolveTargets>): Promise<string | undefined> {
  const res = await callRouter(targets, "GET", "/report", {
    headers: { accept: "application/json" },
    timeoutMs: 3000,
  });
  if (res.status !== 200) return undefined;
  const ipam = (JSON.parse(res.body) as { IPAM?: IpamReport }).IPAM;
  return ipam ? ipam.Status ?? ipamStatusText(ipam) : undefined;
}
