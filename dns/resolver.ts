/**
 * The weaveDNS query handler, pure: a decoded query and a view of the zone in,
 * a response (or the decision to forward upstream) out. It follows Weave
 * 2.8.1's `nameserver/dns.go` request routing:
 *
 * - names in the weave domain (and single-label names, which get the domain
 *   appended) are answered locally: the live A records, shuffled; NXDOMAIN for
 *   unknown names; an empty NOERROR for other types of a known name (RFC 4074);
 * - `in-addr.arpa.` PTR queries for a known address get the first live name;
 *   unknown addresses are forwarded, malformed or non-PTR ones get NXDOMAIN;
 * - everything else is `"forward"`.
 *
 * Local answers carry AA and RA. An answer of more than one record that does
 * not fit (UDP: 512 bytes, or the query's EDNS size; TCP: 65535) keeps as many
 * records as fit and sets TC, so the client retries over TCP.
 *
 * @module
 */
import { DnsFlag, type DnsPacket, type DnsRecord, packetLength, Rcode } from "./packet.ts";

/** Largest UDP answer without EDNS (RFC 1035). */
export const MIN_UDP_SIZE = 512;
/** Largest message a TCP length prefix can frame. */
export const MAX_TCP_SIZE = 65535;

const REVERSE_ZONE = "in-addr.arpa.";

/** What the handler needs from the zone. */
export interface ZoneView {
  /** Live IPv4 addresses (uint32) of a fully qualified name, compared case-insensitively. */
  lookup(hostname: string): number[];
  /** The name of the first live entry with this address, if any. */
  reverseLookup(addr: number): string | undefined;
}

/** Options of {@link answer}. */
export interface AnswerOptions {
  /** The weave domain, fully qualified (`weave.local.`). */
  domain: string;
  /** TTL of local answers, seconds. */
  ttl: number;
  /** How the query came (sets the size limit); default UDP. */
  transport?: "udp" | "tcp";
  /** Random source for shuffling answers; default Math.random. */
  random?: () => number;
}

/**
 * Answers a query from the zone, or returns `"forward"` for the upstream servers.
 *
 * @example
 * ```ts
 * import { answer } from "./resolver.ts";
 * const zone = { lookup: () => [0x0a200001], reverseLookup: () => undefined };
 * const query = { id: 1, questions: [{ name: "web.weave.local", type: "A" }] };
 * const res = answer(query, zone, { domain: "weave.local.", ttl: 1 });
 * res !== "forward" && res.answers;
 * // [{ name: "web.weave.local", type: "A", class: "IN", ttl: 1, data: "10.32.0.1" }]
 * ```
 */
export function answer(
  query: DnsPacket,
  zone: ZoneView,
  opts: AnswerOptions,
): DnsPacket | "forward" {
  const questions = query.questions ?? [];
  if (questions.length === 0) return errorResponse(query, Rcode.SERVFAIL);
  const domain = fqdn(opts.domain).toLowerCase();
  const name = fqdn(questions[0].name).toLowerCase();
  if (name === domain || name.endsWith("." + domain)) return answerLocal(query, zone, opts);
  if (name === REVERSE_ZONE || name.endsWith("." + REVERSE_ZONE)) {
    return answerReverse(query, zone, opts);
  }
  if (questions.length === 1 && isSingleLabel(name)) return answerLocal(query, zone, opts);
  return "forward";
}

/**
 * A reply to `query` with only a response code (RA set, question echoed).
 *
 * @example
 * ```ts
 * import { errorResponse } from "./resolver.ts";
 * import { Rcode } from "./packet.ts";
 * errorResponse({ id: 9, questions: [] }, Rcode.SERVFAIL).flags; // 0x0082
 * ```
 */
export function errorResponse(query: DnsPacket, rcode: number): DnsPacket {
  return reply(query, rcode, false, []);
}

/** Appends the root dot if missing. */
export function fqdn(name: string): string {
  return name.endsWith(".") ? name : name + ".";
}

/** `web.` (not the root `.`, which Weave would turn into `.weave.local.`). */
function isSingleLabel(name: string): boolean {
  return name.length > 1 && name.indexOf(".") === name.length - 1;
}

