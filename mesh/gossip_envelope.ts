/**
 * The bodies of gossip messages (TCP tags 4, 5 and 6, without the tag byte):
 * a gob stream of built-in values only — channel name, peer name(s), payload
 * (`../shared/spec/weave-protocol.md` §2.2).
 *
 * - tag 4 gossip: channel, immediate sender, payload
 * - tag 5 unicast: channel, source, destination, payload
 * - tag 6 broadcast: channel, originator, payload
 *
 * @module
 */
import type { PeerName } from "../lib/peer_name.ts";
import { GobStreamDecoder } from "./gob/decoder.ts";
import { encodeGobStream } from "./gob/encoder.ts";
import { BYTES, describeGobType, type GobType, S, U } from "./gob/types.ts";

/** Tag 4: gossip from the immediate sender. */
export interface GossipBody {
  channel: string;
  sender: PeerName;
  payload: Uint8Array;
}

/** Tag 6: a broadcast and the peer it started from. */
export interface BroadcastBody {
  channel: string;
  origin: PeerName;
  payload: Uint8Array;
}

/** Tag 5: a unicast from `source` to `destination`. */
export interface UnicastBody {
  channel: string;
  source: PeerName;
  destination: PeerName;
  payload: Uint8Array;
}

/** Gossip message tags whose bodies this codec handles. */
export type GossipTag = 4 | 5 | 6;

/**
 * Encodes a tag-4 body.
 *
 * @example
 * ```ts
 * import { encodeGossipBody } from "./gossip_envelope.ts";
 * encodeGossipBody({ channel: "topology", sender: 0x0a0b0c0d0e0fn, payload: new Uint8Array([0xaa]) });
 * // 0b 0c 00 08 "topology" 09 06 00 fa 0a 0b 0c 0d 0e 0f 04 0a 00 01 aa
 * ```
 */
export function encodeGossipBody(body: GossipBody): Uint8Array {
  return encodeGobStream([[body.channel, S], [body.sender, U], [body.payload, BYTES]]);
}

/** Encodes a tag-6 body. */
export function encodeBroadcastBody(body: BroadcastBody): Uint8Array {
  return encodeGobStream([[body.channel, S], [body.origin, U], [body.payload, BYTES]]);
}

/** Encodes a tag-5 body. */
export function encodeUnicastBody(body: UnicastBody): Uint8Array {
  return encodeGobStream([
    [body.channel, S],
    [body.source, U],
    [body.destination, U],
    [body.payload, BYTES],
  ]);
}

/**
 * Decodes the body of a gossip message with the given tag. Values after the
 * payload are ignored, as Go's reader does.
 *
 * @example
 * ```ts
 * import { decodeGossipBody, encodeUnicastBody } from "./gossip_envelope.ts";
 * const body = encodeUnicastBody({
 *   channel: "IPallocation", source: 1n, destination: 2n, payload: new Uint8Array([0]),
 * });
 * decodeGossipBody(5, body).destination; // 2n
 * ```
 */
export function decodeGossipBody(tag: 4, body: Uint8Array): GossipBody;
export function decodeGossipBody(tag: 5, body: Uint8Array): UnicastBody;
export function decodeGossipBody(tag: 6, body: Uint8Array): BroadcastBody;
export function decodeGossipBody(
  tag: GossipTag,
  body: Uint8Array,
): GossipBody | UnicastBody | BroadcastBody;
export function decodeGossipBody(
  tag: GossipTag,
  body: Uint8Array,
): GossipBody | UnicastBody | BroadcastBody {
  if (tag !== 4 && tag !== 5 && tag !== 6) {
    throw new RangeError(`Cannot decode gossip body: tag ${tag} is not 4, 5 or 6`);
  }
  const reader = new ValueReader(body, tag);
  const channel = reader.read<string>("channel", S);
  const from = reader.read<bigint>("peer name", U);
  switch (tag) {
    case 4:
      return { channel, sender: from, payload: reader.read<Uint8Array>("payload", BYTES) };
    case 6:
      return { channel, origin: from, payload: reader.read<Uint8Array>("payload", BYTES) };
    case 5: {
      const destination = reader.read<bigint>("destination", U);
      return {
        channel,
        source: from,
        destination,
        payload: reader.read<Uint8Array>("payload", BYTES),
      };
    }
  }
}

class ValueReader {
  #decoder = new GobStreamDecoder();
  #offset = 0;
  #bytes: Uint8Array;
  #tag: number;

  constructor(bytes: Uint8Array, tag: number) {
    this.#bytes = bytes;
    this.#tag = tag;
  }

  read<T>(what: string, type: GobType): T {
    let next;
    try {
      next = this.#decoder.next(this.#bytes, this.#offset);
    } catch (cause) {
      throw new SyntaxError(
        `Cannot decode tag ${this.#tag} gossip ${what}: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
    if (next.item.type.kind !== type.kind) {
      throw new TypeError(
        `Cannot decode tag ${this.#tag} gossip ${what}: expected ${describeGobType(type)}, got ${
          describeGobType(next.item.type)
        }`,
      );
    }
    this.#offset = next.offset;
    return next.item.value as T;
  }
}
