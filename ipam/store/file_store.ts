/**
 * The IPAM state on disk: `<db-prefix>ipam.json`, beside the router's
 * `<db-prefix>data.json`, and its journal `<db-prefix>ipam.json.journal`.
 * The only IPAM code that touches files.
 *
 * Cost model: a save appends one checksummed line with what changed to the
 * journal and syncs it (a few hundred bytes and one `fdatasync`, however many
 * addresses are owned). When the journal has grown past twice the state
 * file (and at least {@link MIN_COMPACT_BYTES}), or after a failed write, or
 * at the first save after loading, the next save instead rewrites the state
 * file from the state kept in memory and starts a new journal (compaction):
 * its cost grows with the state, but it happens once per that many saves, so
 * a save costs the same on average whatever the state's size.
 *
 * Crash safety: the state file is replaced atomically (temporary file,
 * fsync, rename, fsync of the directory) and carries a random epoch, its
 * sequence number and a SHA-256; the journal starts with the epoch of the
 * state file it extends (written the same atomic way) and every line has a
 * SHA-256. A save resolves only after its line (or the state file holding
 * it) is synced, so an address is never answered on an unsaved state. At
 * load, a journal of another epoch is left over from before the last
 * compaction (already in the state file) and ignored; a last line cut short
 * is a save that never completed and is dropped; any other damage is an
 * {@link IpamStoreCorruptError}, never silently used.
 *
 * Format history: `weave-ipam-v1` files (one JSON state, no journal) still
 * load, and are rewritten as `weave-ipam-v2` at the first save.
 *
 * @module
 */
import { writeFileAtomic } from "../../lib/atomic_file.ts";
import {
  applyRecord,
  diffRecord,
  journalHeader,
  type JournalRecord,
  parseJournal,
  recordJson,
  recordLine,
  sha256Hex,
} from "./_journal.ts";
import { decodeIpamState, encodeIpamState } from "./state_json.ts";
import {
  applyIpamUpdate,
  cloneIpamState,
  type IpamState,
  type IpamStore,
  type IpamUpdate,
} from "./store.ts";
import { IpamStoreCorruptError } from "./store_error.ts";

/** The state file's format marker before journals (still read). */
export const IPAM_FILE_FORMAT_V1 = "weave-ipam-v1";
/** The state file's format marker. */
export const IPAM_FILE_FORMAT = "weave-ipam-v2";
/** The journal is compacted once it is bigger than this and than twice the state file. */
export const MIN_COMPACT_BYTES = 256 * 1024;

/** The state file for a `--db-prefix`. */
export function ipamStatePath(dbPrefix: string): string {
  return `${dbPrefix}ipam.json`;
}

/** A parsed state file: the state, and which journal continues it. */
export interface IpamFile {
  state: IpamState;
  /** Epoch of the journal that continues this file; undefined for a v1 file. */
  epoch?: string;
  /** Sequence number of the last save the file holds. */
  seq: number;
}

/**
 * Parses the state file's text (pure apart from hashing); throws
 * {@link IpamStoreCorruptError} when anything is wrong.
 */
export async function parseIpamFile(path: string, text: string): Promise<IpamFile> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new IpamStoreCorruptError(path, "not valid JSON (truncated?)", { cause: e });
  }
  const d = doc as Record<string, unknown> | null;
  if (typeof d !== "object" || d === null) {
    throw new IpamStoreCorruptError(path, `missing format marker "${IPAM_FILE_FORMAT}"`);
  }
  if (d.format === IPAM_FILE_FORMAT_V1) {
    await checkSum(path, d.sha256, JSON.stringify(d.state ?? null));
    return { state: decodeIpamState(d.state, path), seq: 0 };
  }
  if (d.format !== IPAM_FILE_FORMAT) {
    throw new IpamStoreCorruptError(path, `missing format marker "${IPAM_FILE_FORMAT}"`);
  }
  await checkSum(path, d.sha256, JSON.stringify([d.epoch, d.seq, d.state ?? null]));
  if (typeof d.epoch !== "string" || !/^[0-9a-f]{1,64}$/.test(d.epoch)) {
    throw new IpamStoreCorruptError(path, "epoch is not hex");
  }
  if (typeof d.seq !== "number" || !Number.isSafeInteger(d.seq) || d.seq < 0) {
    throw new IpamStoreCorruptError(path, "seq is not a count");
  }
  return { state: decodeIpamState(d.state, path), epoch: d.epoch, seq: d.seq };
}

async function checkSum(path: string, sum: unknown, text: string): Promise<void> {
  if (sum !== await sha256Hex(text)) {
    throw new IpamStoreCorruptError(path, "checksum mismatch (the file was changed or damaged)");
  }
}

/** Renders the state file's text (`epoch`: lower-case hex naming its journal). */
export async function renderIpamFile(
  state: IpamState,
  epoch: string = newEpoch(),
  seq = 0,
): Promise<string> {
  const json = encodeIpamState(state);
  const sha256 = await sha256Hex(JSON.stringify([epoch, seq, json]));
  return JSON.stringify({ format: IPAM_FILE_FORMAT, epoch, seq, sha256, state: json }, null, 1) +
    "\n";
}

