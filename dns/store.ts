/**
 * weaveDNS's own records on disk (`<db-prefix>dns.json`), so that a router
 * killed with `kill -9` and launched again gets its names back: the gossip
 * of the other peers still carries our old entries, but only we may revive
 * them, and Weave's own answer (asking Docker again at start) has no
 * counterpart here, since `ip netns` containers carry no hostname.
 *
 * Only live entries originated by this peer are stored: container id, address
 * and hostname. Versions are not — on start the nameserver adds the entries
 * again, and its gossip (a higher version than any tombstone we sent before)
 * wins. Writes are atomic (temporary file, fsync, rename, fsync of the
 * directory), as `router/state_store.ts` writes the router's state; a damaged
 * file is reported and never half-used.
 *
 * @module
 */
import { formatIPv4, parseIPv4 } from "../lib/cidr.ts";
import { writeFileAtomic } from "../lib/atomic_file.ts";

/** One stored record: our entry for a container. */
export interface DnsRecord {
  containerID: string;
  /** IPv4 address as a number. */
  addr: number;
  /** Fully qualified hostname. */
  hostname: string;
}

/** Marker of the file's format. */
const FORMAT = "weave-dns-v1";

/** The records file for a `--db-prefix`. */
export function dnsStatePath(dbPrefix: string): string {
  return `${dbPrefix}dns.json`;
}

/**
 * The file's text for `records` (pure).
 *
 * @example
 * ```ts
 * import { formatDnsRecords } from "./store.ts";
 * formatDnsRecords([{ containerID: "c1", addr: 0x0a200001, hostname: "db.weave.local." }]);
 * // '{"format":"weave-dns-v1","entries":[{"containerID":"c1","addr":"10.32.0.1",…}]}\n'
 * ```
 */
export function formatDnsRecords(records: readonly DnsRecord[]): string {
  const entries = records.map((r) => ({
    containerID: r.containerID,
    addr: formatIPv4(r.addr),
    hostname: r.hostname,
  }));
  return JSON.stringify({ format: FORMAT, entries }) + "\n";
}

/**
 * Parses the file's text (pure); throws SyntaxError naming `path` and what is wrong.
 *
 * @example
 * ```ts
 * import { formatDnsRecords, parseDnsRecords } from "./store.ts";
 * const r = { containerID: "c1", addr: 0x0a200001, hostname: "db.weave.local." };
 * parseDnsRecords("dns.json", formatDnsRecords([r])); // [r]
 * ```
 */
export function parseDnsRecords(path: string, text: string): DnsRecord[] {
  const bad = (detail: string, cause?: unknown) =>
    new SyntaxError(`Cannot read DNS records "${path}": ${detail}`, { cause });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw bad("not valid JSON (truncated?)", e);
  }
  const { format, entries } = (doc ?? {}) as { format?: unknown; entries?: unknown };
  if (format !== FORMAT) throw bad(`missing format marker "${FORMAT}"`);
  if (!Array.isArray(entries)) throw bad("no entries array");
  return entries.map((e: unknown, i) => {
    const { containerID, addr, hostname } = (e ?? {}) as Record<string, unknown>;
    if (typeof containerID !== "string" || containerID === "" || typeof hostname !== "string") {
      throw bad(`entry ${i} lacks a container id or hostname`);
    }
    try {
      return { containerID, addr: parseIPv4(String(addr)), hostname };
    } catch (cause) {
      throw bad(`entry ${i} has a bad address ${JSON.stringify(addr)}`, cause);
    }
  });
}

/**
 * Reads and writes the records file. Writes never overlap, and saves that arrive while one runs
 * are coalesced: only the latest records are written next, and every save waiting for that write
 * resolves with it. So changes faster than the disk leave at most one write running and one
 * waiting, never a backlog that grows with the rate of changes.
 */
export class DnsStore {
  readonly path: string;
  #tail: Promise<void> = Promise.resolve();
  #queued?: { text: string; done: PromiseWithResolvers<void> };
  #writes = 0;

  constructor(path: string) {
    this.path = path;
  }

  /** How many writes of the file were started (for tests of the coalescing). */
  get writes(): number {
    return this.#writes;
  }

  /** The stored records; none when the file does not exist. Throws SyntaxError when damaged. */
  async load(): Promise<DnsRecord[]> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
    return parseDnsRecords(this.path, text);
  }

  /**
   * Replaces the stored records atomically, after the write still running; resolves once
   * `records` (or later records that replaced them) are on disk.
   */
  save(records: readonly DnsRecord[]): Promise<void> {
    const text = formatDnsRecords(records);
    if (this.#queued) {
      this.#queued.text = text;
      return this.#queued.done.promise;
    }
    const queued = { text, done: Promise.withResolvers<void>() };
    this.#queued = queued;
    this.#tail = this.#tail.then(async () => {
      this.#queued = undefined;
      this.#writes++;
      try {
        await writeFileAtomic(this.path, queued.text);
        queued.done.resolve();
      } catch (e) {
        queued.done.reject(e);
      }
    });
    return queued.done.promise;
  }
}
