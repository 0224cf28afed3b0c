/**
 * The IPAM state file's journal (`<state file>.journal`), pure: what one save
 * changed, as one checksummed line appended to the file, so that a save
 * writes a few hundred bytes however many addresses are owned. The state
 * file is rewritten only now and then (compaction, see `file_store.ts`).
 *
 * Text form:
 *
 *     weave-ipam-journal-v1 <epoch>\n          header: the state file it extends
 *     <sha256 hex of json> <json>\n            one record per save, seq 1, 2, …
 *
 * A record (`JournalRecord`) holds the save's sequence number, the
 * identifiers it changed (`null`: they own nothing now), and the ring and
 * holds when they changed: the ring as the entries set or removed when only
 * entries changed (the usual case: a free count), whole otherwise.
 *
 * Reading: a last line without its newline is a write cut short by a crash;
 * that save never completed (nothing was answered on it), so it is dropped
 * and reported as `torn`. Anything else that is wrong — a complete line whose
 * checksum or fields do not match, a gap in the sequence — means the file was
 * damaged and is an {@link IpamStoreCorruptError}.
 *
 * @module
 */
import { formatIPv4 } from "../../lib/cidr.ts";
import { formatPeerName, type PeerName } from "../../lib/peer_name.ts";
import type { Address } from "../address/mod.ts";
import type { RingData, RingEntry } from "../ring/mod.ts";
import { entryToJson, holdsToJson, JsonReader, ownedToJson, ringToJson } from "./state_json.ts";
import type { IpamState, OwnedData, TakeoverHold } from "./store.ts";

/** The journal's format marker (first word of its header line). */
export const JOURNAL_FORMAT = "weave-ipam-journal-v1";

/** Entries set (inserted or replaced, by token) and removed. */
export interface EntryChanges {
  set: RingEntry[];
  del: Address[];
}

/** What one save changed. */
export interface JournalRecord {
  seq: number;
  peerName?: PeerName;
  /** The whole ring (`null`: none) when more than entries changed. */
  ring?: RingData | null;
  /** Entry changes when only entries changed. */
  entries?: EntryChanges;
  /** All holds, when they changed. */
  holds?: Map<Address, TakeoverHold>;
  /** Identifiers changed, with what they own now (`null`: nothing). */
  owned: Map<string, OwnedData | null>;
}

/** A parsed journal. */
export interface Journal {
  /** The epoch of the state file the journal extends. */
  epoch: string;
  records: JournalRecord[];
  /** Whether a last line cut short by a crash was dropped. */
  torn: boolean;
}

/**
 * The header line (with its newline) of a journal extending the state file of `epoch`.
 *
 * @example
 * ```ts
 * import { journalHeader } from "./_journal.ts";
 * journalHeader("00ff"); // "weave-ipam-journal-v1 00ff\n"
 * ```
 */
export function journalHeader(epoch: string): string {
  if (!/^[0-9a-f]{1,64}$/.test(epoch)) {
    throw new RangeError(`Cannot write journal header: epoch "${epoch}" is not lower-case hex`);
  }
  return `${JOURNAL_FORMAT} ${epoch}\n`;
}

/** Sha-256 of a text, lower-case hex. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The JSON text of a record (synchronous, so it captures the values of now). */
export function recordJson(rec: JournalRecord): string {
  const j: Record<string, unknown> = { seq: rec.seq };
  if (rec.peerName !== undefined) j.peerName = formatPeerName(rec.peerName);
  if (rec.ring !== undefined) j.ring = rec.ring === null ? null : ringToJson(rec.ring);
  if (rec.entries) {
    j.entries = { set: rec.entries.set.map(entryToJson), del: rec.entries.del.map(formatIPv4) };
  }
  if (rec.holds) j.holds = holdsToJson(rec.holds);
  const owned: Record<string, unknown> = {};
  for (const [ident, d] of rec.owned) owned[ident] = d === null ? null : ownedToJson(d);
  j.owned = owned;
  return JSON.stringify(j);
}

/**
 * One journal line (with its newline) for a record's JSON text.
 *
 * @example
 * ```ts
 * import { recordJson, recordLine } from "./_journal.ts";
 * const line = await recordLine(recordJson({ seq: 1, owned: new Map() }));
 * line.endsWith(' {"seq":1,"owned":{}}\n'); // true
 * ```
 */
export async function recordLine(json: string): Promise<string> {
  return `${await sha256Hex(json)} ${json}\n`;
}

/**
 * Parses a journal's text; `where` names it in errors. Throws
 * {@link IpamStoreCorruptError} when it is damaged (see the module doc).
 */
export async function parseJournal(where: string, text: string): Promise<Journal> {
  const read = new JsonReader(where);
  const lines = text.split("\n");
  const tail = lines.pop()!; // "" when the text ends with a newline
  const header = /^weave-ipam-journal-v1 ([0-9a-f]{1,64})$/.exec(lines.shift() ?? "");
  if (!header) read.bad(`missing journal header "${JOURNAL_FORMAT} <epoch>"`);
  const records: JournalRecord[] = [];
  for (const [i, line] of lines.entries()) {
    const at = `record ${i + 1}`;
    const m = /^([0-9a-f]{64}) (.*)$/.exec(line);
    if (!m) read.bad(`${at} is not "<sha256> <json>"`);
    if (await sha256Hex(m![2]) !== m![1]) {
      read.bad(`${at}: checksum mismatch (the file was changed or damaged)`);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(m![2]);
    } catch (e) {
      read.bad(`${at} is not valid JSON`, e);
    }
    const rec = decodeRecord(read, doc, at);
    const prev = records.at(-1);
    if (prev && rec.seq !== prev.seq + 1) {
      read.bad(`${at} has seq ${rec.seq}; expected ${prev.seq + 1}`);
    }
    records.push(rec);
  }
  return { epoch: header![1], records, torn: tail !== "" };
}

