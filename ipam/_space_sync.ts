/**
 * Keeping our {@link Space} in step with the ring and the owned addresses:
 * rebuilt from the ranges the ring gives us (held takeovers left out) plus
 * the addresses handed out; owned addresses added and removed together with
 * their space; free counts written back into our ring entries (Go
 * `reportFreeSpace`). Every change marks the state dirty for the next save.
 *
 * @module
 */
import type { Address } from "./address/mod.ts";
import { type AllocatorState, ipText } from "./_allocator_state.ts";
import { Space } from "./space/mod.ts";
import type { OwnedAddress } from "./store/mod.ts";
import { freeByToken, ownedRangesExcept } from "./_takeover.ts";

/** The state the space is derived from and written to. */
export type SpaceState = Pick<
  AllocatorState,
  | "ring"
  | "space"
  | "owned"
  | "holds"
  | "ourName"
  | "shuttingDown"
  | "started"
  | "persister"
  | "log"
>;

/** Rebuilds our space from the ring (held ranges left out) and the owned addresses. */
export function syncSpace(s: SpaceState): void {
  const space = new Space();
  if (!s.shuttingDown && !s.ring.isEmpty()) {
    space.addRanges(ownedRangesExcept(s.ring.toData(), s.ourName, s.holds));
  }
  for (const [ident, d] of s.owned.entries()) {
    for (const c of d.cidrs) {
      if (!s.ring.contains(c.addr)) continue;
      if (space.isFree(c.addr)) space.claim(c.addr);
      else if (!s.ring.isEmpty()) {
        s.log.warn(`Address ${ipText(c.addr)} of ${ident} is not in a range we own`);
      }
    }
  }
  s.space = space;
}

/** After every action: record free counts in our entries (Go `reportFreeSpace`). */
export function reportFreeSpace(s: SpaceState): void {
  if (s.ring.isEmpty() || s.shuttingDown || !s.started) return;
  const free = freeByToken(
    s.ring.toData(),
    s.ourName,
    s.holds,
    (r) => s.space.numFreeAddressesInRange(r),
  );
  try {
    if (free.size > 0 && s.ring.reportFree(free)) s.persister.markDirty();
  } catch (e) {
    s.log.error(`Cannot report free space: ${(e as Error).message}`);
  }
}

/** Records `cidr` as owned by `ident`. */
export function addOwned(
  s: SpaceState,
  ident: string,
  entry: { cidr: OwnedAddress; isContainer: boolean },
): void {
  s.owned.add(ident, entry.cidr, entry.isContainer);
  s.persister.markDirty();
}

/** Releases `addr` of `ident` back to our space; false when `ident` does not own it. */
export function removeOwned(s: SpaceState, ident: string, addr: Address): boolean {
  if (!s.owned.remove(ident, addr)) return false;
  if (s.space.isAllocated(addr)) s.space.free(addr);
  s.persister.markDirty();
  return true;
}

/** The token of the ring entry whose range holds `addr` (the ring must not be empty). */
export function ownerToken(s: Pick<AllocatorState, "ring">, addr: Address): Address {
  const es = s.ring.entries;
  let token = es[es.length - 1].token;
  for (const e of es) if (e.token <= addr) token = e.token;
  return token;
}
