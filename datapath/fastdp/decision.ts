/**
 * Whether the router offers fastdp at all, and why not: the one line the log and
 * `weave status connections` show when connections stay on sleeve (user lessons #10, #11).
 *
 * @module
 */

/** Inputs of {@link fastdpDecision}. */
export interface FastdpDecisionInput {
  /** A mesh password is set (`--password` / `WEAVE_PASSWORD`): the data path must be encrypted. */
  password: boolean;
  /** Fastdp was turned off (`--no-fastdp` / `WEAVE_NO_FASTDP`). */
  noFastdp: boolean;
  /** Whether the kernel can do IPsec ESP; a function is called only when it matters. */
  esp: boolean | (() => boolean);
}

/** The outcome of {@link fastdpDecision}. */
export interface FastdpDecision {
  enabled: boolean;
  /** Why, for the log line. */
  reason: string;
  /** Why, in a few words, for `weave status connections` (`fastdp off: ...`). */
  brief: string;
}

/** The reason when fastdp is turned off by the user. */
export const REASON_DISABLED = "fastdp disabled by --no-fastdp (WEAVE_NO_FASTDP); using sleeve";
/** The reason when encryption is wanted and the kernel has no ESP. */
export const REASON_NO_ESP =
  "encryption requires IPsec ESP, which this kernel lacks (CONFIG_INET_ESP); using encrypted sleeve";
/** The reason when encryption is wanted and the kernel has ESP (IPsec setup not implemented). */
export const REASON_NO_IPSEC =
  "encryption requires IPsec ESP, which this weave does not set up yet; using encrypted sleeve";
/** The reason when fastdp is offered. */
export const REASON_ENABLED = "using kernel VXLAN (fastdp) where possible, sleeve as fallback";

/**
 * Decides whether to offer fastdp.
 *
 * With a password every connection must be encrypted; fastdp would carry it in IPsec ESP, so a
 * kernel without ESP means encrypted sleeve. This implementation never sends fastdp traffic in
 * clear when a password is set: the ESP key exchange (spec §5.4) is not implemented, so even a
 * kernel with ESP gets encrypted sleeve, with its own reason.
 *
 * @example
 * ```ts
 * import { fastdpDecision } from "./decision.ts";
 * fastdpDecision({ password: true, noFastdp: false, esp: false }).reason;
 * // "encryption requires IPsec ESP, which this kernel lacks (CONFIG_INET_ESP); using encrypted sleeve"
 * ```
 */
export function fastdpDecision(input: FastdpDecisionInput): FastdpDecision {
  if (input.noFastdp) return { enabled: false, reason: REASON_DISABLED, brief: "off: --no-fastdp" };
  if (input.password) {
    const esp = typeof input.esp === "function" ? input.esp() : input.esp;
    return esp
      ? { enabled: false, reason: REASON_NO_IPSEC, brief: "off: encrypted fastdp not implemented" }
      : { enabled: false, reason: REASON_NO_ESP, brief: "off: kernel lacks IPsec ESP" };
  }
  return { enabled: true, reason: REASON_ENABLED, brief: "on" };
}
