/**
 * A read-only reader of BoltDB files (the key/value store Weave Net 2.8.1
 * keeps its state in, `<db-prefix>data.db`), written from the file format of
 * boltdb/bbolt: no writes, no locks, no memory map — the whole file is taken
 * as bytes and only the buckets asked for are walked.
 *
 * The format, as far as it is read here (all integers little-endian):
 * - the file is a sequence of pages of `pageSize` bytes; every page starts
 *   with a 16-byte header: id u64, flags u16 (branch 0x01, leaf 0x02,
 *   meta 0x04, freelist 0x10), count u16, overflow u32 (the page runs on
 *   over `overflow` more pages);
 * - pages 0 and 1 are meta pages: magic u32 0xED0CDAED, version u32 (2),
 *   pageSize u32, flags u32, root bucket (root page u64, sequence u64),
 *   freelist page u64, high-water page u64, txid u64, checksum u64 (FNV-1a
 *   64 of the 56 bytes before it). The valid one with the higher txid is the
 *   current state; the other is the previous transaction's;
 * - a leaf page holds `count` 16-byte elements (flags u32, pos u32, ksize
 *   u32, vsize u32; `pos` counts from the element itself), a branch page
 *   `count` 16-byte elements (pos u32, ksize u32, child page u64);
 * - a leaf element with flag 0x01 is a sub-bucket: its value is the bucket
 *   header (root page u64, sequence u64) and, when root is 0, an inline
 *   page right after it holding the bucket's only leaf.
 *
 * The freelist is ignored (only pages reachable from the current meta's root
 * are read, and Bolt never reuses those). Input is untrusted: every offset is
 * checked against the file, page ids against the high-water mark, and the
 * tree depth is limited, so a damaged file gives a {@link BoltFileError},
 * never a wrong answer that looks right.
 *
 * @module
 */

/** The magic number at the start of both meta pages. */
export const BOLT_MAGIC = 0xed0cdaed;
/** The only data file version Bolt has written. */
export const BOLT_VERSION = 2;

const PAGE_HEADER = 16;
const ELEMENT = 16;
const BUCKET_HEADER = 16;
const META_CHECKSUMMED = 56;
const FLAG_BRANCH = 0x01;
const FLAG_LEAF = 0x02;
const FLAG_META = 0x04;
const LEAF_BUCKET = 0x01;
const MAX_DEPTH = 64;

/** The file is not a BoltDB file, or is damaged or truncated. */
export class BoltFileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BoltFileError";
  }
}

/** The current meta page of a file. */
export interface BoltMeta {
  /** Which meta page (0 or 1) is current. */
  page: 0 | 1;
  pageSize: number;
  /** The root bucket's page. */
  root: bigint;
  /** The freelist page (not read). */
  freelist: bigint;
  /** One past the highest page in use. */
  highWater: bigint;
  txid: bigint;
}

/** One key of a bucket: a plain value, or a nested bucket (`bucket: true`, `value` its header). */
export interface BoltEntry {
  key: Uint8Array;
  value: Uint8Array;
  bucket: boolean;
}

/** FNV-1a 64 (Go's `hash/fnv` New64a), as Bolt checksums its meta pages. */
export function fnv1a64(bytes: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h;
}

/** Reads and checks the meta page at `offset`; returns it or why it is unusable. */
function metaAt(bytes: Uint8Array, offset: number, page: 0 | 1): BoltMeta | string {
  if (offset + PAGE_HEADER + META_CHECKSUMMED + 8 > bytes.length) return "file too short";
  const v = new DataView(bytes.buffer, bytes.byteOffset + offset);
  const flags = v.getUint16(8, true);
  if (flags !== FLAG_META) return `page flags 0x${flags.toString(16)}, expected meta`;
  const m = PAGE_HEADER;
  const magic = v.getUint32(m, true);
  if (magic !== BOLT_MAGIC) return `magic 0x${magic.toString(16)}, expected 0xed0cdaed`;
  const version = v.getUint32(m + 4, true);
  if (version !== BOLT_VERSION) return `version ${version}, expected ${BOLT_VERSION}`;
  const sum = fnv1a64(bytes.subarray(offset + m, offset + m + META_CHECKSUMMED));
  if (sum !== v.getBigUint64(m + META_CHECKSUMMED, true)) return "checksum mismatch";
  const pageSize = v.getUint32(m + 8, true);
  if (pageSize < 1024 || pageSize > 1 << 20 || (pageSize & (pageSize - 1)) !== 0) {
    return `page size ${pageSize} is not a power of two in [1024, 1 MiB]`;
  }
  return {
    page,
    pageSize,
    root: v.getBigUint64(m + 16, true),
    freelist: v.getBigUint64(m + 32, true),
    highWater: v.getBigUint64(m + 40, true),
    txid: v.getBigUint64(m + 48, true),
  };
}

