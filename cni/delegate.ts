/**
 * Delegated IPAM: when `ipam.type` names another plugin, it is run as the
 * spec says (SPEC.md, "Delegated plugins"): found in CNI_PATH, given the same
 * environment (with the command we are running) and our stdin, its stdout
 * read as a result or an error, whose code we pass on.
 *
 * @module
 */
import type { CniArgs } from "./env.ts";
import { CniCode, CniError } from "./errors.ts";

/** Runs IPAM plugin `type` for `command`; resolves to its parsed stdout (undefined when empty). */
export type Delegate = (
  type: string,
  command: string,
  stdin: string,
  args: CniArgs,
) => Promise<unknown>;

/**
 * The real delegate: executes `<dir>/<type>` of the first CNI_PATH entry
 * that has it.
 *
 * @example
 * ```ts ignore
 * const result = await execDelegate("host-local", "ADD", stdin, args);
 * ```
 */
export const execDelegate: Delegate = async (type, command, stdin, args) => {
  const file = findPlugin(type, args.path);
  const env: Record<string, string> = { ...Deno.env.toObject(), CNI_COMMAND: command };
  const child = new Deno.Command(file, {
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout).trim();
  let doc: unknown;
  try {
    doc = text === "" ? undefined : JSON.parse(text);
  } catch {
    throw new CniError(
      CniCode.DelegateFailed,
      `Cannot read the answer of IPAM plugin "${type}": not JSON: ${text.slice(0, 200)}`,
    );
  }
  if (out.code !== 0) {
    const err = doc as { code?: unknown; msg?: unknown; details?: unknown } | undefined;
    const code = typeof err?.code === "number" ? err.code : CniCode.DelegateFailed;
    const msg = typeof err?.msg === "string"
      ? err.msg
      : new TextDecoder().decode(out.stderr).trim() || `exit code ${out.code}`;
    const details = typeof err?.details === "string" ? err.details : undefined;
    throw new CniError(code, `IPAM plugin "${type}" failed: ${msg}`, { details });
  }
  return doc;
};

function findPlugin(type: string, path: readonly string[]): string {
  for (const dir of path) {
    try {
      if (Deno.statSync(`${dir}/${type}`).isFile) return `${dir}/${type}`;
    } catch {
      // Not in this directory.
    }
  }
  throw new CniError(
    CniCode.DelegateFailed,
    `Cannot find IPAM plugin "${type}" in CNI_PATH (${path.join(":") || "empty"})`,
  );
}
