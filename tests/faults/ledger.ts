/**
 * What a fault campaign was told by the routers, and the checks against what they say later
 * (pure): an address answered to `POST /ip/<id>` is "held" until a `DELETE` of it is answered;
 * a name answered to `PUT /name/...` likewise. A request that got no answer (the router was
 * killed under it) leaves its id "unknown": it may or may not have taken effect, so it is never
 * counted as lost, but what it may own still takes part in the double-ownership check.
 *
 * @module
 */

/** What the campaign knows of one container id. */
export interface Held {
  /** Host (1-based) whose router the id was allocated on. */
  host: number;
  /** The address answered, when known. */
  addr?: string;
  /** Whether a name `<id>.weave.local.` → addr was answered as added. */
  named: boolean;
  /** True when a request for the id went unanswered: its state is not known. */
  unknown: boolean;
}

/** Every id the campaign has asked for, by id. */
export class Ledger {
  readonly #ids = new Map<string, Held>();

  /** All ids with their state (a copy). */
  entries(): [string, Held][] {
    return [...this.#ids].map(([id, h]) => [id, { ...h }]);
  }

  /** Ids of `host` whose address is held (known and answered). */
  heldOn(host: number): string[] {
    return [...this.#ids].filter(([, h]) => h.host === host && h.addr && !h.unknown).map(([id]) =>
      id
    );
  }

  /** Records the answer to `POST /ip/<id>` on `host` (status 0: no answer). */
  allocated(id: string, host: number, status: number, body: string): void {
    const h = this.#ids.get(id) ?? { host, named: false, unknown: false };
    if (status === 200) {
      h.addr = body.trim().split("/")[0];
    } else if (status === 0) h.unknown = true;
    if (h.addr || h.unknown) this.#ids.set(id, h);
  }

  /** Records the answer to `PUT /name/<id>/<addr>`. */
  named(id: string, status: number): void {
    const h = this.#ids.get(id);
    if (!h) return;
    if (status === 204 || status === 200) h.named = true;
    else if (status === 0) h.unknown = true;
  }

  /** Records the answer to `DELETE /name/<id>` then `DELETE /ip/<id>` (either status 0: unknown). */
  released(id: string, nameStatus: number, ipStatus: number): void {
    const h = this.#ids.get(id);
    if (!h) return;
    if (nameStatus === 0 || ipStatus === 0) {
      h.unknown = true;
      return;
    }
    if (nameStatus < 300) h.named = false;
    if (ipStatus < 300) this.#ids.delete(id);
  }

  /** Forgets an unknown id once a router said what it owns now (see {@link settleUnknown}). */
  settle(id: string, addr: string | undefined): void {
    const h = this.#ids.get(id);
    if (!h) return;
    if (addr) Object.assign(h, { addr, unknown: false, named: false });
    else this.#ids.delete(id);
  }
}

/** One owner of an address as a router reports it (`GET /ip` of that host). */
export interface Owner {
  host: number;
  id: string;
  addr: string;
}

/**
 * Held ids whose address the router no longer reports for them: each is an answered address
 * lost. `owned` is every host's `GET /ip` flattened.
 */
export function lostAddresses(ledger: Ledger, owned: readonly Owner[]): string[] {
  const have = new Set(owned.map((o) => `${o.host} ${o.id} ${o.addr}`));
  return ledger.entries()
    .filter(([, h]) => h.addr && !h.unknown)
    .filter(([id, h]) => !have.has(`${h.host} ${id} ${h.addr}`))
    .map(([id, h]) => `${id}@h${h.host}=${h.addr}`);
}

/** Addresses owned by more than one (host, id) across the mesh, each with its owners. */
export function doubleOwned(owned: readonly Owner[]): string[] {
  const by = new Map<string, Set<string>>();
  for (const o of owned) {
    const set = by.get(o.addr) ?? new Set();
    set.add(`${o.id}@h${o.host}`);
    by.set(o.addr, set);
  }
  return [...by].filter(([, s]) => s.size > 1).map(([a, s]) => `${a}: ${[...s].join(", ")}`);
}

/** Parses `GET /ip`'s JSON (`{"owned":[{"containerid","addrs":["10.32.0.1/12"]}]}`) of `host`. */
export function parseOwned(host: number, json: string): Owner[] {
  const doc = JSON.parse(json) as { owned?: { containerid: string; addrs: string[] }[] | null };
  return (doc.owned ?? []).flatMap((o) =>
    o.addrs.map((a) => ({ host, id: o.containerid, addr: a.split("/")[0] }))
  );
}
