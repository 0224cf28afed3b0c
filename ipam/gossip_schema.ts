/**
 * Gob schemas of the IPAM gossip (spec §6.2, §9.3): `gossipState` with its
 * Paxos and Ring parts, and `Range`. Field names and kinds are what Go
 * matches on; the type names only matter for byte-identical output, so they
 * are a parameter: {@link WEAVE_TYPE_NAMES} are what weaver 2.8.1 sends
 * (read from the captures), {@link GENERATOR_TYPE_NAMES} what the golden
 * vector generator (package `main`) sent.
 *
 * @module
 */
import {
  gobMap,
  type GobMapType,
  gobSlice,
  gobStruct,
  type GobStructType,
  type GobType,
  I,
  S,
  U,
} from "../mesh/gob/types.ts";

/** The type names that differ between Go programs. */
export interface GossipTypeNames {
  /** `map[PeerName]string` of the Nicknames field. */
  nicknames: string;
  /** The `[]*entry` slice of Ring.Entries. */
  entries: string;
  /** The `[]PeerName` slice of Ring.Seeds. */
  seeds: string;
}

/** Names weaver 2.8.1 sends (`ipam/ring.entries`, `[]mesh.PeerName`, …). */
export const WEAVE_TYPE_NAMES: GossipTypeNames = Object.freeze({
  nicknames: "map[mesh.PeerName]string",
  entries: "entries",
  seeds: "[]mesh.PeerName",
});

/** Names the golden vector generator sent (its types live in package main). */
export const GENERATOR_TYPE_NAMES: GossipTypeNames = Object.freeze({
  nicknames: "map[main.PeerName]string",
  entries: "[]*main.entry",
  seeds: "[]main.PeerName",
});

/** Go `Range{Start, End}` (the SpaceRequest and SpaceRequestDenied body). */
export const RANGE_TYPE: GobStructType = gobStruct("Range", [["Start", U], ["End", U]]);

/**
 * Paxos `NodeID`; first reached as a map key, so Go sends it unnamed. The
 * same object is used everywhere so that it gets one type id.
 */
const NODE_ID_TYPE = gobStruct("", [["Name", U], ["UID", U]]);
const PROPOSAL_ID_TYPE = gobStruct("ProposalID", [["Round", U], ["Proposer", NODE_ID_TYPE]]);
const ACCEPTED_VALUE_TYPE = gobStruct("AcceptedValue", [
  ["Value", gobSlice(U, "Value")],
  ["Origin", PROPOSAL_ID_TYPE],
]);
/** Paxos `NodeClaims`, a map element: unnamed on the wire. */
const NODE_CLAIMS_TYPE = gobStruct("", [
  ["Promise", PROPOSAL_ID_TYPE],
  ["Accepted", PROPOSAL_ID_TYPE],
  ["AcceptedVal", ACCEPTED_VALUE_TYPE],
]);
/** Paxos `GossipState`. */
const PAXOS_TYPE: GobMapType = gobMap(NODE_ID_TYPE, NODE_CLAIMS_TYPE, "GossipState");
/** Ring `*entry`, a pointer element: unnamed on the wire. */
const ENTRY_TYPE = gobStruct("", [["Token", U], ["Peer", U], ["Version", U], ["Free", U]]);

const ringTypes = new Map<string, GobStructType>();
const stateTypes = new Map<string, GobStructType>();
const cacheKey = (n: GossipTypeNames) => `${n.nicknames}|${n.entries}|${n.seeds}`;

/** Go `ring.Ring` with the given type names (one object per names, so ids are shared). */
export function ringSchema(names: GossipTypeNames = WEAVE_TYPE_NAMES): GobStructType {
  const k = cacheKey(names);
  let type = ringTypes.get(k);
  if (!type) {
    type = gobStruct("Ring", [
      ["Start", U],
      ["End", U],
      ["Peer", U],
      ["Entries", gobSlice(ENTRY_TYPE, names.entries)],
      ["Seeds", gobSlice(U, names.seeds)],
    ]);
    ringTypes.set(k, type);
  }
  return type;
}

/**
 * Go `ipam.gossipState` with the given type names.
 *
 * @example
 * ```ts
 * import { gossipStateSchema } from "./gossip_schema.ts";
 * gossipStateSchema().fields.map(([name]) => name); // ["Now", "Nicknames", "Paxos", "Ring"]
 * ```
 */
export function gossipStateSchema(names: GossipTypeNames = WEAVE_TYPE_NAMES): GobStructType {
  const k = cacheKey(names);
  let type = stateTypes.get(k);
  if (!type) {
    type = gobStruct("gossipState", [
      ["Now", I],
      ["Nicknames", gobMap(U, S, names.nicknames)],
      ["Paxos", PAXOS_TYPE],
      ["Ring", ringSchema(names)],
    ]);
    stateTypes.set(k, type);
  }
  return type;
}

/**
 * Checks that a received type matches `expected` in kind wherever both
 * have something: fields are matched by name, unknown fields are allowed and
 * missing ones stay zero, as Go's decoder does. Throws a TypeError naming the
 * path of the first mismatch.
 */
export function checkShape(received: GobType, expected: GobType, path: string): void {
  if (received.kind !== expected.kind) {
    throw new TypeError(
      `Cannot decode ${path}: expected ${expected.kind}, got ${received.kind}`,
    );
  }
  if (received.kind === "struct" && expected.kind === "struct") {
    for (const [name, type] of received.fields) {
      const want = expected.fields.find(([n]) => n === name);
      if (want) checkShape(type, want[1], `${path}.${name}`);
    }
  } else if (received.kind === "slice" && expected.kind === "slice") {
    checkShape(received.elem, expected.elem, `${path}[]`);
  } else if (received.kind === "map" && expected.kind === "map") {
    checkShape(received.key, expected.key, `${path}{key}`);
    checkShape(received.elem, expected.elem, `${path}{}`);
  }
}
