/**
 * The fastest topology decode: definitions seen before are recognised by their bytes, so a
 * payload needs no generic gob decoding at all.
 *
 * Every topology message is a fresh gob stream, so each starts by defining peerSummary,
 * []connectionSummary and connectionSummary again; turning those definitions into types with
 * the generic decoder cost ~15× the rest of a small message (bench/_topo_codec.ts). One
 * sender writes them with the same bytes every time (its type ids are fixed for its life: ours
 * 65–67, a Go router's depend on what its process registered, e.g. 75–77), so after the
 * generic path decoded one message, what each value's type was is remembered under all the
 * definitions the stream had made up to that value ({@link rememberDefinitions}: the same
 * bytes make the same type table), and later messages with the same definitions go to
 * {@link FastTopologyReader} directly ({@link decodeKnownTypes}). Anything not seen before,
 * or a value the fast reader declines, gives `undefined`, and the caller decodes the payload
 * from the start with the generic path, which also produces every error.
 *
 * @module
 */
import { FastTopologyReader } from "./fast_reader.ts";
import { GobReader } from "../gob/primitives.ts";
import type { TopologyEntry } from "../topology_types.ts";

/** What a run of definitions makes of a type id. */
export interface Adoption {
  id: number;
  role: "peer" | "list";
  /** The fast reader's field codes (`peerCodes` / `listCodes`). */
  codes: number[];
}

/** Runs of definitions remembered; a few senders' worth (each sender has two). */
const MAX_REMEMBERED = 256;
const remembered = new Map<string, Adoption>();

/**
 * The end of the run of type-definition messages starting at `offset` in `r`'s bytes (`offset`
 * itself when the message there is a value); -1 when the framing is broken. Moves `r`.
 */
export function definitionsEnd(r: GobReader, offset: number): number {
  const bytes = r.bytes;
  let at = offset;
  r.end = bytes.length;
  try {
    while (at < bytes.length) {
      r.pos = at;
      const length = r.uintNumber();
      const body = r.pos;
      if (length === 0 || body + length > bytes.length) return -1;
      if (r.uintNumber() % 2 === 0) return at; // a value (positive id)
      at = body + length;
    }
  } catch {
    return -1;
  }
  return at;
}

/** `bytes[start, end)` as a string key (one char per byte). */
export function definitionsKey(bytes: Uint8Array, start: number, end: number): string {
  let k = "";
  for (let i = start; i < end; i += 4096) {
    k += String.fromCharCode(...bytes.subarray(i, Math.min(end, i + 4096)));
  }
  return k;
}

/**
 * Remembers what the type of a value was, under `definitions`: the {@link definitionsKey} of
 * every definition its stream had made before it, in order.
 */
export function rememberDefinitions(definitions: string, adoption: Adoption): void {
  if (remembered.size >= MAX_REMEMBERED) remembered.clear();
  remembered.set(definitions, adoption);
}

/** Forgets every remembered definition (tests). */
export function forgetDefinitions(): void {
  remembered.clear();
}

/** The definitions of one stream so far, and the adopting of remembered ones. */
class Definitions {
  #seen = "";
  readonly #reader: FastTopologyReader;
  readonly #framing: GobReader;

  constructor(reader: FastTopologyReader, bytes: Uint8Array) {
    this.#reader = reader;
    this.#framing = new GobReader(bytes);
  }

  /** Adopts the definitions at `offset`; their end, or -1 when they were not met before. */
  adoptAt(bytes: Uint8Array, offset: number): number {
    const end = definitionsEnd(this.#framing, offset);
    if (end <= offset) return end;
    this.#seen += definitionsKey(bytes, offset, end);
    const known = remembered.get(this.#seen);
    if (!known) return -1;
    this.#reader.adopt(known.id, known.role, known.codes);
    return end;
  }
}

/**
 * Decodes a topology payload whose definitions were all seen before; `undefined` for anything
 * else (the caller then uses the generic path).
 */
export function decodeKnownTypes(bytes: Uint8Array): TopologyEntry[] | undefined {
  if (remembered.size === 0) return undefined;
  const reader = new FastTopologyReader(bytes);
  const definitions = new Definitions(reader, bytes);
  const entries: TopologyEntry[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    offset = definitions.adoptAt(bytes, offset);
    const peer = offset < 0 ? undefined : reader.peer(offset);
    if (!peer || !("fast" in peer)) return undefined;
    offset = definitions.adoptAt(bytes, peer.offset);
    const list = offset < 0 ? undefined : reader.connections(offset);
    if (!list || !("fast" in list)) return undefined;
    entries.push({ peer: peer.fast, connections: list.fast });
    offset = list.offset;
  }
  return entries;
}
