/**
 * The router's persisted state (`<db-prefix>data.json`): today the peer name,
 * later IPAM's ring and addresses. Written atomically (temporary file, fsync,
 * rename, fsync of the directory), so a crash mid-write leaves the previous
 * file intact; a file that is nevertheless damaged is reported, never used.
 *
 * @module
 */

/** What is persisted. */
export interface RouterState {
  /** Peer name as `aa:bb:cc:dd:ee:ff`. */
  peerName?: string;
  [key: string]: unknown;
}

/** The state file exists but cannot be trusted. */
export class StateCorruptError extends Error {
  constructor(path: string, detail: string, options?: ErrorOptions) {
    super(`State file "${path}" is damaged: ${detail}; move it away or run 'weave reset'`, options);
    this.name = "StateCorruptError";
  }
}

import { writeFileAtomic } from "../lib/atomic_file.ts";

const FORMAT = "weave-state-v1";

/** The state file path for a `--db-prefix`. */
export function statePath(dbPrefix: string): string {
  return `${dbPrefix}data.json`;
}

/** Reads the state; undefined when there is none. Throws StateCorruptError. */
export async function loadState(path: string): Promise<RouterState | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  return parseState(path, text);
}

/** Parses state file text (pure). */
export function parseState(path: string, text: string): RouterState {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new StateCorruptError(path, "not valid JSON (truncated?)", { cause: e });
  }
  if (typeof doc !== "object" || doc === null || (doc as { format?: unknown }).format !== FORMAT) {
    throw new StateCorruptError(path, `missing format marker "${FORMAT}"`);
  }
  const { state } = doc as { state?: unknown };
  if (typeof state !== "object" || state === null) {
    throw new StateCorruptError(path, "no state object");
  }
  return state as RouterState;
}

/** Writes the state atomically. */
export async function saveState(path: string, state: RouterState): Promise<void> {
  await writeFileAtomic(path, JSON.stringify({ format: FORMAT, state }, null, 2) + "\n");
}