/**
 * The current meta: of the two meta pages that check out, the one with the
 * higher txid (as Bolt picks it). Throws BoltFileError when neither does.
 *
 * @example
 * ```ts
 * import { readBoltMeta } from "./boltdb.ts";
 * const bytes = Deno.readFileSync("testdata/state-boltdb/h1-weavedata.db");
 * readBoltMeta(bytes).pageSize; // 4096
 * ```
 */
export function readBoltMeta(bytes: Uint8Array): BoltMeta {
  const first = metaAt(bytes, 0, 0);
  const size = typeof first === "string" ? undefined : first.pageSize;
  // Meta page 1 sits one page in; without a good page 0, try the sizes Bolt uses.
  const sizes = size ? [size] : [4096, 8192, 16384, 65536, 1024, 2048, 32768];
  let second: BoltMeta | string = "file too short";
  for (const s of sizes) {
    second = metaAt(bytes, s, 1);
    if (typeof second !== "string" && second.pageSize === s) break;
    if (typeof second !== "string") second = `page size ${second.pageSize} at offset ${s}`;
  }
  const good = [first, second].filter((m): m is BoltMeta => typeof m !== "string");
  if (good.length === 0) {
    throw new BoltFileError(
      `Cannot read BoltDB file: no valid meta page (page 0: ${first}; page 1: ${second})`,
    );
  }
  return good.reduce((a, b) => (b.txid > a.txid ? b : a));
}

interface PageView {
  at: number;
  flags: number;
  count: number;
  /** End of the page (with overflow) in the file. */
  end: number;
}

/** The page `id` of the file, bounds checked. */
function pageAt(bytes: Uint8Array, meta: BoltMeta, id: bigint, what: string): PageView {
  if (id < 2n || id >= meta.highWater) {
    throw new BoltFileError(
      `Cannot read BoltDB file: ${what} points at page ${id}, outside 2..${meta.highWater - 1n}`,
    );
  }
  const at = Number(id) * meta.pageSize;
  if (at + PAGE_HEADER > bytes.length) {
    throw new BoltFileError(
      `Cannot read BoltDB file: page ${id} (${what}) is past the end (truncated file of ${bytes.length} bytes?)`,
    );
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, PAGE_HEADER);
  if (v.getBigUint64(0, true) !== id) {
    throw new BoltFileError(
      `Cannot read BoltDB file: page ${id} (${what}) says it is page ${v.getBigUint64(0, true)}`,
    );
  }
  const end = at + (v.getUint32(12, true) + 1) * meta.pageSize;
  if (end > bytes.length) {
    throw new BoltFileError(
      `Cannot read BoltDB file: page ${id} (${what}) runs past the end (truncated file of ${bytes.length} bytes?)`,
    );
  }
  return { at, flags: v.getUint16(8, true), count: v.getUint16(10, true), end };
}

/** A slice of `bytes` that must lie within [lo, hi). */
function slice(bytes: Uint8Array, from: number, length: number, hi: number, what: string) {
  if (from < 0 || length < 0 || from + length > hi) {
    throw new BoltFileError(`Cannot read BoltDB file: ${what} runs outside its page`);
  }
  return bytes.subarray(from, from + length);
}

/** Appends the leaf elements of the page at `p` (bounded by `p.end`) to `out`. */
function leafEntries(bytes: Uint8Array, p: PageView, what: string, out: BoltEntry[]): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  for (let i = 0; i < p.count; i++) {
    const el = p.at + PAGE_HEADER + i * ELEMENT;
    if (el + ELEMENT > p.end) throw new BoltFileError(`Cannot read BoltDB file: ${what} too short`);
    const flags = v.getUint32(el, true);
    const pos = v.getUint32(el + 4, true);
    const ksize = v.getUint32(el + 8, true);
    const vsize = v.getUint32(el + 12, true);
    const key = slice(bytes, el + pos, ksize, p.end, `key ${i} of ${what}`);
    const value = slice(bytes, el + pos + ksize, vsize, p.end, `value ${i} of ${what}`);
    out.push({ key, value, bucket: (flags & LEAF_BUCKET) !== 0 });
  }
}

