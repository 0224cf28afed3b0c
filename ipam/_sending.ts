/**
 * What the allocator sends, and the barrier before it: an answer to a
 * client or a ring to a peer leaves only once the state it reflects is
 * saved (see `_persister.ts`), so a `kill -9` can never make us hand out an
 * address twice or forget a range we gave away. Send failures are logged,
 * never thrown into the operation that caused them.
 *
 * @module
 */
import type { PeerName } from "../lib/peer_name.ts";
import type { Range } from "./address/mod.ts";
import type { AllocatorState } from "./_allocator_state.ts";
import {
  encodeIpamUnicast,
  type GossipState,
  IpamMessageType,
  ringUpdateFromEncoded,
} from "./gossip_codec.ts";
import { IpamGossipData } from "./gossiper.ts";
import { type OutgoingInput, outgoingState } from "./_gossip_out.ts";
import type { Once } from "./_ops.ts";

/** The state sending reads. */
export type SendState = Pick<AllocatorState, "self" | "channel" | "persister" | "stopped" | "log">;

/** The state our outgoing gossip is built from. */
export type OutgoingSource = Pick<
  AllocatorState,
  "clock" | "ourName" | "dir" | "durableRing" | "consensus"
>;

/** Runs `f` (errors logged) once the state is saved, unless stopped by then. */
export function afterDurable(s: SendState, f: () => void): void {
  s.persister.whenDurable().then(
    () => {
      if (!s.stopped) guarded(s, f);
    },
    (e: Error) => s.log.error(`Not sending IPAM data: state not saved: ${e.message}`),
  );
}

/** Settles `done` with `value` once the state is saved, or with the save's error. */
export function answerWhenDurable<T>(
  s: Pick<AllocatorState, "persister">,
  done: Once<T>,
  answer: { value: T; ident: string },
): void {
  const { value, ident } = answer;
  s.persister.whenDurable().then(
    () => done.resolve(value),
    (e: Error) => done.reject(new Error(`Cannot answer for ${ident}: ${e.message}`, { cause: e })),
  );
}

/** Broadcasts our gossip state once saved. */
export function broadcast(s: SendState): void {
  afterDurable(s, () => s.channel?.gossipBroadcast(new IpamGossipData(s.self)));
}

/** Sends our ring to `dst` once saved. */
export function sendRingUpdate(s: SendState, dst: PeerName): void {
  afterDurable(s, () => sendRingUpdateNow(s, dst));
}

/** Sends our (last saved) gossip state to `dst` as a `RingUpdate` now. */
export function sendRingUpdateNow(s: SendState, dst: PeerName): void {
  unicast(s, dst, ringUpdateFromEncoded(s.self.encodeGossip()));
}

/** Asks `dst` for space in `range`. */
export function sendSpaceRequest(s: SendState, dst: PeerName, range: Range): void {
  unicast(s, dst, encodeIpamUnicast({ type: IpamMessageType.SpaceRequest, range }));
}

/** Sends `payload` to `dst` on our channel (errors logged). */
export function unicast(s: SendState, dst: PeerName, payload: Uint8Array): void {
  guarded(s, () => s.channel?.gossipUnicast(dst, payload));
}

/** Runs `f`, logging instead of throwing what it throws. */
export function guarded(s: Pick<AllocatorState, "log">, f: () => void): void {
  try {
    f();
  } catch (e) {
    s.log.error((e as Error).message);
  }
}

/** What our gossip state is encoded from (Paxos limited to `only` when given). */
export function outgoingInput(s: OutgoingSource, only?: ReadonlySet<string>): OutgoingInput {
  return {
    now: s.clock(),
    ourName: s.ourName,
    nicknames: s.dir.nicknames,
    ring: s.durableRing,
    paxos: s.consensus.participant,
    only,
  };
}

/** Our gossip state as a value (Paxos limited to `only` when given). */
export function gossipState(s: OutgoingSource, only?: ReadonlySet<string>): GossipState {
  return outgoingState(outgoingInput(s, only));
}
