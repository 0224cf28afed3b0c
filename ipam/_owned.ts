/**
 * The addresses handed out on this peer, per identifier (Go `owned`), with
 * what persistence needs to stay cheap: an index from address to identifier
 * (so a claim does not scan every identifier) and the set of identifiers
 * changed since the last save (so a save writes only those, whatever the
 * number of addresses owned).
 *
 * @module
 */
import type { Address } from "./address/mod.ts";
import type { OwnedAddress, OwnedData } from "./store/mod.ts";

/**
 * Owned addresses with change tracking.
 *
 * @example
 * ```ts
 * import { OwnedBook } from "./_owned.ts";
 * const book = new OwnedBook();
 * book.add("c1", { addr: 0x0a200001, prefix: 12 }, true);
 * book.owner(0x0a200001); // "c1"
 * book.takeChanges(false).get("c1")?.cidrs.length; // 1
 * ```
 */
export class OwnedBook {
  #byIdent = new Map<string, OwnedData>();
  #byAddr = new Map<Address, string>();
  #changed = new Set<string>();

  /** Replaces everything (after loading); nothing counts as changed. */
  reset(owned: Map<string, OwnedData>): void {
    this.#byIdent = new Map();
    this.#byAddr = new Map();
    this.#changed.clear();
    for (const [ident, d] of owned) {
      this.#byIdent.set(ident, {
        isContainer: d.isContainer,
        cidrs: d.cidrs.map((c) => ({ ...c })),
      });
      for (const c of d.cidrs) this.#byAddr.set(c.addr, ident);
    }
  }

  /** Records `cidr` for `ident`. */
  add(ident: string, cidr: OwnedAddress, isContainer: boolean): void {
    const d = this.#byIdent.get(ident) ?? { isContainer, cidrs: [] };
    d.isContainer = isContainer;
    d.cidrs.push({ ...cidr });
    this.#byIdent.set(ident, d);
    this.#byAddr.set(cidr.addr, ident);
    this.#changed.add(ident);
  }

  /** Forgets `addr` of `ident`; false when `ident` does not own it. */
  remove(ident: string, addr: Address): boolean {
    const d = this.#byIdent.get(ident);
    const i = d ? d.cidrs.findIndex((c) => c.addr === addr) : -1;
    if (!d || i === -1) return false;
    d.cidrs.splice(i, 1);
    if (d.cidrs.length === 0) this.#byIdent.delete(ident);
    if (this.#byAddr.get(addr) === ident) this.#byAddr.delete(addr);
    this.#changed.add(ident);
    return true;
  }

  /** What `ident` owns (the live object: do not change it). */
  get(ident: string): Readonly<OwnedData> | undefined {
    return this.#byIdent.get(ident);
  }

  /** The identifier owning `addr`, if any. */
  owner(addr: Address): string | undefined {
    return this.#byAddr.get(addr);
  }

  /** Every identifier with its data (live objects: do not change them). */
  entries(): IterableIterator<[string, Readonly<OwnedData>]> {
    return this.#byIdent.entries();
  }

  /**
   * Copies of what changed since the last call (`null`: the identifier owns
   * nothing now), or of everything when `all`; clears the change set.
   */
  takeChanges(all: boolean): Map<string, OwnedData | null> {
    const idents = all ? this.#byIdent.keys() : this.#changed.values();
    const out = new Map<string, OwnedData | null>();
    for (const ident of idents) {
      const d = this.#byIdent.get(ident);
      out.set(
        ident,
        d ? { isContainer: d.isContainer, cidrs: d.cidrs.map((c) => ({ ...c })) } : null,
      );
    }
    this.#changed.clear();
    return out;
  }
}
