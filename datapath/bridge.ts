/**
 * The `weave` bridge: the host-side switch every attached container's veth and the exposed host
 * address sit on.
 *
 * {@link ensureBridge} is safe to repeat, like flannel's `ensureLink`: a bridge left by an earlier
 * run is adopted and repaired (MTU, up state) instead of demanding `weave reset`, and a link of
 * another kind squatting on the name is replaced. The bridge gets an explicit random MAC when it
 * is created, so the kernel never re-derives it from its ports (a bridge with a kernel-assigned
 * MAC takes the lowest port MAC, which changes as containers come and go). No dummy interface is
 * needed for the MTU: a Linux bridge accepts any MTU set on it directly.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import {
  deleteLink,
  findLink,
  type LinkInfo,
  linkMessage,
  listLinks,
  type Netlink,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NotFoundError,
  RTM_NEWLINK,
  setLinkUp,
  setMtu,
} from "../sys/mod.ts";

/** Weave's bridge name. */
export const DEFAULT_BRIDGE = "weave";
/** Weave's default datapath MTU (`--mtu`, `WEAVE_MTU`). */
export const DEFAULT_MTU = 1376;
/** Prefix of every link weave creates on the host (Weave's `vethwe*`), removed by `weave reset`. */
export const WEAVE_LINK_PREFIX = "vethwe";

/** Options of {@link ensureBridge}. */
export interface BridgeOptions {
  /** Bridge name, default {@link DEFAULT_BRIDGE}. */
  name?: string;
  /** MTU, default {@link DEFAULT_MTU}. */
  mtu?: number;
  /** Where repairs and replacements are reported (they also come back in the result). */
  log?: Logger;
}

/** What {@link ensureBridge} found and did. */
export interface BridgeState {
  index: number;
  /** The bridge's MAC (`weave:expose` in `weave ps`). */
  mac: string;
  /** True when the bridge was created (also when it replaced a link of another kind). */
  created: boolean;
  /** Human-readable repairs made to what existed, e.g. `MTU 1500 -> 1376` or a replacement. */
  repaired: string[];
}

/**
 * Makes sure bridge `name` exists with `mtu` and is up: adopts a compatible bridge (repairing
 * MTU and up state), replaces a link of another kind, creates it when absent.
 *
 * @example
 * ```ts ignore
 * const br = ensureBridge(nl, { mtu: 1376 }); // { index: 7, mac: "7a:…", created: true, repaired: [] }
 * ensureBridge(nl, { mtu: 1376 }).created; // false, nothing repaired
 * ```
 */
export function ensureBridge(nl: Netlink, options: BridgeOptions = {}): BridgeState {
  const name = options.name ?? DEFAULT_BRIDGE;
  const mtu = options.mtu ?? DEFAULT_MTU;
  checkMtu(mtu);
  const repaired: string[] = [];
  let link = findLink(nl, name);
  if (link && link.kind !== "bridge") {
    const note = `replaced ${link.kind ?? "unknown"} link "${name}" with a bridge`;
    options.log?.warn(`Bridge "${name}": ${note}`);
    deleteLink(nl, link.index);
    repaired.push(note);
    link = undefined;
  }
  const created = link === undefined;
  if (!link) {
    createBridge(nl, name, mtu);
    link = requireLink(nl, name);
  }
  if (link.mtu !== mtu) {
    setMtu(nl, link.index, mtu);
    if (!created) repaired.push(`MTU ${link.mtu} -> ${mtu}`);
  } else if (created) {
    pinMtu(nl, link.index, mtu);
  }
  if (!link.up) {
    setLinkUp(nl, link.index);
    if (!created) repaired.push("brought up");
  }
  if (!created) { for (const r of repaired) options.log?.info(`Bridge "${name}": repaired: ${r}`); }
  if (created) options.log?.info(`Bridge "${name}": created (MTU ${mtu})`);
  return { index: link.index, mac: link.address ?? "", created, repaired };
}

/**
 * Removes bridge `name` and every host link named `vethwe*` (the container veths, whose
 * container ends go with them), as `weave reset` does. What is already gone is skipped. Returns
 * the names removed.
 *
 * @example
 * ```ts ignore
 * removeBridge(nl); // ["weave", "vethwepl1a2b3c4"]
 * ```
 */
export function removeBridge(nl: Netlink, options: { name?: string } = {}): string[] {
  const name = options.name ?? DEFAULT_BRIDGE;
  const doomed = listLinks(nl).filter((l) =>
    l.name === name || l.name.startsWith(WEAVE_LINK_PREFIX)
  );
  doomed.sort((a, b) => Number(b.name === name) - Number(a.name === name));
  const removed: string[] = [];
  for (const link of doomed) {
    try {
      deleteLink(nl, link.index);
      removed.push(link.name);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
  }
  return removed;
}

/**
 * Makes `mtu` the bridge's own: Linux lowers or raises a bridge's MTU to the smallest of its
 * ports' (the sleeve TAP alone: 65521) unless it was set by a change of the link, and an MTU given
 * at creation, or a change to the value it already has, does not count. So it is changed away and
 * back, which the kernel remembers (`BROPT_MTU_SET_BY_USER`).
 */
function pinMtu(nl: Netlink, index: number, mtu: number): void {
  setMtu(nl, index, mtu - 1);
  setMtu(nl, index, mtu);
}

function checkMtu(mtu: number): void {
  if (!Number.isInteger(mtu) || mtu < 576 || mtu > 65535) {
    throw new RangeError(`Cannot set up the bridge: MTU ${mtu} is not an integer in 576..65535`);
  }
}

function createBridge(nl: Netlink, name: string, mtu: number): void {
  const spec = { name, mtu, kind: "bridge", address: randomLocalMac() };
  nl.request(linkMessage(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, spec), `add bridge "${name}"`);
}

function requireLink(nl: Netlink, name: string): LinkInfo {
  const link = findLink(nl, name);
  if (!link) throw new Error(`Cannot set up bridge "${name}": it vanished right after creation`);
  return link;
}

/** A random unicast, locally administered MAC. */
export function randomLocalMac(): string {
  const b = crypto.getRandomValues(new Uint8Array(6));
  b[0] = (b[0] | 0x02) & 0xfe;
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");
}
