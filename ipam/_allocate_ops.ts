/**
 * Allocation (`POST /ip/<id>`) and release: hand out the lowest free address
 * of a subnet from our space, or ask a reachable peer that owns space there
 * for some and let the call wait; free one address or all of an
 * identifier's. Answers wait until the allocation is saved.
 *
 * @module
 */
import { formatCidr } from "../lib/cidr.ts";
import { type Address, cidrRange, hostRange, type Range } from "./address.ts";
import { type AllocatorState, ipText } from "./_allocator_state.ts";
import type { AllocateOp } from "./_ops.ts";
import { establishRing } from "./_ring_seed.ts";
import { peerText } from "./ring_entries.ts";
import { answerWhenDurable, sendSpaceRequest } from "./_sending.ts";
import { addOwned, removeOwned, reportFreeSpace } from "./_space_sync.ts";

/** Tries a waiting allocation; true when it is finished (succeeded or failed). */
export function tryAllocate(s: AllocatorState, op: AllocateOp): boolean {
  const subnet = cidrRange(op.subnet);
  const existing = s.owned.get(op.ident)?.cidrs.find((c) =>
    c.addr >= subnet.start && c.addr < subnet.end
  );
  if (existing) {
    answerWhenDurable(s, op.done, { value: { ...existing }, ident: op.ident });
    return true;
  }
  const universe = cidrRange(s.universe);
  if (subnet.start >= universe.end || subnet.end <= universe.start) {
    op.done.reject(
      new RangeError(
        `range ${formatCidr(op.subnet)} out of bounds: ${formatCidr(s.universe)}`,
      ),
    );
    return true;
  }
  establishRing(s);
  if (s.ring.isEmpty()) return false;
  const addr = s.space.allocate(hostRange(op.subnet));
  if (addr !== undefined) {
    // Ident "_" (the Docker plugin's) files the address under itself, as Weave does, so
    // that `DELETE /ip/<address>` releases it.
    const ident = op.ident === "_" ? ipText(addr) : op.ident;
    s.log.debug(`Allocated ${ipText(addr)} for ${ident} in ${formatCidr(op.subnet)}`);
    const result = { addr, prefix: op.subnet.prefix };
    addOwned(s, ident, { cidr: result, isContainer: op.isContainer });
    answerWhenDurable(s, op.done, { value: result, ident });
    return true;
  }
  askForSpace(s, subnet);
  return false;
}

/** Asks one reachable peer owning space in `r` for some, once per donor and range per pass. */
export function askForSpace(s: AllocatorState, r: Range): void {
  const ring = s.ring.range();
  const start = Math.max(r.start, ring.start);
  const end = Math.min(r.end, ring.end);
  const donors = s.ring.choosePeersToAskForSpace(start, end, s.random);
  const donor = donors.find((d) => s.dir.isKnown(d));
  if (donor === undefined) {
    s.log.debug(`No reachable peer to ask for space in ${ipText(start)}-${ipText(end - 1)}`);
    return;
  }
  // One request per donor and range per pass: many waiting calls need the same space.
  const key = `${donor}/${start}/${end}`;
  if (s.asked.has(key)) return;
  s.asked.add(key);
  s.log.debug(
    `Decided to ask peer ${peerText(donor)} for space in range ${ipText(start)}-${ipText(end - 1)}`,
  );
  sendSpaceRequest(s, donor, { start, end });
}

/** Releases one address of `ident` (`DELETE /ip/<id>/<ip>`); resolves once saved. */
export async function freeAddress(s: AllocatorState, ident: string, addr: Address): Promise<void> {
  if (!removeOwned(s, ident, addr)) {
    throw new Error(`Free: address ${ipText(addr)} not found for ${ident}`);
  }
  s.log.debug(`Freed ${ipText(addr)} for ${ident}`);
  reportFreeSpace(s);
  await s.persister.whenDurable();
}

/** Releases every address of `ident` (`DELETE /ip/<id>`); resolves once saved. */
export async function deleteIdent(s: AllocatorState, ident: string): Promise<void> {
  const d = s.owned.get(ident);
  if (!d || d.cidrs.length === 0) throw new Error(`Delete: no addresses for ${ident}`);
  for (const c of [...d.cidrs]) removeOwned(s, ident, c.addr);
  reportFreeSpace(s);
  await s.persister.whenDurable();
}
