/**
 * The error of a persisted IPAM state that cannot be trusted.
 *
 * @module
 */

/**
 * The saved state exists but cannot be trusted (truncated, edited, wrong format).
 *
 * @example
 * ```ts
 * import { IpamStoreCorruptError } from "./store_error.ts";
 * new IpamStoreCorruptError("/weavedb/weaveipam.json", "checksum mismatch").message;
 * ```
 */
export class IpamStoreCorruptError extends Error {
  constructor(where: string, detail: string, options?: ErrorOptions) {
    super(
      `IPAM state "${where}" is damaged: ${detail}; move it away or run 'weave reset'`,
      options,
    );
    this.name = "IpamStoreCorruptError";
  }
}
