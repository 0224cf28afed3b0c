/**
 * The IPAM state on disk: `<db-prefix>ipam.json`, beside the router's
 * `<db-prefix>data.json`. The only IPAM code that touches files.
 *
 * Writes are atomic (temporary file, fsync, rename, fsync of the directory),
 * so a crash at any moment leaves the previous or the new file. The file
 * carries a format marker and a SHA-256 of its state, so a file damaged in
 * any other way (truncated by a full disk, edited by hand) is reported with
 * {@link IpamStoreCorruptError} and never used.
 *
 * @module
 */
import {
  decodeIpamState,
  encodeIpamState,
  type IpamState,
  type IpamStore,
  IpamStoreCorruptError,
} from "./store.ts";
import { writeFileAtomic } from "../lib/atomic_file.ts";

/** The file's format marker. */
export const IPAM_FILE_FORMAT = "weave-ipam-v1";

/** The state file for a `--db-prefix`. */
export function ipamStatePath(dbPrefix: string): string {
  return `${dbPrefix}ipam.json`;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Parses the file's text (pure apart from hashing); throws
 * {@link IpamStoreCorruptError} when anything is wrong.
 */
export async function parseIpamFile(path: string, text: string): Promise<IpamState> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new IpamStoreCorruptError(path, "not valid JSON (truncated?)", { cause: e });
  }
  const d = doc as { format?: unknown; sha256?: unknown; state?: unknown } | null;
  if (typeof d !== "object" || d === null || d.format !== IPAM_FILE_FORMAT) {
    throw new IpamStoreCorruptError(path, `missing format marker "${IPAM_FILE_FORMAT}"`);
  }
  const sum = await sha256Hex(JSON.stringify(d.state ?? null));
  if (d.sha256 !== sum) {
    throw new IpamStoreCorruptError(path, "checksum mismatch (the file was changed or damaged)");
  }
  return decodeIpamState(d.state, path);
}

/** Renders the file's text for a state. */
export async function renderIpamFile(state: IpamState): Promise<string> {
  const json = encodeIpamState(state);
  const sha256 = await sha256Hex(JSON.stringify(json));
  return JSON.stringify({ format: IPAM_FILE_FORMAT, sha256, state: json }, null, 1) + "\n";
}

/**
 * An {@link IpamStore} in one JSON file.
 *
 * @example
 * ```ts ignore
 * const store = new FileStore(ipamStatePath("/weavedb/weave"));
 * const state = await store.load();
 * ```
 */
export class FileStore implements IpamStore {
  readonly path: string;
  #queue: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  async load(): Promise<IpamState | undefined> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw new Error(`Cannot read IPAM state "${this.path}": ${(e as Error).message}`, {
        cause: e,
      });
    }
    return await parseIpamFile(this.path, text);
  }

  save(state: IpamState): Promise<void> {
    // Render now, so that later changes to `state` are not written by this save.
    const text = renderIpamFile(state);
    const next = this.#queue.then(async () => writeFileAtomic(this.path, await text));
    this.#queue = next.catch(() => {});
    return next;
  }
}
