/**
 * CNI spec versions this plugin speaks, and what each allows. Results are
 * encoded in the shape of the version the runtime asked for (see
 * `result.ts`); CHECK exists from 0.4.0, STATUS and GC from 1.1.0.
 *
 * @module
 */
import { CniCode, CniError } from "./errors.ts";

/** Versions we answer in, oldest first. */
export const SUPPORTED_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
/** A supported version. */
export type CniVersion = typeof SUPPORTED_VERSIONS[number];
/** The newest: VERSION's own `cniVersion`, and the version of errors found before a config is read. */
export const LATEST_VERSION: CniVersion = "1.1.0";

/**
 * Checks that `text` is a version we speak; CniError code 1 otherwise.
 *
 * @example
 * ```ts
 * import { requireVersion } from "./version.ts";
 * requireVersion("0.4.0"); // "0.4.0"
 * ```
 */
export function requireVersion(text: unknown): CniVersion {
  if (typeof text !== "string" || text === "") {
    throw new CniError(CniCode.InvalidConfig, `Cannot read config: "cniVersion" must be a string`);
  }
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(text)) {
    throw new CniError(
      CniCode.IncompatibleVersion,
      `Cannot use CNI version "${text}": this plugin supports ${SUPPORTED_VERSIONS.join(", ")}`,
    );
  }
  return text as CniVersion;
}

/** -1, 0 or 1 as version `a` is older than, equal to or newer than `b`. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Commands of the spec. */
export type CniCommand = "ADD" | "DEL" | "CHECK" | "VERSION" | "STATUS" | "GC";

/** The oldest version each command exists in. */
const SINCE: Record<CniCommand, string> = {
  ADD: "0.1.0",
  DEL: "0.1.0",
  VERSION: "0.1.0",
  CHECK: "0.4.0",
  STATUS: "1.1.0",
  GC: "1.1.0",
};

/**
 * Refuses a command that version `version` does not have (code 1).
 *
 * @example
 * ```ts
 * import { requireCommandIn } from "./version.ts";
 * requireCommandIn("CHECK", "1.0.0"); // fine; with "0.3.1" it throws
 * ```
 */
export function requireCommandIn(command: CniCommand, version: string): void {
  if (compareVersions(version, SINCE[command]) < 0) {
    throw new CniError(
      CniCode.IncompatibleVersion,
      `Cannot run ${command} with CNI version "${version}": it needs ${SINCE[command]} or later`,
    );
  }
}

/** VERSION's answer. */
export function versionInfo(): Record<string, unknown> {
  return { cniVersion: LATEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}
