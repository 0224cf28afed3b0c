/**
 * The local peer's address space, after Weave's `ipam/space`: which
 * addresses it owns and which of those are free. Both sets are kept as sorted
 * boundary lists — even positions start a run (inclusive), odd positions end
 * it (exclusive) — with neighbouring runs coalesced, so membership is a
 * binary search and the lists stay short however many addresses are handed
 * out. `allocated` holds the addresses given to containers, `free` those
 * still available; together they are everything this peer owns.
 *
 * Pure and synchronous; the allocator owns one instance and keeps it in step
 * with the ring's {@link Ring.ownedRanges}.
 *
 * @module
 */
import { formatIPv4 } from "../../lib/cidr.ts";
import {
  type Address,
  biggestCidrRange,
  type Count,
  newRange,
  type Range,
  rangeSize,
} from "../address/mod.ts";

/** Index of the first boundary greater than `x` (or `>= x` when `orEqual`). */
function search(list: readonly Address[], x: Address, orEqual: boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (orEqual ? list[mid] >= x : list[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Whether the boundary list covers `addr`. */
function covers(list: readonly Address[], addr: Address): boolean {
  return (search(list, addr, false) & 1) !== 0;
}

/** Union (sense 0) or difference (sense 1) of a boundary list with `[start, end)`. */
function addSub(list: readonly Address[], start: Address, end: Address, sense: 0 | 1): Address[] {
  const startPos = search(list, start, true);
  const endPos = startPos + search(list.slice(startPos), end, false);
  const out = list.slice(0, startPos);
  if ((startPos & 1) === sense) out.push(start);
  if ((endPos & 1) === sense) out.push(end);
  return out.concat(list.slice(endPos));
}

function union(list: readonly Address[], start: Address, end: Address): Address[] {
  return start < end ? addSub(list, start, end, 0) : [...list];
}

function subtract(list: readonly Address[], start: Address, end: Address): Address[] {
  return start < end ? addSub(list, start, end, 1) : [...list];
}

function toRanges(list: readonly Address[]): Range[] {
  const out: Range[] = [];
  for (let i = 0; i < list.length; i += 2) out.push({ start: list[i], end: list[i + 1] });
  return out;
}

/**
 * Owned and free addresses of the local peer.
 *
 * @example
 * ```ts
 * import { Space } from "./space.ts";
 * const s = new Space();
 * s.add(0x0a200000, 256);
 * s.allocate({ start: 0x0a200001, end: 0x0a2000ff }); // 0x0a200001
 * s.numFreeAddresses(); // 255
 * ```
 */
export class Space {
  #allocated: Address[] = [];
  #free: Address[] = [];

  /** Adds `[start, start+size)` as free space (already-owned parts are unaffected). */
  add(start: Address, size: Count): void {
    this.#free = union(this.#free, start, start + size);
  }

  /** Adds every range as free space (Go `AddRanges`). */
  addRanges(ranges: readonly Range[]): void {
    for (const r of ranges) this.#free = union(this.#free, r.start, r.end);
  }

  /**
   * Makes `ranges` the space we own: any part not yet known (allocated or
   * free) becomes free, as Go's `UpdateRanges`; nothing is removed.
   */
  updateRanges(ranges: readonly Range[]): void {
    let fresh: Address[] = [];
    for (const r of ranges) fresh = union(fresh, r.start, r.end);
    for (const r of this.ownedRanges()) fresh = subtract(fresh, r.start, r.end);
    for (const r of toRanges(fresh)) this.#free = union(this.#free, r.start, r.end);
  }

  /** Forgets everything (used at shutdown, after a transfer to an heir). */
  clear(): void {
    this.#allocated = [];
    this.#free = [];
  }

  /** Calls `f` on each free run clipped to `r`, in address order, until it returns true. */
  #walkFree(r: Range, f: (chunk: Range) => boolean): boolean {
    if (r.start >= r.end) return false;
    for (let i = 0; i < this.#free.length; i += 2) {
      const start = Math.max(this.#free[i], r.start);
      const end = Math.min(this.#free[i + 1], r.end);
      if (this.#free[i + 1] <= r.start) continue;
      if (this.#free[i] >= r.end) break;
      if (f({ start, end })) return true;
    }
    return false;
  }

  /**
   * Takes the lowest free address inside `r` and marks it allocated; returns
   * undefined when `r` holds no free address. Callers pass a subnet's
   * {@link hostRange} so that network and broadcast addresses are never given.
   */
  allocate(r: Range): Address | undefined {
    let result: Address | undefined;
    this.#walkFree(r, (chunk) => {
      result = chunk.start;
      return true;
    });
    if (result !== undefined) this.#take(result, result + 1);
    return result;
  }

  /** Marks a specific free address allocated; throws if it is not free here. */
  claim(addr: Address): void {
    if (!covers(this.#free, addr)) {
      throw new Error(`Cannot claim address ${formatIPv4(addr)}: it is not free in this space`);
    }
    this.#take(addr, addr + 1);
  }

  /** Returns an allocated address to the free set; throws if it was not allocated here. */
  free(addr: Address): void {
    if (!covers(this.#allocated, addr)) {
      throw new Error(`Cannot free address ${formatIPv4(addr)}: it is not allocated here`);
    }
    if (covers(this.#free, addr)) {
      throw new Error(`Cannot free address ${formatIPv4(addr)}: it is already free`);
    }
    this.#allocated = subtract(this.#allocated, addr, addr + 1);
    this.#free = union(this.#free, addr, addr + 1);
  }

  #take(start: Address, end: Address): void {
    this.#allocated = union(this.#allocated, start, end);
    this.#free = subtract(this.#free, start, end);
  }

  /** Whether `addr` is allocated here. */
  isAllocated(addr: Address): boolean {
    return covers(this.#allocated, addr);
  }

  /** Whether `addr` is free here. */
  isFree(addr: Address): boolean {
    return covers(this.#free, addr);
  }

  /** Whether any address inside any of `ranges` is allocated (the ring's `hasAllocations`). */
  hasAllocationsIn(ranges: readonly Range[]): boolean {
    return ranges.some((r) =>
      toRanges(this.#allocated).some((a) => a.start < r.end && a.end > r.start)
    );
  }

  /** Number of allocated addresses. */
  numAllocatedAddresses(): Count {
    return toRanges(this.#allocated).reduce((n, r) => n + rangeSize(r), 0);
  }

  /** Number of free addresses. */
  numFreeAddresses(): Count {
    return toRanges(this.#free).reduce((n, r) => n + rangeSize(r), 0);
  }

  /** Number of free addresses inside `r`. */
  numFreeAddressesInRange(r: Range): Count {
    let n = 0;
    this.#walkFree(r, (chunk) => {
      n += rangeSize(chunk);
      return false;
    });
    return n;
  }

  /**
   * The biggest CIDR-aligned free block inside `r` (the later one on ties),
   * as Go's `biggestFreeRange`; an empty range at 0 when nothing is free.
   */
  biggestFreeRange(r: Range): Range {
    let biggest: Range = { start: 0, end: 0 };
    let biggestSize = 0;
    this.#walkFree(r, (chunk) => {
      if (rangeSize(chunk) >= biggestSize) {
        const block = biggestCidrRange(chunk);
        if (rangeSize(block) >= biggestSize) {
          biggest = block;
          biggestSize = rangeSize(block);
        }
      }
      return false;
    });
    return biggest;
  }

  /**
   * Gives away free space inside `r` (Go `Donate`): the biggest aligned free
   * block, or its upper half when the block is more than half of our free
   * space in `r`. The block leaves this space; returns undefined when
   * nothing in `r` is free.
   */
  donate(r: Range): Range | undefined {
    const block = this.biggestFreeRange(r);
    const size = rangeSize(block);
    if (size === 0) return undefined;
    const given = size > Math.floor(this.numFreeAddressesInRange(r) / 2)
      ? newRange(block.start + Math.floor(size / 2), size - Math.floor(size / 2))
      : block;
    this.#allocated = subtract(this.#allocated, given.start, given.end);
    this.#free = subtract(this.#free, given.start, given.end);
    return given;
  }

  /** Everything owned (allocated or free), as coalesced ranges in address order. */
  ownedRanges(): Range[] {
    let all = [...this.#allocated];
    for (const r of toRanges(this.#free)) all = union(all, r.start, r.end);
    return toRanges(all);
  }

  /** The free runs, in address order. */
  freeRanges(): Range[] {
    return toRanges(this.#free);
  }

  /** The allocated runs, in address order. */
  allocatedRanges(): Range[] {
    return toRanges(this.#allocated);
  }
}