function answerLocal(query: DnsPacket, zone: ZoneView, opts: AnswerOptions): DnsPacket {
  const questions = query.questions ?? [];
  if (questions.length !== 1) return errorResponse(query, Rcode.NXDOMAIN);
  const q = questions[0];
  let hostname = fqdn(q.name);
  if (isSingleLabel(hostname)) hostname += fqdn(opts.domain);
  const addrs = zone.lookup(hostname);
  if (addrs.length === 0) return errorResponse(query, Rcode.NXDOMAIN);
  if (q.type !== "A") return reply(query, Rcode.NOERROR, true, []);
  const records: DnsRecord[] = addrs.map((a) => ({
    name: q.name,
    type: "A",
    class: "IN",
    ttl: opts.ttl,
    data: formatAddr(a),
  }));
  shuffle(records, opts.random ?? Math.random);
  return fitted(query, records, opts);
}

function answerReverse(
  query: DnsPacket,
  zone: ZoneView,
  opts: AnswerOptions,
): DnsPacket | "forward" {
  const questions = query.questions ?? [];
  if (questions.length !== 1 || questions[0].type !== "PTR") {
    return errorResponse(query, Rcode.NXDOMAIN);
  }
  const q = questions[0];
  const addr = parseReverseName(q.name);
  if (addr === undefined) return errorResponse(query, Rcode.NXDOMAIN);
  const hostname = zone.reverseLookup(addr);
  if (hostname === undefined) return "forward";
  const ptr = { name: q.name, type: "PTR", class: "IN", ttl: opts.ttl, data: hostname };
  return fitted(query, [ptr], opts);
}

/** `1.0.32.10.in-addr.arpa.` → 10.32.0.1 as uint32; undefined unless four octets. */
export function parseReverseName(name: string): number | undefined {
  const lower = fqdn(name).toLowerCase();
  if (!lower.endsWith("." + REVERSE_ZONE)) return undefined;
  const parts = lower.slice(0, -REVERSE_ZONE.length - 1).split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    return undefined;
  }
  return parts.reduceRight((acc, p) => acc * 256 + Number(p), 0);
}

function formatAddr(a: number): string {
  return [24, 16, 8, 0].map((s) => (a >>> s) & 255).join(".");
}

/** Fisher–Yates, as Weave's `shuffleAnswers`. */
function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(random() * (i + 1)));
    [items[i], items[j]] = [items[j], items[i]];
  }
}

/** The size limit for answers to this query. */
export function maxResponseSize(query: DnsPacket, transport: "udp" | "tcp" = "udp"): number {
  if (transport === "tcp") return MAX_TCP_SIZE;
  const opt = (query.additionals ?? []).find((r) => r.type === "OPT");
  const size = opt?.udpPayloadSize;
  return typeof size === "number"
    ? Math.min(Math.max(size, MIN_UDP_SIZE), MAX_TCP_SIZE)
    : MIN_UDP_SIZE;
}

/** An authoritative answer keeping as many records as fit (TC set when some did not). */
function fitted(query: DnsPacket, records: DnsRecord[], opts: AnswerOptions): DnsPacket {
  const max = maxResponseSize(query, opts.transport);
  const full = reply(query, Rcode.NOERROR, true, records);
  if (records.length <= 1 || packetLength(full) <= max) return full;
  let lo = 0, hi = records.length; // smallest count that is too big lies in (lo, hi]
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (packetLength({ ...full, answers: records.slice(0, mid) }) > max) hi = mid;
    else lo = mid;
  }
  const cut = reply(query, Rcode.NOERROR, true, records.slice(0, lo));
  return { ...cut, flags: (cut.flags ?? 0) | DnsFlag.TRUNCATED };
}

/** A reply as Go's `SetReply`: id, opcode, RD/CD copied, first question echoed; RA set. */
function reply(
  query: DnsPacket,
  rcode: number,
  authoritative: boolean,
  answers: DnsRecord[],
): DnsPacket {
  const qflags = query.flags ?? 0;
  const opcode = qflags & DnsFlag.OPCODE_MASK;
  let flags = opcode | DnsFlag.RECURSION_AVAILABLE | rcode;
  if (opcode === 0) flags |= qflags & (DnsFlag.RECURSION_DESIRED | DnsFlag.CHECKING_DISABLED);
  if (authoritative) flags |= DnsFlag.AUTHORITATIVE;
  return {
    id: query.id ?? 0,
    type: "response",
    flags,
    questions: (query.questions ?? []).slice(0, 1),
    answers,
    authorities: [],
    additionals: [],
  };
}
