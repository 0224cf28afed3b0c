/**
 * Changes of the ring made here, and what follows every ring change: the
 * ring created from the seeds or the Paxos decision, ranges taken over from
 * a dead peer (`rmpeer`, held for a while in case another peer took them
 * too, see `_takeover.ts`), holds that end, and our ranges handed to a live
 * peer on shutdown. After each change: drop holds we no longer own, rebuild
 * our space, mark the state dirty and retry the waiting calls.
 *
 * @module
 */
import { type PeerName, UNKNOWN_PEER_NAME } from "../lib/peer_name.ts";
import { rangeSize } from "./address/mod.ts";
import { type AllocatorState, ipText } from "./_allocator_state.ts";
import { normalizeConsensus } from "./paxos/mod.ts";
import { cancelAll, tryPendingOps } from "./_pending_ops.ts";
import { Ring } from "./ring/mod.ts";
import { peerText } from "./ring/mod.ts";
import { broadcast } from "./_sending.ts";
import { syncSpace } from "./_space_sync.ts";
import { bumpVersions } from "./_takeover.ts";

/** After any ring change: end consensus, drop stale holds, resync space, save, retry calls. */
export function ringUpdated(s: AllocatorState): void {
  s.consensus.finish();
  for (const [token] of s.holds) {
    if (!s.ring.entries.some((e) => e.token === token && e.peer === s.ourName)) {
      s.holds.delete(token);
    }
  }
  syncSpace(s);
  s.persister.markDirty();
  tryPendingOps(s);
}

/** Creates the ring split among `peers` (seeds or the Paxos value) unless it exists. */
export function createRing(s: AllocatorState, peers: readonly PeerName[]): void {
  if (!s.ring.isEmpty()) return;
  const seeds = normalizeConsensus(peers);
  s.log.debug(`Paxos consensus: [${seeds.map(peerText).join(" ")}]`);
  s.ring.claimForPeers(seeds);
  ringUpdated(s);
  broadcast(s);
}

/** Makes takeovers whose hold ended final (their entries get a new version). */
export function expireHolds(s: AllocatorState): void {
  const now = s.clock();
  const expired = [...s.holds].filter(([, h]) => h.until <= now);
  if (expired.length === 0) return;
  for (const [token, h] of expired) {
    s.holds.delete(token);
    s.log.info(
      `Takeover of the range at ${ipText(token)} from ${s.dir.annotate(h.from)} is final`,
    );
  }
  const data = bumpVersions(s.ring.toData(), s.ourName, expired.map(([t]) => t));
  s.ring = Ring.fromData(data, s.ourName);
  ringUpdated(s);
  broadcast(s);
}

/**
 * Takes over the ranges of a dead peer (name or nickname) and returns how
 * many addresses we gained (`rmpeer`); 0 for an unknown peer or ourselves.
 */
export async function takeOver(s: AllocatorState, peerNameOrNick: string): Promise<number> {
  const peer = s.dir.lookup(peerNameOrNick);
  if (peer === undefined) {
    s.log.warn(`attempt to take over range from unknown peer '${peerNameOrNick}'`);
    return 0;
  }
  if (peer === s.ourName) {
    s.log.warn("attempt to take over range from ourself");
    return 0;
  }
  const tokens = s.ring.entries.filter((e) => e.peer === peer).map((e) => e.token);
  const moved = s.ring.transfer(peer, s.ourName);
  if (moved.length === 0) return 0;
  const count = moved.reduce((n, r) => n + rangeSize(r), 0);
  if (s.holdMs > 0) {
    const until = s.clock() + s.holdMs;
    for (const token of tokens) s.holds.set(token, { from: peer, until });
    s.log.info(
      `Took over ${count} IPs from ${s.dir.annotate(peer)}; they become allocatable in ` +
        `${s.holdMs / 1000}s unless another peer took them over at the same time`,
    );
  }
  ringUpdated(s);
  broadcast(s);
  await s.persister.whenDurable();
  return count;
}

/** Hands all our ranges to a live peer and stops allocating (`DELETE /peer`, `weave reset`). */
export async function handOver(s: AllocatorState): Promise<void> {
  s.log.info("Shutdown");
  s.shuttingDown = true;
  s.consensus.stop();
  cancelAll(s);
  const heir = s.dir.pickHeir((valid) => s.ring.pickPeerForTransfer(valid));
  if (heir === UNKNOWN_PEER_NAME) {
    s.log.warn("No peer to hand our IP ranges to; they stay ours until 'rmpeer'");
    return;
  }
  s.ring.transfer(s.ourName, heir);
  s.holds.clear();
  s.space.clear();
  s.log.info(`Handed our IP ranges to ${s.dir.annotate(heir)}`);
  s.persister.markDirty();
  broadcast(s);
  await s.persister.whenDurable();
}
