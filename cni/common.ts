/**
 * STATUS and GC, the same for `weave-net` and `weave-ipam` (SPEC.md 1.1.0):
 * STATUS says whether ADD could succeed now (the router answers and its IPAM
 * is ready or idle, else code 50 with the reason); GC releases the addresses of
 * attachments not in `cni.dev/valid-attachments` (see `gc.ts`), and removes
 * the interface of such a pod when it is still recorded (`records.ts`).
 *
 * @module
 */
import { parseNetConf } from "./config.ts";
import type { CommandOutput, Invocation, PluginDeps } from "./deps.ts";
import { CniCode, CniError } from "./errors.ts";
import { gcCandidates } from "./gc.ts";
import { requireCommandIn } from "./version.ts";

/** STATUS: nothing on success; code 50 with the reason otherwise. */
export async function statusCommand(inv: Invocation, deps: PluginDeps): Promise<CommandOutput> {
  const conf = parseNetConf(inv.stdin);
  requireCommandIn("STATUS", conf.cniVersion);
  if (conf.ipam.type) {
    await deps.delegate(conf.ipam.type, "STATUS", inv.stdin, inv.args);
    return undefined;
  }
  let status: string | undefined;
  try {
    status = await deps.ipam.status();
  } catch (e) {
    const reason = e instanceof CniError && e.code === CniCode.TryAgainLater
      ? "router not running"
      : (e as Error).message;
    throw new CniError(CniCode.NotAvailable, `Cannot add pods now: ${reason}`, {
      cause: e,
      details: (e as Error).message,
    });
  }
  if (status === undefined) {
    throw new CniError(
      CniCode.NotAvailable,
      "Cannot add pods now: the router runs without IPAM (no --ipalloc-range)",
    );
  }
  // "idle": no allocation asked for yet; the first ADD starts the ring (as `weave prime` does).
  if (status !== "ready" && status !== "idle") {
    throw new CniError(CniCode.NotAvailable, `Cannot add pods now: IPAM is ${status}`);
  }
  return undefined;
}

/** GC: releases what is held for attachments the runtime no longer lists. */
export async function gcCommand(inv: Invocation, deps: PluginDeps): Promise<CommandOutput> {
  const conf = parseNetConf(inv.stdin);
  requireCommandIn("GC", conf.cniVersion);
  if (conf.ipam.type) {
    await deps.delegate(conf.ipam.type, "GC", inv.stdin, inv.args);
    return undefined;
  }
  const owned = await deps.ipam.owned();
  const keep = deps.keepOwner ?? (() => false);
  const records = deps.records?.list() ?? [];
  for (const id of gcCandidates(owned, conf.validAttachments ?? [], keep)) {
    // A pod still recorded here (its runtime forgot it) loses its interface too.
    const rec = records.find((r) => r.containerId === id);
    if (rec) {
      deps.plumbing().teardownPod(rec);
      deps.records?.remove(id);
    }
    await deps.ipam.release(id);
  }
  return undefined;
}
