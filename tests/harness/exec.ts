/**
 * Runs a command to completion and collects its output, for the test harness and the demo.
 *
 * A command may start a daemon that inherits its stdout/stderr (as `weave launch` may): waiting for
 * end-of-file on those pipes would then hang until the daemon exits. So {@link run} waits for the
 * command's own exit, then gives the pipes a short grace period and keeps what arrived by then.
 *
 * @module
 */
import { concatBytes } from "../../lib/bytes.ts";

/** The outcome of one command. */
export interface ExecResult {
  /** Exit code (128 + signal number when killed by a signal). */
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link run}. */
export interface ExecOptions {
  /** Extra environment variables, added to the current environment. */
  env?: Record<string, string>;
  /** Text written to the command's standard input (closed afterwards); none by default. */
  stdin?: string;
  /** Working directory. */
  cwd?: string;
  /** Kill the command and throw after this long; 30 s by default. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** How long the pipes may stay open after the command exited (held by a daemon it started). */
const PIPE_GRACE_MS = 300;

/**
 * Runs `cmd` (program and arguments) and returns its exit code and output.
 *
 * @example
 * ```ts ignore
 * const { code, stdout } = await run(["ip", "netns", "list"]);
 * if (code === 0) writeText(Deno.stdout, stdout);
 * ```
 */
export async function run(cmd: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const shown = cmd.join(" ");
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      stdin: opts.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      env: opts.env,
      cwd: opts.cwd,
    }).spawn();
  } catch (cause) {
    throw new Error(`Cannot run "${shown}": ${(cause as Error).message}`, { cause });
  }
  const out = collect(child.stdout);
  const err = collect(child.stderr);
  if (opts.stdin !== undefined) await writeAndClose(child.stdin, opts.stdin);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const status = await child.status;
  clearTimeout(timer);
  const [stdout, stderr] = await Promise.all([out.settle(), err.settle()]);
  if (timedOut) {
    throw new Error(
      `Cannot run "${shown}": timed out after ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms` +
        `; stdout: ${JSON.stringify(stdout)}; stderr: ${JSON.stringify(stderr)}`,
    );
  }
  return { code: status.signal ? 128 + signalNumber(status.signal) : status.code, stdout, stderr };
}

/**
 * Runs `cmd` like {@link run} and returns its stdout; throws when it exits non-zero.
 *
 * @example
 * ```ts ignore
 * const list = await runOk(["ip", "netns", "list"]);
 * writeText(Deno.stdout, list);
 * ```
 */
export async function runOk(cmd: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const r = await run(cmd, opts);
  if (r.code !== 0) {
    throw new Error(`Cannot run "${cmd.join(" ")}": exit code ${r.code}: ${r.stderr.trim()}`);
  }
  return r.stdout;
}

async function writeAndClose(stream: WritableStream<Uint8Array>, text: string): Promise<void> {
  const writer = stream.getWriter();
  try {
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
  } catch {
    // The command exited without reading its input: its exit code tells the caller.
  }
}

interface Collector {
  /** Resolves with everything read once the stream ends or the grace period passes. */
  settle(): Promise<string>;
}

function collect(stream: ReadableStream<Uint8Array>): Collector {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  const done = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        chunks.push(value);
      }
    } catch {
      // Cancelled after the grace period, or the pipe broke: keep what arrived.
    }
  })();
  const text = () => new TextDecoder().decode(concatBytes(chunks));
  return {
    async settle() {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<"late">((resolve) => {
        timer = setTimeout(() => resolve("late"), PIPE_GRACE_MS);
      });
      const outcome = await Promise.race([done, grace]);
      clearTimeout(timer);
      if (outcome === "late") {
        await reader.cancel().catch(() => {});
        await done;
      }
      return text();
    },
  };
}

const SIGNALS: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

function signalNumber(signal: Deno.Signal): number {
  return SIGNALS[signal] ?? 0;
}

/**
 * Writes text to stdout or stderr completely (the harness and demo use this instead of `console`,
 * which the project's lint keeps to cli/ and main.ts).
 *
 * @example
 * ```ts
 * writeText(Deno.stdout, "hello\n");
 * ```
 */
export function writeText(target: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(target.writeSync(bytes));
}
