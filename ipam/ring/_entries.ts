/**
 * The entry list of Weave's IPAM ring (`ipam/ring/ring.go`, `entry.go`) and
 * the two pure algorithms on it that decide interoperability with Go peers:
 * the invariant check every received ring must pass, and the entry-by-entry
 * CRDT merge. Error messages are Go's, word for word, because Go peers show
 * them as the reason a connection failed (`weave status connections`).
 *
 * @module
 */
import { formatIPv4 } from "../../lib/cidr.ts";
import { formatPeerName, type PeerName } from "../../lib/peer_name.ts";
import type { Address, Count, Range } from "../address/mod.ts";

/**
 * One token on the ring: `peer` owns `[token, next token)` (the last entry
 * wraps round to the first). `version` and `free` are uint32 as in Go.
 */
export interface RingEntry {
  token: Address;
  peer: PeerName;
  version: number;
  free: Count;
}

/** Why a ring was refused; `code` lets callers react without parsing text. */
export type RingErrorCode =
  | "not-sorted"
  | "token-repeated"
  | "token-out-of-range"
  | "too-much-free"
  | "different-seeds"
  | "different-range"
  | "entry-in-my-range"
  | "inconsistent-entry"
  | "newer-version"
  | "merge-invalid";

/**
 * A ring that cannot be accepted (invariants, seeds, range or ownership
 * conflicts). The message is the text Go's weaver uses for the same case.
 */
export class RingError extends Error {
  /** Machine-readable reason. */
  readonly code: RingErrorCode;

  constructor(code: RingErrorCode, message: string) {
    super(message);
    this.name = "RingError";
    this.code = code;
  }
}

/**
 * A peer name as Go prints it; names beyond 48 bits (legal on the wire,
 * never issued) fall back to plain hex instead of failing.
 */
export function peerText(name: PeerName): string {
  return name >= 0n && name < 1n << 48n ? formatPeerName(name) : `0x${name.toString(16)}`;
}

/** Says whether the local allocator holds any address inside these ranges. */
export type HasAllocations = (ranges: Range[]) => boolean;

/** The entry at index `i`, wrapping round both ways (Go `entries.entry`). */
export function entryAt<T>(entries: readonly T[], i: number): T {
  const n = entries.length;
  return entries[((i % n) + n) % n];
}

/** Distance from `start` to `end` on the ring `[range.start, range.end)`, wrapping at the end. */
export function ringDistance(range: Range, start: Address, end: Address): Count {
  if (end > start) return end - start;
  return range.end - start + (end - range.start);
}

/**
 * Fixes a list of ordered ranges whose last one may run past the ring's end
 * (Go `splitRangesOverZero`): an end equal to the ring start becomes the ring
 * end, and a wrapping range is split in two, the part from the ring start
 * going first.
 */
export function splitRangesOverZero(ranges: Range[], ring: Range): Range[] {
  if (ranges.length === 0) return ranges;
  const last = ranges[ranges.length - 1];
  if (last.end === ring.start) {
    last.end = ring.end;
  } else if (last.end <= last.start) {
    return [{ start: ring.start, end: last.end }, ...ranges.slice(0, -1), {
      start: last.start,
      end: ring.end,
    }];
  }
  return ranges;
}

/**
 * Checks the ring invariants over `range` (Go `checkEntries`): sorted,
 * no token twice, every token in range, no entry claiming more free
 * addresses than it spans. Returns the refusal, or undefined when valid.
 */
export function checkEntries(entries: readonly RingEntry[], range: Range): RingError | undefined {
  for (let i = 1; i < entries.length; i++) {
    if (entries[i].token < entries[i - 1].token) {
      return new RingError("not-sorted", "Ring not sorted");
    }
  }
  for (let i = 1; i < entries.length; i++) {
    if (entries[i].token === entries[i - 1].token) {
      return new RingError("token-repeated", "Token appears twice in ring");
    }
  }
  if (entries.length === 0) return undefined;
  if (entries[0].token < range.start || entries[entries.length - 1].token >= range.end) {
    return new RingError("token-out-of-range", "Token is out of range");
  }
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    const next = entryAt(entries, i + 1);
    const distance = ringDistance(range, entry.token, next.token);
    if (entry.free > distance) {
      return new RingError(
        "too-much-free",
        `Entry ${formatIPv4(entry.token)}-${
          formatIPv4(next.token)
        } reporting too much free space: ` +
          `${entry.free} > ${distance}`,
      );
    }
  }
  return undefined;
}

