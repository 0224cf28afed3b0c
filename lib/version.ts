/**
 * Our version string, shown wherever Weave Net shows its own version
 * (`weave version`, the `Version:` line of `weave status`, `/report`).
 *
 * @module
 */

/**
 * The version of this implementation: Weave Net 2.8.1 compatible, Deno port 1.
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 * VERSION.startsWith("2.8.1"); // true
 * ```
 */
export const VERSION = "2.8.1-deno.1";
