/**
 * Entry point of the `weave` program (`deno compile` target): runs the CLI
 * with this process's arguments and exits with its code.
 *
 * @module
 */
import { runCli } from "./cli/main.ts";

if (import.meta.main) Deno.exit(await runCli(Deno.args));
