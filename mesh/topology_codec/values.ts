/**
 * Conversion between topology summaries and the generic gob codec's values:
 * summaries to gob structs for the generic encoder, and decoded gob items back
 * to summaries with the checks that reject hostile input (field kinds, a
 * 6-byte NameByte, a ShortID that fits in uint16).
 *
 * @module
 */
import { peerNameFromBytes, peerNameToBytes } from "../../lib/peer_name.ts";
import { checkStructKinds, gobField, type GobItem, type GobStruct } from "../gob/decoder.ts";
import { describeGobType } from "../gob/types.ts";
import { CONNECTION_KINDS, PEER_KINDS } from "./schema.ts";
import type { ConnectionSummary, PeerSummary } from "../topology_types.ts";

const MAX_UINT16 = 0xffffn;

/** A peer summary as the generic encoder's peerSummary struct. */
export function peerValue(peer: PeerSummary): GobStruct {
  return {
    NameByte: peerNameToBytes(peer.name),
    NickName: peer.nickName,
    UID: peer.uid,
    Version: peer.version,
    ShortID: BigInt(peer.shortID),
    HasShortID: peer.hasShortID,
  };
}

/** A connection summary as the generic encoder's connectionSummary struct. */
export function connectionValue(conn: ConnectionSummary): GobStruct {
  return {
    NameByte: peerNameToBytes(conn.name),
    RemoteTCPAddr: conn.remoteTCPAddr,
    Outbound: conn.outbound,
    Established: conn.established,
  };
}

/** A decoded peerSummary item as a peer summary; throws on a wrong kind, NameByte length or ShortID. */
export function toPeer(item: GobItem): PeerSummary {
  checkStructKinds(item.type, "topology peerSummary", PEER_KINDS);
  const v = item.value as GobStruct;
  const shortID = gobField(v, "ShortID", 0n);
  if (shortID > MAX_UINT16) {
    throw new RangeError(`Cannot decode topology peerSummary: ShortID ${shortID} exceeds uint16`);
  }
  return {
    name: nameOf(v, "peerSummary"),
    nickName: gobField(v, "NickName", ""),
    uid: gobField(v, "UID", 0n),
    version: gobField(v, "Version", 0n),
    shortID: Number(shortID),
    hasShortID: gobField(v, "HasShortID", false),
  };
}

/** A decoded []connectionSummary item as connection summaries; throws on a wrong type or NameByte length. */
export function toConnections(item: GobItem): ConnectionSummary[] {
  const type = item.type;
  if (type.kind !== "slice") {
    throw new TypeError(
      `Cannot decode topology: expected []connectionSummary, got ${describeGobType(type)}`,
    );
  }
  checkStructKinds(type.elem, "topology connectionSummary", CONNECTION_KINDS);
  return (item.value as GobStruct[]).map((v) => ({
    name: nameOf(v, "connectionSummary"),
    remoteTCPAddr: gobField(v, "RemoteTCPAddr", ""),
    outbound: gobField(v, "Outbound", false),
    established: gobField(v, "Established", false),
  }));
}

function nameOf(v: GobStruct, what: string) {
  const bytes = gobField(v, "NameByte", new Uint8Array());
  if (bytes.length !== 6) {
    throw new RangeError(
      `Cannot decode topology ${what}: NameByte has ${bytes.length} bytes, expected 6`,
    );
  }
  return peerNameFromBytes(bytes);
}
