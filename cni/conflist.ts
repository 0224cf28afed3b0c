/**
 * The network configuration `weave setup-cni` writes (`10-weave.conflist`),
 * as Weave's launch script writes it: `weave-net` with `hairpinMode` from
 * HAIRPIN_MODE (default true), then `portmap` chained for `hostPort`s. It
 * declares CNI 1.0.0 and, for runtimes that read it (libcni 1.2+),
 * `cniVersions` with every version both plugins speak.
 *
 * @module
 */

/** The file name, and the one of older Weave installs that it replaces. */
export const CONFLIST_NAME = "10-weave.conflist";
export const OLD_CONF_NAME = "10-weave.conf";
/** The environment variable Weave reads for the hairpin mode. */
export const ENV_HAIRPIN_MODE = "HAIRPIN_MODE";

/**
 * The conflist text for HAIRPIN_MODE `hairpin` (`"false"` turns it off; anything else,
 * or nothing, leaves it on, as Weave does).
 *
 * @example
 * ```ts
 * import { weaveConflist } from "./conflist.ts";
 * JSON.parse(weaveConflist(undefined)).plugins[0].hairpinMode; // true
 * ```
 */
export function weaveConflist(hairpin: string | undefined): string {
  const doc = {
    cniVersion: "1.0.0",
    cniVersions: ["0.3.1", "0.4.0", "1.0.0", "1.1.0"],
    name: "weave",
    plugins: [
      { name: "weave", type: "weave-net", hairpinMode: hairpin !== "false" },
      { type: "portmap", capabilities: { portMappings: true }, snat: true },
    ],
  };
  return JSON.stringify(doc, null, 2) + "\n";
}
