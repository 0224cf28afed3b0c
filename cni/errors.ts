/**
 * CNI errors (containernetworking/cni SPEC.md, "Error"): a numeric code, a
 * message and optional details, printed as JSON on stdout with a non-zero
 * exit. Codes 1–99 are the spec's; 100 and up are this plugin's own.
 *
 * @module
 */

/** The spec's well-known error codes and ours (≥ 100). */
export const CniCode = {
  /** Incompatible CNI version. */
  IncompatibleVersion: 1,
  /** Unsupported field in network configuration (the message names key and value). */
  UnsupportedField: 2,
  /** Container unknown or does not exist. */
  UnknownContainer: 3,
  /** Invalid necessary environment variables, like CNI_COMMAND, CNI_CONTAINERID. */
  InvalidEnv: 4,
  /** I/O failure (e.g. cannot read stdin). */
  IoFailure: 5,
  /** Failed to decode content (e.g. stdin is not JSON). */
  DecodeFailure: 6,
  /** Invalid network config: some validation failed. */
  InvalidConfig: 7,
  /** Try again later: a transient condition (the router does not answer). */
  TryAgainLater: 11,
  /** STATUS: the plugin is not available (cannot add containers now). */
  NotAvailable: 50,
  /** The router refused an IPAM request. */
  IpamRefused: 100,
  /** CHECK found the attachment not as ADD left it. */
  CheckFailed: 101,
  /** Setting up or tearing down the pod's interface failed in the kernel. */
  PlumbingFailed: 102,
  /** A delegated IPAM plugin could not be run. */
  DelegateFailed: 103,
  /** Anything else that went wrong inside the plugin. */
  Internal: 110,
} as const;

/**
 * An error with a CNI code; what a command throws for the runtime to see.
 *
 * @example
 * ```ts
 * import { CniCode, CniError } from "./errors.ts";
 * const e = new CniError(CniCode.InvalidConfig, "Cannot parse config: no \"type\"");
 * e.toJson("1.0.0"); // { cniVersion: "1.0.0", code: 7, msg: "Cannot parse config: no \"type\"" }
 * ```
 */
export class CniError extends Error {
  readonly code: number;
  readonly details?: string;

  constructor(code: number, message: string, options?: ErrorOptions & { details?: string }) {
    super(message, options);
    this.name = "CniError";
    this.code = code;
    this.details = options?.details;
  }

  /** The spec's error object for result version `cniVersion`. */
  toJson(cniVersion: string): Record<string, unknown> {
    const out: Record<string, unknown> = { cniVersion, code: this.code, msg: this.message };
    if (this.details) out.details = this.details;
    return out;
  }
}

/**
 * Any thrown value as a CniError: CniErrors pass through, others get `code`
 * and their message (never a stack trace).
 *
 * @example
 * ```ts
 * import { asCniError } from "./errors.ts";
 * asCniError(new Error("boom"), 102).code; // 102
 * ```
 */
export function asCniError(e: unknown, code: number, prefix = ""): CniError {
  if (e instanceof CniError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new CniError(code, prefix + message, { cause: e });
}
