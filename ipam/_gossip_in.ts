/**
 * What the allocator does with `IPallocation` gossip from a peer: learn
 * nicknames; merge a ring (settling takeover tie-breaks first, see
 * `_takeover.ts`), or answer a peer without one with ours, or feed its Paxos
 * state to the consensus driver; give space to a peer that asks for it, or
 * tell it we have none. Replies wait until our state is saved.
 *
 * @module
 */
import { type PeerName, UNKNOWN_PEER_NAME } from "../lib/peer_name.ts";
import type { Range } from "./address/mod.ts";
import { type AllocatorState, ipText } from "./_allocator_state.ts";
import { encodeIpamUnicast, type GossipState, IpamMessageType } from "./gossip_codec.ts";
import { Ring, type RingData, RingError } from "./ring/mod.ts";
import { peerText } from "./ring/mod.ts";
import { ringUpdated } from "./_ring_changes.ts";
import { establishRing } from "./_ring_seed.ts";
import { afterDurable, broadcast, sendRingUpdate, sendRingUpdateNow, unicast } from "./_sending.ts";
import { syncSpace } from "./_space_sync.ts";
import { resolveTakeovers } from "./_takeover.ts";

/** Applies a peer's gossip state (throws RingError for a ring that cannot merge). */
export function applyGossipState(s: AllocatorState, sender: PeerName, state: GossipState): void {
  for (const [peer, nick] of state.nicknames) s.dir.nicknames.set(peer, nick);
  if (state.ring) {
    mergeRing(s, sender, state.ring);
  } else if (!s.ring.isEmpty()) {
    if (sender !== UNKNOWN_PEER_NAME) sendRingUpdate(s, sender);
  } else if (state.paxos !== undefined) {
    s.consensus.received(state.paxos);
  } else if (s.consensus.participant.isElector() && sender !== UNKNOWN_PEER_NAME) {
    establishRing(s);
  }
}

function mergeRing(s: AllocatorState, sender: PeerName, incoming: RingData): void {
  let theirs = incoming;
  let changed = false;
  if (s.holds.size > 0) {
    const dead = new Map([...s.holds].map(([t, h]) => [t, h.from]));
    const res = resolveTakeovers(s.ring.toData(), incoming, s.ourName, dead);
    for (const r of res.released) {
      s.log.warn(
        `${s.dir.annotate(r.to)} also took over the range at ${ipText(r.token)}; ` +
          "it wins the tie-break, so it is theirs",
      );
      s.holds.delete(r.token);
    }
    for (const k of res.kept) {
      s.log.info(
        `${s.dir.annotate(k.against)} also took over the range at ${ipText(k.token)}; ` +
          "we win the tie-break, so it stays ours",
      );
    }
    if (res.released.length > 0) {
      s.ring = Ring.fromData(res.ours, s.ourName);
      changed = true;
    }
    theirs = res.incoming;
  }
  let updated: boolean;
  try {
    updated = s.ring.merge(theirs, {
      hasAllocations: (ranges) => s.space.hasAllocationsIn(ranges),
      nicknames: s.dir.nicknames,
    });
  } catch (e) {
    if (changed) ringUpdated(s);
    if (e instanceof RingError) logRingError(s, sender, e);
    throw e;
  }
  if (updated || changed) {
    s.dir.prune(s.ring.peerNames());
    ringUpdated(s);
  }
}

function logRingError(s: AllocatorState, sender: PeerName, e: RingError): void {
  const from = sender === UNKNOWN_PEER_NAME ? "a peer" : s.dir.annotate(sender);
  if (e.code === "different-seeds") {
    s.log.error(
      `${e.message} (from ${from}): these peers formed separate IPAM clusters and cannot ` +
        "connect. To join them, keep one cluster and on every peer of the other run " +
        "'weave reset' (it releases that peer's addresses and deletes its IPAM state), " +
        "then launch it again connected to the kept cluster",
    );
  } else {
    s.log.error(`Cannot merge IPAM ring from ${from}: ${e.message}`);
  }
}

/** Gives `to` a free chunk of `requested` if we have one, else denies; then sends our ring. */
export function donateSpace(s: AllocatorState, requested: Range, to: PeerName): void {
  const ring = s.ring.range();
  const r = {
    start: Math.max(requested.start, ring.start),
    end: Math.min(requested.end, ring.end),
  };
  const chunk = r.start < r.end ? s.space.donate(r) : undefined;
  let denied = false;
  if (!chunk) {
    s.log.debug(`No space to give to peer ${peerText(to)}`);
    denied = true;
  } else {
    s.log.debug(
      `Giving range ${ipText(chunk.start)}-${ipText(chunk.end - 1)} to ${peerText(to)}`,
    );
    try {
      s.ring.grantRangeToHost(chunk.start, chunk.end, to);
    } catch (e) {
      s.log.error(`Cannot give range to ${peerText(to)}: ${(e as Error).message}`);
      syncSpace(s);
    }
    s.persister.markDirty();
    broadcast(s);
  }
  afterDurable(s, () => {
    // The ring first (Go sends it after the denial): a peer that asked us for an address we
    // gave away meanwhile then learns the new owner before our "no", and asks that owner
    // instead of failing (see claimsDenied).
    sendRingUpdateNow(s, to);
    if (denied) {
      unicast(
        s,
        to,
        encodeIpamUnicast({ type: IpamMessageType.SpaceRequestDenied, range: requested }),
      );
    }
  });
}