function newEpoch(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Options of {@link FileStore}. */
export interface FileStoreOptions {
  /** Journal size below which it is never compacted (default {@link MIN_COMPACT_BYTES}). */
  minCompactBytes?: number;
}

/** Work done so far, for tests and benchmarks. */
export interface FileStoreStats {
  /** Journal lines appended. */
  appends: number;
  /** State files written. */
  compactions: number;
  /** Bytes written to both files. */
  bytes: number;
}

/**
 * An {@link IpamStore} in a state file plus a journal.
 *
 * @example
 * ```ts ignore
 * const store = new FileStore(ipamStatePath("/weavedb/weave"));
 * const state = await store.load();
 * ```
 */
export class FileStore implements IpamStore {
  readonly path: string;
  readonly journalPath: string;
  readonly stats: FileStoreStats = { appends: 0, compactions: 0, bytes: 0 };
  #queue: Promise<void> = Promise.resolve();
  /** The state with every save applied (written or not). */
  #state: IpamState | undefined;
  /** Sequence number of the last save applied to #state. */
  #seq = 0;
  /** Sequence number of the last save held by the state file. */
  #fileSeq = 0;
  #epoch = "";
  #fileBytes = 0;
  #journalBytes = 0;
  #mustCompact = true;
  #minCompactBytes: number;

  constructor(path: string, opts: FileStoreOptions = {}) {
    this.path = path;
    this.journalPath = `${path}.journal`;
    this.#minCompactBytes = opts.minCompactBytes ?? MIN_COMPACT_BYTES;
  }

  async load(): Promise<IpamState | undefined> {
    const text = await readOrUndefined(this.path);
    if (text === undefined) return undefined; // a journal without its state file is left over
    const file = await parseIpamFile(this.path, text);
    const state = file.state;
    let seq = file.seq;
    const journal = file.epoch === undefined ? undefined : await readOrUndefined(this.journalPath);
    if (journal !== undefined) {
      const parsed = await parseJournal(this.journalPath, journal);
      if (parsed.epoch === file.epoch) {
        for (const rec of parsed.records) {
          if (rec.seq <= seq) continue;
          if (rec.seq !== seq + 1) {
            throw new IpamStoreCorruptError(
              this.journalPath,
              `record seq ${rec.seq} does not follow ${seq}`,
            );
          }
          applyRecord(state, rec, this.journalPath);
          seq = rec.seq;
        }
      }
    }
    this.#state = state;
    this.#seq = seq;
    this.#fileSeq = file.seq;
    this.#mustCompact = true;
    return cloneIpamState(state);
  }

  save(update: IpamUpdate): Promise<void> {
    // Capture now: the record and the state in memory reflect this call only.
    const before = this.#state ?? { peerName: update.peerName, owned: new Map(), holds: new Map() };
    const seq = ++this.#seq;
    const rec: JournalRecord | undefined = update.full
      ? undefined
      : diffRecord(seq, before, update, update.owned);
    const json = rec ? recordJson(rec) : undefined;
    this.#state = applyIpamUpdate(before, update);
    if (update.full) this.#mustCompact = true;
    const next = this.#queue.then(() => this.#write(seq, json));
    this.#queue = next.catch(() => {});
    return next;
  }

  async #write(seq: number, json: string | undefined): Promise<void> {
    if (seq <= this.#fileSeq) return; // a compaction already wrote it
    const big = this.#journalBytes > Math.max(this.#minCompactBytes, 2 * this.#fileBytes);
    if (this.#mustCompact || big || json === undefined) return await this.#compact();
    const line = await recordLine(json);
    let bytes: number;
    try {
      bytes = await appendSync(this.journalPath, line);
    } catch (e) {
      this.#mustCompact = true; // the journal may now end in a partial line
      throw new Error(`Cannot save IPAM state to "${this.journalPath}": ${(e as Error).message}`, {
        cause: e,
      });
    }
    this.#journalBytes += bytes;
    this.stats.appends++;
    this.stats.bytes += bytes;
  }

  /** Writes the whole state as a new state file and starts an empty journal for it. */
  async #compact(): Promise<void> {
    this.#mustCompact = true;
    const seq = this.#seq;
    const epoch = newEpoch();
    const text = await renderIpamFile(this.#state!, epoch, seq);
    const header = journalHeader(epoch);
    const bytes = new TextEncoder().encode(text).length;
    try {
      await writeFileAtomic(this.path, text);
      await writeFileAtomic(this.journalPath, header);
    } catch (e) {
      throw new Error(`Cannot save IPAM state to "${this.path}": ${(e as Error).message}`, {
        cause: e,
      });
    }
    this.#fileSeq = seq;
    this.#epoch = epoch;
    this.#fileBytes = bytes;
    this.#journalBytes = header.length;
    this.#mustCompact = false;
    this.stats.compactions++;
    this.stats.bytes += bytes + header.length;
  }

  /** The epoch of the current state file ("" before the first write). */
  get epoch(): string {
    return this.#epoch;
  }
}

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`Cannot read IPAM state "${path}": ${(e as Error).message}`, { cause: e });
  }
}

/** Appends `text` to an existing file and syncs its data; returns the bytes written. */
async function appendSync(path: string, text: string): Promise<number> {
  const file = await Deno.open(path, { append: true });
  try {
    const bytes = new TextEncoder().encode(text);
    for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
    await file.syncData();
    return bytes.length;
  } finally {
    file.close();
  }
}
