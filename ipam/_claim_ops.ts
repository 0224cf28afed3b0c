/**
 * Claims of a given address (`ip:<cidr>`, `PUT /ip/<id>/<ip>`): outside the
 * ring it is simply recorded; in a range of ours it is taken from our space
 * unless another identifier holds it; in another peer's range that peer is
 * asked for it and the call waits, until the peer gives it or denies it
 * ("owned by other peer"); a peer not reachable yet is waited for up to
 * {@link CLAIM_UNREACHABLE_GRACE_MS} (Weave denies at once). While the ring is not there yet the claim fails,
 * or, for a restored container, waits.
 *
 * @module
 */
import { formatCidr } from "../lib/cidr.ts";
import { type PeerName, UNKNOWN_PEER_NAME } from "../lib/peer_name.ts";
import type { Range } from "./address/mod.ts";
import { type AllocatorState, ipText } from "./_allocator_state.ts";
import type { ClaimOp } from "./_ops.ts";
import { establishRing } from "./_ring_seed.ts";
import { peerText } from "./ring/mod.ts";
import { answerWhenDurable, sendSpaceRequest } from "./_sending.ts";
import { addOwned, ownerToken } from "./_space_sync.ts";

/**
 * How long a claim of an address owned by a peer we cannot reach waits for it to become
 * reachable before it fails with "owned by other peer" (two IPAM ticks).
 */
export const CLAIM_UNREACHABLE_GRACE_MS = 10_000;

/** Tries a waiting claim; true when it is finished (succeeded or failed). */
export function tryClaim(s: AllocatorState, op: ClaimOp): boolean {
  const addr = op.cidr.addr;
  if (!s.ring.contains(addr)) {
    s.log.info(`Address ${ipText(addr)} claimed by ${op.ident} - not in our range`);
    addOwned(s, op.ident, { cidr: op.cidr, isContainer: op.isContainer });
    answerWhenDurable(s, op.done, { value: undefined, ident: op.ident });
    return true;
  }
  establishRing(s);
  const owner = s.ring.owner(addr);
  if (owner === UNKNOWN_PEER_NAME) {
    if (!op.noErrorOnUnknown) {
      op.done.reject(
        new Error(
          `${ipText(addr)} is in the range ${formatCidr(s.universe)}, ` +
            "but the allocator is not initialized yet",
        ),
      );
      return true;
    }
    s.log.info(
      `Claim ${
        ipText(addr)
      } for ${op.ident}: address allocator still initializing; will try later.`,
    );
    op.done.resolve();
    return false;
  }
  if (owner !== s.ourName) {
    if (s.dir.isKnown(owner)) {
      s.log.debug(`requesting address ${ipText(addr)} from other peer ${peerText(owner)}`);
      sendSpaceRequest(s, owner, { start: addr, end: addr + 1 });
      return false;
    }
    if (op.noErrorOnUnknown) {
      op.done.resolve();
      return false;
    }
    // Weave denies at once; a peer that cannot be reached *yet* (its topology still on the way,
    // as right after launch behind another peer) gets a grace period, retried every tick.
    op.unreachableSince ??= s.clock();
    if (s.clock() - op.unreachableSince < CLAIM_UNREACHABLE_GRACE_MS) return false;
    deniedBy(s, op, owner);
    return true;
  }
  if (s.holds.has(ownerToken(s, addr))) return false;
  return claimOurs(s, op);
}

/** Claims an address in a range of ours. */
function claimOurs(s: AllocatorState, op: ClaimOp): boolean {
  const addr = op.cidr.addr;
  const existing = s.owned.owner(addr);
  if (existing === undefined) {
    try {
      s.space.claim(addr);
    } catch (e) {
      op.done.reject(e as Error);
      return true;
    }
    const ident = op.ident === "_" ? ipText(addr) : op.ident;
    s.log.debug(`Claimed ${ipText(addr)} for ${ident}`);
    addOwned(s, ident, { cidr: op.cidr, isContainer: op.isContainer });
    answerWhenDurable(s, op.done, { value: undefined, ident: op.ident });
  } else if (existing === op.ident) {
    op.done.resolve();
  } else if (existing === ipText(addr)) {
    op.done.reject(new Error(`address ${ipText(addr)} already in use`));
  } else {
    op.done.reject(new Error(`address ${ipText(addr)} is already owned by ${existing}`));
  }
  return true;
}

/** Fails a claim because `owner` owns its address. */
function deniedBy(s: AllocatorState, op: ClaimOp, owner: PeerName): void {
  const nick = s.dir.nicknames.get(owner);
  op.done.reject(
    new Error(
      `address ${ipText(op.cidr.addr)} is owned by other peer ${peerText(owner)}${
        nick === undefined ? "" : ` (${nick})`
      }`,
    ),
  );
}

/**
 * `sender` refused space in `range`: fails the waiting claims of addresses in it that `sender`
 * still owns in our ring. A claim whose address has meanwhile moved to another peer (our ring
 * learnt it, e.g. from the ring the sender sent just before) stays, asking the new owner.
 */
export function claimsDenied(s: AllocatorState, sender: PeerName, range: Range): void {
  for (const op of [...s.claims]) {
    const addr = op.cidr.addr;
    if (addr < range.start || addr >= range.end) continue;
    if (s.ring.contains(addr) && s.ring.owner(addr) !== sender) {
      s.log.debug(`${ipText(addr)} moved on from ${peerText(sender)}; asking its new owner`);
      if (tryClaim(s, op)) s.claims.splice(s.claims.indexOf(op), 1);
      continue;
    }
    s.claims.splice(s.claims.indexOf(op), 1);
    deniedBy(s, op, sender);
  }
}