/** Inputs of {@link mergeEntries} besides the two lists. */
export interface MergeContext {
  /** The local peer: entries it owns are protected. */
  ourPeer: PeerName;
  /** The ring's address range. */
  range: Range;
  hasAllocations: HasAllocations;
}

/** The merged list and whether it differs from ours because something of theirs was taken. */
export interface MergeResult {
  entries: RingEntry[];
  updated: boolean;
}

/**
 * Merges their entries into ours in token order (Go `entries.merge`); the
 * inputs are not modified. Rules, per token:
 * - only theirs: take it, unless it splits a range we own and the split-off
 *   part holds allocations ("says it owns the IP range from …");
 * - same token, their version higher: take theirs, except on our own entry,
 *   where we take theirs only if it names another peer and the range holds
 *   no allocations ("repair"), keep ours as version theirs+1 if it names us,
 *   and otherwise refuse;
 * - same version but another owner: refuse if it is our entry with
 *   allocations, else keep the one with more free addresses (ours on ties);
 * - their version lower (or equal and same owner): keep ours.
 *
 * As in Go, keeping ours at version theirs+1 does not count as an update.
 */
export function mergeEntries(
  mine: readonly RingEntry[],
  theirs: readonly RingEntry[],
  ctx: MergeContext,
): MergeResult {
  const result: RingEntry[] = [];
  let updated = false;
  let previousOwner: PeerName | undefined;
  const keepMine = (e: RingEntry) => {
    result.push({ ...e });
    previousOwner = e.peer;
  };
  const takeTheirs = (e: RingEntry) => {
    result.push({ ...e });
    updated = true;
    previousOwner = undefined;
  };
  const ranges = (start: Address, end: Address) => splitRangesOverZero([{ start, end }], ctx.range);
  const splitsOurs = (e: RingEntry) => previousOwner === ctx.ourPeer && e.peer !== ctx.ourPeer;

  let i = 0;
  let j = 0;
  while (i < mine.length && j < theirs.length) {
    const m = mine[i];
    const t = theirs[j];
    if (m.token < t.token) {
      keepMine(m);
      i++;
      continue;
    }
    if (m.token > t.token) {
      if (splitsOurs(t) && ctx.hasAllocations(ranges(t.token, m.token))) throw entryInMyRange(t);
      takeTheirs(t);
      j++;
      continue;
    }
    const nextToken = entryAt(mine, i + 1).token;
    if (m.version >= t.version) {
      if (m.version === t.version && m.peer !== t.peer) {
        if (m.peer === ctx.ourPeer && ctx.hasAllocations(ranges(t.token, nextToken))) {
          throw new RingError(
            "inconsistent-entry",
            `Inconsistent entries for ${formatIPv4(m.token)}: owned by ${
              peerText(m.peer)
            } but incoming message says ${peerText(t.peer)}`,
          );
        }
        if (m.free >= t.free) keepMine(m);
        else takeTheirs(t);
      } else {
        keepMine(m);
      }
    } else if (m.peer !== ctx.ourPeer) {
      takeTheirs(t);
    } else if (t.peer !== ctx.ourPeer && !ctx.hasAllocations(ranges(m.token, nextToken))) {
      takeTheirs(t);
    } else if (t.peer === ctx.ourPeer) {
      // Keep our entry but outbid theirs, so that ours wins everywhere. Go
      // records this in place without reporting an update; so do we.
      result.push({ ...m, version: (t.version + 1) >>> 0 });
    } else {
      throw new RingError(
        "newer-version",
        `Received update for IP range I own at ${formatIPv4(m.token)} v${m.version}: ` +
          `incoming message says owner ${peerText(t.peer)} v${t.version}`,
      );
    }
    i++;
    j++;
  }
  for (; i < mine.length; i++) result.push({ ...mine[i] });
  for (; j < theirs.length; j++) {
    if (splitsOurs(theirs[j])) throw entryInMyRange(theirs[j]);
    takeTheirs(theirs[j]);
  }
  return { entries: result, updated };
}

function entryInMyRange(theirs: RingEntry): RingError {
  return new RingError(
    "entry-in-my-range",
    `Peer ${peerText(theirs.peer)} says it owns the IP range from ${
      formatIPv4(theirs.token)
    }, which I think I own`,
  );
}
