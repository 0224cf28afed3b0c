/**
 * Schemas of the Go types in `../../../shared/spec/gob-vectors-generator.go.txt`,
 * with the type names that program sent (package `main`; Weave itself sends
 * e.g. `[]mesh.PeerName` and `entries`). Used by the golden vector tests; the
 * IPAM and DNS codecs will own their real schemas.
 *
 * @module
 */
import { B, BYTES, gobMap, gobSlice, gobStruct, I, S, U } from "./types.ts";

/** `map[string]string` (the handshake features). */
export const featuresType = gobMap(S, S);

/** mesh `peerSummary`. */
export const peerSummaryType = gobStruct("peerSummary", [
  ["NameByte", BYTES],
  ["NickName", S],
  ["UID", U],
  ["Version", U],
  ["ShortID", U],
  ["HasShortID", B],
]);

/** mesh `connectionSummary`. */
export const connectionSummaryType = gobStruct("connectionSummary", [
  ["NameByte", BYTES],
  ["RemoteTCPAddr", S],
  ["Outbound", B],
  ["Established", B],
]);

/** `[]connectionSummary` (unnamed slice). */
export const connectionListType = gobSlice(connectionSummaryType);

/** IPAM `Range`. */
export const rangeType = gobStruct("Range", [["Start", U], ["End", U]]);

/** Paxos `NodeID`: reached first as a map key, so sent without a name. */
const nodeIDType = gobStruct("", [["Name", U], ["UID", U]]);
const proposalIDType = gobStruct("ProposalID", [["Round", U], ["Proposer", nodeIDType]]);
const acceptedValueType = gobStruct("AcceptedValue", [
  ["Value", gobSlice(U, "Value")],
  ["Origin", proposalIDType],
]);
/** Paxos `NodeClaims`: a map element, so sent without a name. */
const nodeClaimsType = gobStruct("", [
  ["Promise", proposalIDType],
  ["Accepted", proposalIDType],
  ["AcceptedVal", acceptedValueType],
]);
/** Ring `entry`: a pointer element of Entries, so sent without a name. */
const entryType = gobStruct("", [["Token", U], ["Peer", U], ["Version", U], ["Free", U]]);
const ringType = gobStruct("Ring", [
  ["Start", U],
  ["End", U],
  ["Peer", U],
  ["Entries", gobSlice(entryType, "[]*main.entry")],
  ["Seeds", gobSlice(U, "[]main.PeerName")],
]);

/** IPAM `gossipState` (Ring is a pointer: absent when nil). */
export const gossipStateType = gobStruct("gossipState", [
  ["Now", I],
  ["Nicknames", gobMap(U, S, "map[main.PeerName]string")],
  ["Paxos", gobMap(nodeIDType, nodeClaimsType, "GossipState")],
  ["Ring", ringType],
]);

/** DNS `GossipData` (named DNSGossipData in the generator). */
export const dnsGossipDataType = gobStruct("DNSGossipData", [
  ["Timestamp", I],
  [
    "Entries",
    gobSlice(
      gobStruct("Entry", [
        ["ContainerID", S],
        ["Origin", U],
        ["Addr", U],
        ["Hostname", S],
        ["Version", I],
        ["Tombstone", I],
      ]),
      "Entries",
    ),
  ],
]);
