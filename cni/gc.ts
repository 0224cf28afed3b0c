/**
 * GC (SPEC.md 1.1.0): release the addresses held for attachments the runtime
 * no longer knows. The router's `GET /ip` lists every owner, also those that
 * are not pods: `weave:expose` (the bridge), and containers of `weave attach`
 * (a netns name, `pid:<n>` or a path). Those are never released here.
 *
 * @module
 */
import type { Attachment } from "./config.ts";
import type { Owned } from "./router_ipam.ts";

/**
 * The owners to release: those not among `valid` and not kept by `keep`.
 *
 * @example
 * ```ts
 * import { gcCandidates } from "./gc.ts";
 * const owned = [{ containerid: "a1", addrs: [] }, { containerid: "b2", addrs: [] }];
 * gcCandidates(owned, [{ containerID: "a1", ifname: "eth0" }], () => false); // ["b2"]
 * ```
 */
export function gcCandidates(
  owned: readonly Owned[],
  valid: readonly Attachment[],
  keep: (id: string) => boolean,
): string[] {
  const live = new Set(valid.map((a) => a.containerID));
  const out = new Set<string>();
  for (const o of owned) {
    const id = o.containerid;
    if (live.has(id) || isWeaveOwner(id) || keep(id)) continue;
    out.add(id);
  }
  return [...out].sort();
}

/** Owners that are Weave's own or `weave attach`'s by their form, never a CNI container id. */
export function isWeaveOwner(id: string): boolean {
  return id.startsWith("weave:") || id.startsWith("pid:") || id.startsWith("/") || id === "";
}

/**
 * The real `keep`: a named network namespace of that name exists (a container
 * of `weave attach <name>`).
 */
export function namedNetnsExists(id: string): boolean {
  if (!/^[A-Za-z0-9_.\-]+$/.test(id)) return false;
  try {
    Deno.statSync(`/run/netns/${id}`);
    return true;
  } catch {
    return false;
  }
}
