/**
 * The protocol v2 handshake features: one gob `map[string]string` sent by
 * each side right after the encryption flag
 * (`../shared/spec/weave-protocol.md` §1.3). Both sides of it live here: the map we
 * send ({@link buildFeatures}) and its validation as mesh's `parseFeatures` does it
 * (same checks, same messages).
 *
 * @module
 */
import { formatPeerName, parsePeerName, type PeerName } from "../lib/peer_name.ts";
import { GobStreamDecoder } from "./gob/decoder.ts";
import { GobEncoder } from "./gob/encoder.ts";
import { describeGobType, gobMap, S } from "./gob/types.ts";

/** The only peer-name flavour spoken: names are MAC addresses. */
export const PEER_NAME_FLAVOUR = "mac";

const FEATURES_TYPE = gobMap(S, S);
const REQUIRED = ["PeerNameFlavour", "Name", "NickName", "UID", "ConnID"] as const;
const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_SHORT_ID = 4095n;

/** What the remote peer told us about itself, validated. */
export interface RemoteFeatures {
  name: PeerName;
  nickName: string;
  uid: bigint;
  /** The remote's random connection id; XORed with ours gives the connection UID. */
  connID: bigint;
  /** 12-bit short ID; absent when the remote did not send one. */
  shortID?: number;
  /** Whether the remote trusts us (Trusted "true"). */
  trusted: boolean;
  /** Overlay names offered, in the remote's order; undefined when not sent. */
  overlays?: string[];
}

/** What we tell a remote about ourselves on one connection. */
export interface LocalFeatures {
  name: PeerName;
  nickName: string;
  shortID: number;
  uid: bigint;
  /** Our random id of this connection. */
  connID: bigint;
  /** Whether we trust the remote's address (`--trusted-subnets`). */
  trusted: boolean;
}

/**
 * Our features map for one connection, keys in the order Weave's peers send them; the
 * overlay adds its own (`Overlays`, ...) after these.
 *
 * @example
 * ```ts
 * import { buildFeatures } from "./features.ts";
 * buildFeatures({ name: 0x020000000001n, nickName: "h1", shortID: 7, uid: 1n, connID: 2n, trusted: false })
 *   .PeerNameFlavour; // "mac"
 * ```
 */
export function buildFeatures(ours: LocalFeatures): Record<string, string> {
  return {
    PeerNameFlavour: PEER_NAME_FLAVOUR,
    Name: formatPeerName(ours.name),
    NickName: ours.nickName,
    ShortID: String(ours.shortID),
    UID: String(ours.uid),
    ConnID: String(ours.connID),
    Trusted: String(ours.trusted),
  };
}

/**
 * Encodes features as a fresh gob stream (type definition, then the map);
 * keys go out in insertion order.
 *
 * @example
 * ```ts
 * import { encodeFeatures } from "./features.ts";
 * encodeFeatures({ Name: "0a:0b:0c:0d:0e:0f" }); // 43 bytes, as Go's encoder writes
 * ```
 */
export function encodeFeatures(map: Record<string, string>): Uint8Array {
  return new GobEncoder().encode(new Map(Object.entries(map)), FEATURES_TYPE);
}

/**
 * Decodes the features message: the first value of the stream must be a
 * `map[string]string` (anything after it is ignored, as Go does).
 *
 * @example
 * ```ts
 * import { decodeFeatures, encodeFeatures } from "./features.ts";
 * decodeFeatures(encodeFeatures({ NickName: "h1" })); // { NickName: "h1" }
 * ```
 */
export function decodeFeatures(bytes: Uint8Array): Record<string, string> {
  const { item } = new GobStreamDecoder().next(bytes, 0);
  const type = item.type;
  if (type.kind !== "map" || type.key.kind !== "string" || type.elem.kind !== "string") {
    throw new TypeError(
      `Cannot decode features: expected map[string]string, got ${describeGobType(type)}`,
    );
  }
  const out: Record<string, string> = {};
  for (const [key, value] of item.value as Map<string, string>) {
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/**
 * Validates the remote's features: PeerNameFlavour (must be "mac"), Name,
 * NickName, UID and ConnID are required; ShortID, Trusted and Overlays are
 * optional.
 *
 * @example
 * ```ts
 * import { parseFeatures } from "./features.ts";
 * parseFeatures({
 *   PeerNameFlavour: "mac", Name: "02:00:00:00:00:01", NickName: "h1", UID: "7", ConnID: "9",
 * }).uid; // 7n
 * ```
 */
export function parseFeatures(map: Record<string, string>): RemoteFeatures {
  const get = (key: string) => (Object.hasOwn(map, key) ? map[key] : undefined);
  for (const key of REQUIRED) {
    if (get(key) === undefined) throw new SyntaxError(`Field ${key} is missing`);
  }
  const flavour = get("PeerNameFlavour");
  if (flavour !== PEER_NAME_FLAVOUR) {
    throw new Error(
      `Peer name flavour mismatch (ours: '${PEER_NAME_FLAVOUR}', theirs: '${flavour}')`,
    );
  }
  const features: RemoteFeatures = {
    name: parseName(get("Name")!),
    nickName: get("NickName")!,
    uid: parseDecimal("UID", get("UID")!, MAX_UINT64),
    connID: parseDecimal("ConnID", get("ConnID")!, MAX_UINT64),
    trusted: false,
  };
  const shortID = get("ShortID");
  if (shortID !== undefined) {
    features.shortID = Number(parseDecimal("ShortID", shortID, MAX_SHORT_ID));
  }
  const trusted = get("Trusted");
  if (trusted !== undefined) features.trusted = parseGoBool(trusted);
  const overlays = get("Overlays");
  if (overlays !== undefined) features.overlays = overlays.split(" ").filter((o) => o !== "");
  return features;
}

function parseName(text: string): PeerName {
  try {
    return parsePeerName(text);
  } catch (cause) {
    throw new SyntaxError(`Cannot parse features: Name "${text}" is not a peer name`, { cause });
  }
}

function parseDecimal(field: string, text: string, max: bigint): bigint {
  if (!/^[0-9]+$/.test(text)) {
    throw new SyntaxError(`Cannot parse features: ${field} "${text}" is not a decimal number`);
  }
  const value = BigInt(text);
  if (value > max) {
    throw new RangeError(`Cannot parse features: ${field} ${text} is above ${max}`);
  }
  return value;
}

/** Go's strconv.ParseBool. */
function parseGoBool(text: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  throw new SyntaxError(`Cannot parse features: Trusted "${text}" is not a bool`);
}
