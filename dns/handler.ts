/**
 * Raw query bytes in, raw answer bytes out: decoding, the pure
 * {@link answer} decision, forwarding, and encoding, with every failure
 * turned into a DNS error answer (or silence) rather than an exception.
 *
 * - undecodable queries get a header-only FORMERR (nothing when even the
 *   header is missing); responses sent to us are ignored, so that two
 *   servers cannot bounce packets between them;
 * - forwarded queries that no upstream answers get SERVFAIL.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import { decodePacket, type DnsPacket, encodePacket, headerReply, Rcode } from "./packet.ts";
import { answer, errorResponse, type ZoneView } from "./resolver.ts";

/** Answers one query; null means send nothing. */
export type QueryHandler = (
  query: Uint8Array,
  transport: "udp" | "tcp",
) => Promise<Uint8Array | null>;

/** Where non-local queries go (an {@link Upstream}, or a fake in tests). */
export interface Forwarder {
  /** The answer of the first upstream that replied (with the query's ID), or null. */
  exchange(query: Uint8Array, transport: "udp" | "tcp"): Promise<Uint8Array | null>;
}

/** Options of {@link createQueryHandler}. */
export interface QueryHandlerOptions {
  zone: ZoneView;
  domain: string;
  ttl: number;
  upstream: Forwarder;
  log: Logger;
  random?: () => number;
}

/**
 * Builds the handler the DNS server calls for every message.
 *
 * @example
 * ```ts ignore
 * const handle = createQueryHandler({ zone, domain: "weave.local.", ttl: 1, upstream, log });
 * const reply = await handle(bytes, "udp");
 * ```
 */
export function createQueryHandler(opts: QueryHandlerOptions): QueryHandler {
  return async (bytes, transport) => {
    let query: DnsPacket;
    try {
      query = decodePacket(bytes);
    } catch (e) {
      opts.log.debug(`malformed query: ${(e as Error).message}`);
      return headerReply(bytes, Rcode.FORMERR);
    }
    if (query.type === "response") return null;
    let res: DnsPacket | "forward";
    try {
      res = answer(query, opts.zone, { ...opts, transport });
    } catch (e) {
      opts.log.warn(`Cannot answer query: ${(e as Error).message}`);
      res = errorResponse(query, Rcode.SERVFAIL);
    }
    if (res === "forward") {
      const forwarded = await opts.upstream.exchange(bytes, transport);
      if (forwarded) return forwarded;
      res = errorResponse(query, Rcode.SERVFAIL);
    }
    return encodeOrFail(res, bytes, opts.log);
  };
}

function encodeOrFail(res: DnsPacket, bytes: Uint8Array, log: Logger): Uint8Array | null {
  try {
    return encodePacket(res);
  } catch (e) {
    log.warn(`Cannot send answer: ${(e as Error).message}`);
    return headerReply(bytes, Rcode.SERVFAIL);
  }
}
