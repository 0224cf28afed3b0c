/**
 * What a CLI command may touch besides the router: its output streams, the
 * environment and the instance (network namespace) name. Tests pass a
 * recording fake; `systemIo()` is the real one.
 *
 * @module
 */
import { detectInstance } from "./instance.ts";

/** The CLI's outside world. */
export interface CliIo {
  /** Writes to standard output (text as given, no newline added). */
  out(text: string): void;
  /** Writes to standard error. */
  err(text: string): void;
  /** Environment variables. */
  env: Record<string, string | undefined>;
  /** Name of this network namespace's weave instance (see `instance.ts`). */
  instance(): string;
}

const encoder = new TextEncoder();

function writeAll(target: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(target.writeSync(bytes));
}

/** The process's real streams, environment and namespace. */
export function systemIo(): CliIo {
  let instance: string | undefined;
  return {
    out: (text) => writeAll(Deno.stdout, text),
    err: (text) => writeAll(Deno.stderr, text),
    env: Deno.env.toObject(),
    instance: () => (instance ??= detectInstance()),
  };
}

/** A fake that records output (for tests). */
export function memoryIo(
  env: Record<string, string | undefined> = {},
  instance = "default",
): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: "",
    stderr: "",
    env,
    out: (text: string) => void (io.stdout += text),
    err: (text: string) => void (io.stderr += text),
    instance: () => instance,
  };
  return io;
}

/** What each subcommand's factory receives. */
export interface CommandContext {
  io: CliIo;
  /** Records the command's exit code. */
  exit(code: number): void;
}
