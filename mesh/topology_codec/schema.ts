/**
 * The gob types of the `topology` payload as Go declares them (`peerSummary`,
 * `connectionSummary`, `[]connectionSummary`), and the field kinds a decoded
 * struct must have.
 *
 * @module
 */
import { B, BYTES, gobSlice, gobStruct, S, U } from "../gob/types.ts";

/** Go's `peerSummary`, field order as sent. */
export const PEER_SUMMARY_TYPE = gobStruct("peerSummary", [
  ["NameByte", BYTES],
  ["NickName", S],
  ["UID", U],
  ["Version", U],
  ["ShortID", U],
  ["HasShortID", B],
]);

/** Go's `connectionSummary`, field order as sent. */
export const CONNECTION_SUMMARY_TYPE = gobStruct("connectionSummary", [
  ["NameByte", BYTES],
  ["RemoteTCPAddr", S],
  ["Outbound", B],
  ["Established", B],
]);

/** Go's `[]connectionSummary` (an unnamed slice type). */
export const CONNECTION_LIST_TYPE = gobSlice(CONNECTION_SUMMARY_TYPE);

/** The kind each peerSummary field must have when decoded. */
export const PEER_KINDS = {
  NameByte: "bytes",
  NickName: "string",
  UID: "uint",
  Version: "uint",
  ShortID: "uint",
  HasShortID: "bool",
} as const;
/** The kind each connectionSummary field must have when decoded. */
export const CONNECTION_KINDS = {
  NameByte: "bytes",
  RemoteTCPAddr: "string",
  Outbound: "bool",
  Established: "bool",
} as const;
