/**
 * The `topology` gossip payload (`../shared/spec/weave-protocol.md` §2.4):
 * one gob stream holding, for each peer, a `peerSummary` struct and then its
 * `[]connectionSummary`. Go writes it with a single encoder, so the type
 * definitions appear once, the slice's before its element struct's.
 *
 * The mesh sends whole topologies often, so both directions have a fast path
 * beside the generic gob codec. The encoder writes the generic encoder's
 * bytes by hand into one growing buffer. The decoder first tries a payload
 * whose type definitions it has met before, byte for byte (a sender writes
 * the same ones every time), without the generic decoder at all
 * (`known_types.ts`). Failing that, it lets the generic
 * decoder take in the type definitions (and the first value of each type),
 * then decodes later values of recognised types straight into entries; any
 * message it does not expect goes back to the generic decoder, which also
 * produces every error, so errors are those of the generic path.
 *
 * Parts: `schema.ts` (the gob types), `values.ts`
 * (summaries to and from generic gob values, with the input checks),
 * `sink.ts` and `fast_encoder.ts` (the fast
 * encoder), `fast_reader.ts` (the fast decoder).
 *
 * @module
 */
import { GobStreamDecoder } from "../gob/decoder.ts";
import { GobEncoder } from "../gob/encoder.ts";
import { GobReader, GobWriter } from "../gob/primitives.ts";
import { type Decoded, FastTopologyReader, listCodes, peerCodes } from "./fast_reader.ts";
import { encodeFast } from "./fast_encoder.ts";
import {
  decodeKnownTypes,
  definitionsEnd,
  definitionsKey,
  rememberDefinitions,
} from "./known_types.ts";
import { CONNECTION_LIST_TYPE, PEER_SUMMARY_TYPE } from "./schema.ts";
import { connectionValue, peerValue, toConnections, toPeer } from "./values.ts";
import type { ConnectionSummary, PeerSummary, TopologyEntry } from "../topology_types.ts";

export { CONNECTION_LIST_TYPE, CONNECTION_SUMMARY_TYPE, PEER_SUMMARY_TYPE } from "./schema.ts";

/**
 * Encodes a topology update: each entry's peer, then its connections.
 *
 * @example
 * ```ts
 * import { encodeTopology } from "./codec.ts";
 * encodeTopology([{
 *   peer: { name: 1n, nickName: "h1", uid: 5n, version: 1n, shortID: 7, hasShortID: true },
 *   connections: [],
 * }]);
 * ```
 */
export function encodeTopology(entries: TopologyEntry[]): Uint8Array {
  try {
    return encodeFast(entries);
  } catch {
    // Input of unexpected shape: the generic path encodes it or says what is wrong.
    return encodeTopologyGeneric(entries);
  }
}

/**
 * {@link encodeTopology} through the generic gob encoder (same bytes, slower);
 * kept as the reference for the fast path.
 */
export function encodeTopologyGeneric(entries: TopologyEntry[]): Uint8Array {
  const enc = new GobEncoder();
  const out = new GobWriter(1024);
  for (const { peer, connections } of entries) {
    enc.encodeInto(out, peerValue(peer), PEER_SUMMARY_TYPE);
    enc.encodeInto(out, connections.map(connectionValue), CONNECTION_LIST_TYPE);
  }
  return out.toBytes();
}

/**
 * Decodes a topology payload: (peerSummary, []connectionSummary) pairs up to
 * the end. Fields missing on the wire are zero; names must be 6 bytes.
 *
 * @example
 * ```ts
 * import { decodeTopology, encodeTopology } from "./codec.ts";
 * const peer = { name: 1n, nickName: "h1", uid: 5n, version: 1n, shortID: 7, hasShortID: true };
 * decodeTopology(encodeTopology([{ peer, connections: [] }])); // [{ peer, connections: [] }]
 * ```
 */
export function decodeTopology(bytes: Uint8Array): TopologyEntry[] {
  return decodeKnownTypes(bytes) ?? decodePairs(bytes, new FastTopologyReader(bytes));
}

/**
 * {@link decodeTopology} through the generic gob decoder alone (same result,
 * slower); kept as the reference for the fast path.
 */
export function decodeTopologyGeneric(bytes: Uint8Array): TopologyEntry[] {
  return decodePairs(bytes, undefined);
}

function decodePairs(bytes: Uint8Array, fast: FastTopologyReader | undefined): TopologyEntry[] {
  const decoder = new GobStreamDecoder();
  const entries: TopologyEntry[] = [];
  let offset = 0;
  let seen = "";
  const framing = fast ? new GobReader(bytes) : undefined;
  while (offset < bytes.length) {
    const summary: Decoded<PeerSummary> = fast?.peer(offset) ?? decoder.next(bytes, offset);
    if (summary.offset >= bytes.length) {
      throw new SyntaxError(
        `Cannot decode topology: peer ${entries.length} has no connection list`,
      );
    }
    const list: Decoded<ConnectionSummary[]> = fast?.connections(summary.offset) ??
      decoder.next(bytes, summary.offset);
    // Convert only now, as the generic path always did: a malformed list
    // message is reported before a bad peer value.
    const peer = "fast" in summary ? summary.fast : toPeer(summary.item);
    const connections = "fast" in list ? list.fast : toConnections(list.item);
    if (fast) {
      fast.learn(summary, list);
      seen = remember(framing!, offset, summary, "peer", seen);
      seen = remember(framing!, summary.offset, list, "list", seen);
    }
    entries.push({ peer, connections });
    offset = list.offset;
  }
  return entries;
}

/**
 * Remembers the type of a value the generic decoder read, under the definitions its stream made
 * so far (`seen` and those right before it), for later payloads; returns the new `seen`.
 */
function remember(
  framing: GobReader,
  start: number,
  d: Decoded<unknown>,
  role: "peer" | "list",
  seen: string,
): string {
  // A value the fast reader took had no definitions before it (it starts at `start`).
  if (!("item" in d)) return seen;
  const end = definitionsEnd(framing, start);
  if (end <= start) return seen;
  const definitions = seen + definitionsKey(framing.bytes, start, end);
  const codes = role === "peer" ? peerCodes(d.item.type) : listCodes(d.item.type);
  if (codes) rememberDefinitions(definitions, { id: d.item.typeId, role, codes });
  return definitions;
}
