/**
 * Weave Net 2.8.1's persisted router state, decoded: the bucket `top` of its
 * BoltDB file (`<db-prefix>data.db`, written by Weave's `db/boltdb.go`)
 * holds `version` (raw bytes major, minor: 1, 0) and one gob stream of one
 * value per key — `peername` (`mesh.PeerName`, a uint64), `ring`
 * (`*ring.Ring`, the same gob type IPAM gossips), `ownedAddresses`
 * (`map[string]ownedData{IsContainer bool; Cidrs []address.CIDR{Addr
 * uint32; PrefixLen int}}`) and `directPeers` (`[]string`, the targets of
 * `weave connect`); `weaveutil set-db-flag` adds `flag:<name>` keys (a gob
 * string each: launch.sh sets `flag:peer-reclaim` to `ok` once kube-utils'
 * reclaim is in use).
 *
 * All or nothing: {@link decodeWeaveState} either returns every part or
 * throws a {@link WeaveStateError}; a value with trailing bytes, a ring
 * that breaks its invariants or an unknown major version is refused, so a
 * damaged file is never half used.
 *
 * @module
 */
import { decodeGobItems, type GobStruct, type GobValue } from "../mesh/gob/decoder.ts";
import type { PeerName } from "../lib/peer_name.ts";
import { decodeRing } from "../ipam/gossip_codec.ts";
import type { RingData } from "../ipam/ring/mod.ts";
import { checkEntries } from "../ipam/ring/mod.ts";
import type { OwnedData } from "../ipam/mod.ts";
import { readBoltBucket } from "./boltdb.ts";

/** The bucket Weave keeps everything in. */
export const WEAVE_TOP_BUCKET = "top";
/** The persistence major version Weave 2.8.1 writes (and the only one it reads). */
export const WEAVE_PERSISTENCE_MAJOR = 1;

/** The state a Weave Net 2.8.1 router left behind. */
export interface WeaveState {
  /** `[major, minor]` of the `version` key (Weave writes 1, 0). */
  version: [number, number];
  peerName: PeerName;
  /** The ring, absent before consensus. */
  ring?: RingData;
  /** Owned addresses by identifier (container ID, `weave:expose`, …). */
  owned: Map<string, OwnedData>;
  /** The persisted connect targets (`directPeers`). */
  directPeers: string[];
  /** `flag:<name>` keys by name (`peer-reclaim` → `ok`). */
  flags: Map<string, string>;
}

/** Weave's state file cannot be used (damaged, truncated, or of an unknown version). */
export class WeaveStateError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WeaveStateError";
  }
}

/** The single gob value of key `key`; throws on trailing values or bytes. */
function single(key: string, bytes: Uint8Array): GobValue {
  let items;
  try {
    items = decodeGobItems(bytes);
  } catch (cause) {
    throw new WeaveStateError(`Cannot decode "${key}": ${(cause as Error).message}`, { cause });
  }
  if (items.length !== 1) {
    throw new WeaveStateError(
      `Cannot decode "${key}": expected one gob value, got ${items.length}`,
    );
  }
  return items[0].value;
}

function isStruct(v: GobValue | undefined): v is GobStruct {
  return typeof v === "object" && !(v instanceof Uint8Array) && !Array.isArray(v) &&
    !(v instanceof Map);
}

function decodePeerName(bytes: Uint8Array): PeerName {
  const v = single("peername", bytes);
  if (typeof v !== "bigint" || v > 0xffffffffffffn) {
    throw new WeaveStateError(`Cannot decode "peername": expected a 48-bit uint, got ${String(v)}`);
  }
  return v;
}

function decodeWeaveRing(bytes: Uint8Array): RingData {
  let ring: RingData, offset: number;
  try {
    ({ ring, offset } = decodeRing(bytes));
  } catch (cause) {
    throw new WeaveStateError(`Cannot decode "ring": ${(cause as Error).message}`, { cause });
  }
  if (offset !== bytes.length) {
    throw new WeaveStateError(
      `Cannot decode "ring": ${bytes.length - offset} bytes after the value`,
    );
  }
  const bad = checkEntries(ring.entries, { start: ring.start, end: ring.end });
  if (bad) throw new WeaveStateError(`Cannot use "ring": ${bad.message}`, { cause: bad });
  return ring;
}

