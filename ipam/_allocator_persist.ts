/**
 * The allocator's side of its `IpamStore`: what one save writes (the
 * ring and holds whole, only the owned identifiers that changed), and
 * restoring the state at start, or discarding persisted state that belongs
 * to another peer name or another range.
 *
 * @module
 */
import { formatCidr } from "../lib/cidr.ts";
import { cidrRange } from "./address/mod.ts";
import { type AllocatorState, ipText } from "./_allocator_state.ts";
import { Ring } from "./ring/mod.ts";
import { peerText } from "./ring/mod.ts";
import { syncSpace } from "./_space_sync.ts";
import type { IpamState, IpamUpdate } from "./store/mod.ts";

/**
 * What changed since the last save: the ring and holds whole (one entry
 * per range: they grow with the peers), and only the identifiers whose
 * addresses changed — so a save costs the same however many are owned.
 */
function changesToSave(s: AllocatorState): IpamUpdate {
  const full = s.fullSave;
  s.fullSave = false;
  return {
    peerName: s.ourName,
    ring: s.ring.isEmpty() ? undefined : s.ring.toData(),
    holds: new Map([...s.holds].map(([t, h]) => [t, { ...h }])),
    owned: s.owned.takeChanges(full),
    full,
  };
}

/** Saves what changed (captured now); the last saved ring then goes into gossip. */
export function saveState(s: AllocatorState): Promise<void> {
  const update = changesToSave(s);
  return s.store.save(update).then(
    () => {
      s.durableRing = update.ring;
      s.durableSerial++;
    },
    (e: Error) => {
      s.log.error(`Error persisting IPAM data: ${e.message}`);
      throw e;
    },
  );
}

/** Loads the store; true when a ring was restored. */
export async function loadPersisted(s: AllocatorState): Promise<boolean> {
  let state: IpamState | undefined;
  try {
    state = await s.store.load();
  } catch (e) {
    s.log.error((e as Error).message);
    throw e;
  }
  const overwrite = (message: string) => {
    s.log.info(message);
    s.persister.markDirty();
    return false;
  };
  if (!state) return overwrite("No valid persisted data");
  if (state.peerName !== s.ourName) {
    return overwrite(`Deleting persisted data for peername ${peerText(state.peerName)}`);
  }
  const universe = cidrRange(s.universe);
  if (state.ring && (state.ring.start !== universe.start || state.ring.end !== universe.end)) {
    const theirs = `${ipText(state.ring.start)}-${ipText(state.ring.end - 1)}`;
    return overwrite(
      `Deleting persisted data for IPAM range ${theirs}; our range is ${formatCidr(s.universe)}`,
    );
  }
  if (state.ring) {
    try {
      s.ring = Ring.fromData(state.ring, s.ourName);
    } catch (e) {
      const msg = `IPAM state is damaged: ${
        (e as Error).message
      }; move it away or run 'weave reset'`;
      s.log.error(msg);
      throw new Error(msg, { cause: e });
    }
  }
  s.owned.reset(state.owned);
  s.holds = state.holds;
  syncSpace(s);
  s.durableRing = s.ring.isEmpty() ? undefined : s.ring.toData();
  s.durableSerial++;
  if (s.ring.isEmpty()) return overwrite("No valid persisted data");
  return true;
}