/** Every entry of the tree rooted at page `id`, in key order. */
function treeEntries(bytes: Uint8Array, meta: BoltMeta, id: bigint, depth: number): BoltEntry[] {
  if (depth > MAX_DEPTH) throw new BoltFileError("Cannot read BoltDB file: tree too deep (loop?)");
  const what = `page ${id}`;
  const p = pageAt(bytes, meta, id, what);
  const out: BoltEntry[] = [];
  if (p.flags === FLAG_LEAF) {
    leafEntries(bytes, p, what, out);
  } else if (p.flags === FLAG_BRANCH) {
    const v = new DataView(bytes.buffer, bytes.byteOffset);
    for (let i = 0; i < p.count; i++) {
      const el = p.at + PAGE_HEADER + i * ELEMENT;
      if (el + ELEMENT > p.end) {
        throw new BoltFileError(`Cannot read BoltDB file: ${what} too short`);
      }
      out.push(...treeEntries(bytes, meta, v.getBigUint64(el + 8, true), depth + 1));
    }
  } else {
    throw new BoltFileError(
      `Cannot read BoltDB file: ${what} has flags 0x${
        p.flags.toString(16)
      }, expected a branch or leaf page`,
    );
  }
  return out;
}

/** The entries of a nested bucket, given its value (header plus maybe an inline page). */
function bucketEntries(
  bytes: Uint8Array,
  meta: BoltMeta,
  value: Uint8Array,
  name: string,
): BoltEntry[] {
  if (value.length < BUCKET_HEADER) {
    throw new BoltFileError(`Cannot read BoltDB file: bucket "${name}" header truncated`);
  }
  const root = new DataView(value.buffer, value.byteOffset, BUCKET_HEADER).getBigUint64(0, true);
  if (root !== 0n) return treeEntries(bytes, meta, root, 1);
  const inline = value.subarray(BUCKET_HEADER);
  if (inline.length < PAGE_HEADER) {
    throw new BoltFileError(`Cannot read BoltDB file: inline bucket "${name}" truncated`);
  }
  const v = new DataView(inline.buffer, inline.byteOffset, PAGE_HEADER);
  const p: PageView = {
    at: 0,
    flags: v.getUint16(8, true),
    count: v.getUint16(10, true),
    end: inline.length,
  };
  if (p.flags !== FLAG_LEAF) {
    throw new BoltFileError(
      `Cannot read BoltDB file: inline bucket "${name}" has flags 0x${
        p.flags.toString(16)
      }, expected a leaf`,
    );
  }
  const out: BoltEntry[] = [];
  leafEntries(inline, p, `inline bucket "${name}"`, out);
  return out;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The plain keys and values of the top-level bucket `name` (nested buckets
 * left out), or undefined when the file has no such bucket. Values are views
 * into `bytes`. Throws {@link BoltFileError} for a damaged file.
 *
 * @example
 * ```ts
 * import { readBoltBucket } from "./boltdb.ts";
 * const bytes = Deno.readFileSync("testdata/state-boltdb/h1-weavedata.db");
 * [...readBoltBucket(bytes, "top")!.keys()]; // ["directPeers", "ownedAddresses", "peername", "ring", "version"]
 * ```
 */
export function readBoltBucket(
  bytes: Uint8Array,
  name: string,
): Map<string, Uint8Array> | undefined {
  const meta = readBoltMeta(bytes);
  const top = treeEntries(bytes, meta, meta.root, 0);
  const found = top.find((e) => e.bucket && keyText(e.key) === name);
  if (!found) return undefined;
  const out = new Map<string, Uint8Array>();
  for (const e of bucketEntries(bytes, meta, found.value, name)) {
    if (!e.bucket) out.set(keyText(e.key), e.value);
  }
  return out;
}

function keyText(key: Uint8Array): string {
  try {
    return utf8.decode(key);
  } catch (cause) {
    throw new BoltFileError("Cannot read BoltDB file: a key is not UTF-8", { cause });
  }
}