function decodeRecord(read: JsonReader, doc: unknown, at: string): JournalRecord {
  const j = read.object(doc, at);
  if (typeof j.seq !== "number" || !Number.isSafeInteger(j.seq) || j.seq < 1) {
    read.bad(`${at}.seq is not a positive integer`);
  }
  const rec: JournalRecord = { seq: j.seq as number, owned: new Map() };
  if (j.peerName !== undefined) rec.peerName = read.peer(j.peerName, `${at}.peerName`);
  if (j.ring !== undefined) rec.ring = j.ring === null ? null : read.ring(j.ring, `${at}.ring`);
  if (j.entries !== undefined) {
    const e = read.object(j.entries, `${at}.entries`);
    rec.entries = {
      set: read.list(e.set, `${at}.entries.set`).map((x, i) =>
        read.entry(x, `${at}.entries.set[${i}]`)
      ),
      del: read.list(e.del, `${at}.entries.del`).map((x, i) =>
        read.ip(x, `${at}.entries.del[${i}]`)
      ),
    };
  }
  if (j.holds !== undefined) rec.holds = read.holds(j.holds, `${at}.holds`);
  for (const [ident, x] of Object.entries(read.object(j.owned, `${at}.owned`))) {
    rec.owned.set(
      ident,
      x === null ? null : read.owned(x, `${at}.owned[${JSON.stringify(ident)}]`),
    );
  }
  return rec;
}

/**
 * The record that turns `before` into `after` (rings compared entry by
 * entry; owned identifiers are given by the caller).
 */
export function diffRecord(
  seq: number,
  before: IpamState,
  after: Omit<IpamState, "owned">,
  owned: Map<string, OwnedData | null>,
): JournalRecord {
  const rec: JournalRecord = { seq, owned };
  if (before.peerName !== after.peerName) rec.peerName = after.peerName;
  const ringChange = diffRing(before.ring, after.ring);
  if (ringChange !== undefined) {
    if ("set" in ringChange) rec.entries = ringChange;
    else rec.ring = ringChange.ring;
  }
  if (!sameHolds(before.holds, after.holds)) rec.holds = after.holds;
  return rec;
}

/** undefined: same ring; entry changes when only entries differ; else the new ring. */
function diffRing(
  a: RingData | undefined,
  b: RingData | undefined,
): EntryChanges | { ring: RingData | null } | undefined {
  if (!a || !b) return a === b ? undefined : { ring: b ?? null };
  const sameFrame = a.start === b.start && a.end === b.end && a.peer === b.peer &&
    a.seeds.length === b.seeds.length && a.seeds.every((s, i) => s === b.seeds[i]);
  if (!sameFrame) return { ring: b };
  const changes: EntryChanges = { set: [], del: [] };
  let i = 0;
  let j = 0;
  while (i < a.entries.length || j < b.entries.length) {
    const x = a.entries[i];
    const y = b.entries[j];
    if (y === undefined || (x !== undefined && x.token < y.token)) {
      changes.del.push(x.token);
      i++;
    } else if (x === undefined || y.token < x.token) {
      changes.set.push({ ...y });
      j++;
    } else {
      if (x.peer !== y.peer || x.version !== y.version || x.free !== y.free) {
        changes.set.push({ ...y });
      }
      i++;
      j++;
    }
  }
  return changes.set.length === 0 && changes.del.length === 0 ? undefined : changes;
}

function sameHolds(
  a: ReadonlyMap<Address, TakeoverHold>,
  b: ReadonlyMap<Address, TakeoverHold>,
): boolean {
  if (a.size !== b.size) return false;
  for (const [t, h] of a) {
    const o = b.get(t);
    if (!o || o.from !== h.from || o.until !== h.until) return false;
  }
  return true;
}

/**
 * Applies a record to a state in place; `where` names the journal in
 * errors (entry changes without a ring are damage).
 */
export function applyRecord(state: IpamState, rec: JournalRecord, where: string): void {
  if (rec.peerName !== undefined) state.peerName = rec.peerName;
  if (rec.ring !== undefined) {
    if (rec.ring === null) delete state.ring;
    else state.ring = rec.ring;
  }
  if (rec.entries) {
    if (!state.ring) {
      new JsonReader(where).bad(`record seq ${rec.seq} changes entries of a missing ring`);
    }
    state.ring = { ...state.ring!, entries: applyEntries(state.ring!.entries, rec.entries) };
  }
  if (rec.holds) state.holds = rec.holds;
  for (const [ident, d] of rec.owned) {
    if (d === null) state.owned.delete(ident);
    else state.owned.set(ident, d);
  }
}

function applyEntries(entries: readonly RingEntry[], ch: EntryChanges): RingEntry[] {
  const byToken = new Map(entries.map((e) => [e.token, e]));
  for (const t of ch.del) byToken.delete(t);
  for (const e of ch.set) byToken.set(e.token, e);
  return [...byToken.values()].sort((x, y) => x.token - y.token);
}