function decodeCidr(v: GobValue, where: string): { addr: number; prefix: number } {
  if (!isStruct(v)) throw new WeaveStateError(`Cannot decode ${where}: expected a struct`);
  const addr = v.Addr ?? 0n, prefix = v.PrefixLen ?? 0n;
  if (typeof addr !== "bigint" || addr > 0xffffffffn) {
    throw new WeaveStateError(`Cannot decode ${where}.Addr: expected a uint32`);
  }
  if (typeof prefix !== "bigint" || prefix < 0n || prefix > 32n) {
    throw new WeaveStateError(`Cannot decode ${where}.PrefixLen: expected 0..32`);
  }
  return { addr: Number(addr), prefix: Number(prefix) };
}

function decodeOwned(bytes: Uint8Array): Map<string, OwnedData> {
  const v = single("ownedAddresses", bytes);
  if (!(v instanceof Map)) throw new WeaveStateError(`Cannot decode "ownedAddresses": not a map`);
  const out = new Map<string, OwnedData>();
  for (const [k, d] of v) {
    const where = `"ownedAddresses"[${JSON.stringify(String(k))}]`;
    if (typeof k !== "string" || !isStruct(d)) {
      throw new WeaveStateError(`Cannot decode ${where}: expected string → struct`);
    }
    const isContainer = d.IsContainer ?? false;
    const cidrs = d.Cidrs ?? [];
    if (typeof isContainer !== "boolean" || !Array.isArray(cidrs)) {
      throw new WeaveStateError(`Cannot decode ${where}: IsContainer or Cidrs of the wrong kind`);
    }
    out.set(k, { isContainer, cidrs: cidrs.map((c, i) => decodeCidr(c, `${where}.Cidrs[${i}]`)) });
  }
  return out;
}

function decodeDirectPeers(bytes: Uint8Array): string[] {
  const v = single("directPeers", bytes);
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) {
    throw new WeaveStateError(`Cannot decode "directPeers": expected a list of strings`);
  }
  return v as string[];
}

/**
 * Decodes the keys of Weave's `top` bucket (pure). `peername` and `version`
 * must be there; the others are absent on a router that never had them.
 *
 * @example
 * ```ts
 * import { decodeWeaveState } from "./weave_state.ts";
 * const top = new Map([
 *   ["version", Uint8Array.of(1, 0)],
 *   ["peername", Uint8Array.of(9, 6, 0, 0xfa, 2, 0, 0, 0, 0, 1)],
 * ]);
 * decodeWeaveState(top).peerName; // 0x020000000001n
 * ```
 */
export function decodeWeaveState(top: Map<string, Uint8Array>): WeaveState {
  const version = top.get("version");
  if (!version || version.length < 1) throw new WeaveStateError(`No "version" key`);
  if (version[0] !== WEAVE_PERSISTENCE_MAJOR) {
    throw new WeaveStateError(
      `Unknown persistence version ${version[0]}.${
        version[1] ?? 0
      }, expected ${WEAVE_PERSISTENCE_MAJOR}.x`,
    );
  }
  const name = top.get("peername");
  if (!name) throw new WeaveStateError(`No "peername" key`);
  const ring = top.get("ring"), owned = top.get("ownedAddresses"), peers = top.get("directPeers");
  const state: WeaveState = {
    version: [version[0], version[1] ?? 0],
    peerName: decodePeerName(name),
    owned: owned ? decodeOwned(owned) : new Map(),
    directPeers: peers ? decodeDirectPeers(peers) : [],
    flags: new Map(),
  };
  if (ring) state.ring = decodeWeaveRing(ring);
  for (const [key, bytes] of top) {
    if (!key.startsWith("flag:")) continue;
    const v = single(key, bytes);
    if (typeof v !== "string") throw new WeaveStateError(`Cannot decode "${key}": not a string`);
    state.flags.set(key.slice(5), v);
  }
  return state;
}

/**
 * Reads Weave's state from the bytes of its BoltDB file (pure). Throws
 * {@link WeaveStateError} for anything unusable, the BoltDB error as cause.
 *
 * @example
 * ```ts
 * import { readWeaveState } from "./weave_state.ts";
 * const s = readWeaveState(Deno.readFileSync("testdata/state-boltdb/h1-weavedata.db"));
 * s.directPeers; // ["192.0.2.9"]
 * ```
 */
export function readWeaveState(bytes: Uint8Array): WeaveState {
  let top;
  try {
    top = readBoltBucket(bytes, WEAVE_TOP_BUCKET);
  } catch (cause) {
    throw new WeaveStateError((cause as Error).message, { cause });
  }
  if (!top) throw new WeaveStateError(`No bucket "${WEAVE_TOP_BUCKET}" in the BoltDB file`);
  return decodeWeaveState(top);
}
