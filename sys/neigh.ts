/**
 * Bridge forwarding database (FDB) operations over a {@link Netlink} socket.
 *
 * Two tables matter to weave: a VXLAN device's own table (`self`: where to send a MAC — for the
 * all-zero MAC, the default destination `dst <ip> vni <n>`), and the bridge's table (`master`:
 * which bridge port a MAC lives behind). Adding an existing entry fails with
 * {@link ExistsError} in mode "add"; deleting a missing one fails with {@link NotFoundError}
 * (ENOENT).
 *
 * @module
 */

import { linkIndex, type LinkRef } from "./link.ts";
import type { Netlink } from "./netlink/socket.ts";
import {
  AF_BRIDGE,
  dumpMessage,
  type NeighInfo,
  neighMessage,
  type NeighSpec,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NTF_MASTER,
  NTF_SELF,
  NUD_NOARP,
  NUD_PERMANENT,
  parseNeigh,
  RTM_DELNEIGH,
  RTM_GETNEIGH,
  RTM_NEWNEIGH,
} from "./netlink/codec.ts";

export type { NeighInfo };

/** One FDB entry to add or delete. */
export interface Fdb {
  /** The port (`master`) or device (`self`) the entry belongs to. */
  link: LinkRef;
  /** `aa:bb:cc:dd:ee:ff`; all zeros is a VXLAN device's default destination. */
  mac: string;
  /** Remote VTEP IPv4 address (VXLAN `self` entries). */
  dst?: string;
  /** VNI to send with (VXLAN `self` entries). */
  vni?: number;
  /** Remote UDP port (VXLAN `self` entries; default the device's). */
  port?: number;
  /** Entry in the device's own table (NTF_SELF). */
  self?: boolean;
  /** Entry in the bridge's table (NTF_MASTER); the kernel's default when neither is set. */
  master?: boolean;
  /** Permanent (static, never aged) — default true. */
  permanent?: boolean;
}

/** How {@link addFdb} treats an existing entry: fail, replace it, or add another destination. */
export type FdbMode = "add" | "replace" | "append";

const MODE_FLAGS: Record<FdbMode, number> = {
  add: NLM_F_CREATE | NLM_F_EXCL,
  replace: NLM_F_CREATE | NLM_F_REPLACE,
  append: NLM_F_CREATE | NLM_F_APPEND,
};

function toSpec(nl: Netlink, fdb: Fdb): NeighSpec {
  return {
    family: AF_BRIDGE,
    index: linkIndex(nl, fdb.link),
    state: fdb.permanent === false ? NUD_NOARP : NUD_PERMANENT,
    flags: (fdb.self ? NTF_SELF : 0) | (fdb.master ? NTF_MASTER : 0),
    lladdr: fdb.mac,
    dst: fdb.dst,
    vni: fdb.vni,
    port: fdb.port,
  };
}

function describe(fdb: Fdb): string {
  const dst = fdb.dst ? ` dst ${fdb.dst}` : "";
  const vni = fdb.vni === undefined ? "" : ` vni ${fdb.vni}`;
  return `fdb entry ${fdb.mac}${dst}${vni} on "${fdb.link}"`;
}

/**
 * Adds an FDB entry, e.g. `bridge fdb add 00:00:00:00:00:00 dev vx-P dst 192.0.2.2 vni 1 self
 * permanent`; mode "add" (default) fails with {@link ExistsError} when it exists.
 *
 * @example
 * ```ts ignore
 * addFdb(nl, { link: "vx-P", mac: "00:00:00:00:00:00", dst: "192.0.2.2", vni: 4097, self: true });
 * ```
 */
export function addFdb(nl: Netlink, fdb: Fdb, options: { mode?: FdbMode } = {}): void {
  const flags = MODE_FLAGS[options.mode ?? "add"];
  nl.request(neighMessage(RTM_NEWNEIGH, flags, toSpec(nl, fdb)), `add ${describe(fdb)}`);
}

/**
 * Deletes an FDB entry. For a VXLAN `self` entry give the same `dst` and `vni` as when adding:
 * that destination alone is removed, and the kernel reports success without removing anything
 * when they do not match (an absent `vni` means the device's own VNI).
 */
export function delFdb(nl: Netlink, fdb: Fdb): void {
  nl.request(neighMessage(RTM_DELNEIGH, 0, toSpec(nl, fdb)), `delete ${describe(fdb)}`);
}

/** Lists bridge FDB entries (both tables), of one device/port when `link` is given. */
export function listFdb(nl: Netlink, link?: LinkRef): NeighInfo[] {
  const index = link === undefined ? undefined : linkIndex(nl, link);
  return nl.request(dumpMessage(RTM_GETNEIGH, AF_BRIDGE), "list fdb entries")
    .map((r) => parseNeigh(r.payload))
    .filter((n) => index === undefined || n.index === index);
}
