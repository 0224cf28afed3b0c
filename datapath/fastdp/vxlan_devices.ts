/**
 * The host side of fastdp: one VXLAN device per remote peer, attached to the weave bridge.
 *
 * For remote peer P the device is the equivalent of
 *
 * ```
 * ip link add vxwP type vxlan id <P|L<<12> dstport <port+1> local <our IP> nolearning
 * ip link set vxwP mtu 1376 master weave
 * ip link set dev vxwP type bridge_slave isolated on
 * bridge fdb add 00:00:00:00:00:00 dev vxwP dst <P's IP> vni <L|P<<12> self permanent
 * ```
 *
 * (design checked on this kernel: `../../../shared/design/fastdp-on-linux-vxlan.md`). Isolated
 * ports never forward to each other, so a frame from one peer is never flooded to another.
 * Whether the bridge floods to the device and learns MACs behind it follows the connection's
 * health ({@link setVxlanPortActive}), so broadcasts reach each peer by one datapath only.
 *
 * Everything here is safe to repeat: {@link ensureVxlanDevice} keeps a compatible device and
 * replaces an incompatible one, and removal treats "already gone" as success.
 *
 * @module
 */
import { NotFoundError } from "../../sys/libc.ts";
import {
  addVxlan,
  deleteLink,
  findLink,
  linkByName,
  type LinkInfo,
  listLinks,
  setBridgePort,
  setBridgePortIsolated,
  setLinkUp,
  setMaster,
  setMtu,
} from "../../sys/link.ts";
import { addFdb, delFdb, listFdb } from "../../sys/neigh.ts";
import { NTF_SELF, NUD_NOARP, NUD_PERMANENT } from "../../sys/netlink/codec.ts";
import type { Netlink } from "../../sys/netlink/socket.ts";
import { peerOfDeviceName } from "./vni.ts";

const ZERO_MAC = "00:00:00:00:00:00";

/** One peer's VXLAN device. */
export interface VxlanDeviceSpec {
  /** Device name (`vxw` + 12 hex digits). */
  name: string;
  /** The device's VNI: what the remote sends to us with. */
  receiveVNI: number;
  /** The VNI we send with (the default destination's `vni`). */
  sendVNI: number;
  /** Our VXLAN UDP port (mesh port + 1); the device listens on it. */
  port: number;
  /** The remote's VXLAN UDP port, when it differs from ours. */
  remotePort?: number;
  /** Our underlay IPv4 address (`local`). */
  local: string;
  /** The remote's underlay IPv4 address (`dst`). */
  remoteIP: string;
  /** Device MTU (the datapath MTU). */
  mtu: number;
  /** Bridge to attach to, e.g. `weave`. */
  bridge: string;
}

function compatible(link: LinkInfo, spec: VxlanDeviceSpec): boolean {
  const v = link.vxlan;
  return link.kind === "vxlan" && v?.vni === spec.receiveVNI && v.port === spec.port &&
    v.local === spec.local && v.learning !== true;
}

/**
 * Creates or repairs the device of `spec`, attached to the bridge as an isolated port with
 * flooding and learning off (see {@link setVxlanPortActive}), up, with the remote as default
 * destination; returns the device. A device of that name with other VXLAN settings is replaced.
 *
 * @example
 * ```ts ignore
 * ensureVxlanDevice(nl, {
 *   name: "vxwce3b1c2a4f01", receiveVNI: 0x001002, sendVNI: 0x002001, port: 6784,
 *   local: "192.0.2.1", remoteIP: "192.0.2.2", mtu: 1376, bridge: "weave",
 * });
 * ```
 */
export function ensureVxlanDevice(nl: Netlink, spec: VxlanDeviceSpec): LinkInfo {
  let link = findLink(nl, spec.name);
  if (link && !compatible(link, spec)) {
    removeVxlanDevice(nl, spec.name);
    link = undefined;
  }
  if (!link) {
    addVxlan(nl, spec.name, {
      vni: spec.receiveVNI,
      dstPort: spec.port,
      local: spec.local,
      learning: false,
      mtu: spec.mtu,
    });
  }
  try {
    if (link && link.mtu !== spec.mtu) setMtu(nl, spec.name, spec.mtu);
    setMaster(nl, spec.name, spec.bridge);
    setBridgePortIsolated(nl, spec.name, true);
    setVxlanPortActive(nl, spec.name, false);
    setDefaultDestination(nl, spec);
    setLinkUp(nl, spec.name);
    return linkByName(nl, spec.name);
  } catch (e) {
    // A half-configured device would be adopted by the next attempt; start clean instead.
    removeVxlanDevice(nl, spec.name);
    throw e;
  }
}

/** Makes the remote the device's only default destination (all-zero MAC entry). */
function setDefaultDestination(nl: Netlink, spec: VxlanDeviceSpec): void {
  const port = spec.remotePort !== undefined && spec.remotePort !== spec.port
    ? spec.remotePort
    : undefined;
  let present = false;
  for (const entry of listFdb(nl, spec.name)) {
    if (!(entry.flags & NTF_SELF) || entry.lladdr !== ZERO_MAC) continue;
    const same = entry.dst === spec.remoteIP && entry.vni === spec.sendVNI &&
      (entry.port ?? spec.port) === (port ?? spec.port);
    if (same) {
      present = true;
      continue;
    }
    delFdb(nl, {
      link: spec.name,
      mac: ZERO_MAC,
      dst: entry.dst,
      vni: entry.vni,
      port: entry.port,
      self: true,
    });
  }
  if (present) return;
  addFdb(nl, {
    link: spec.name,
    mac: ZERO_MAC,
    dst: spec.remoteIP,
    vni: spec.sendVNI,
    port,
    self: true,
  });
}

/**
 * Switches the bridge's use of port `name`: while active the bridge floods unknown unicast,
 * multicast and broadcast to it and learns the MACs behind it; while inactive it does neither
 * and forgets what it learned there, so frames for the remote go to the sleeve port instead.
 */
export function setVxlanPortActive(nl: Netlink, name: string, active: boolean): void {
  setBridgePort(nl, name, {
    flood: active,
    mcastFlood: active,
    bcastFlood: active,
    learning: active,
  });
  if (!active) flushLearnedFdb(nl, name);
}

/**
 * Deletes the bridge's learned (dynamic) FDB entries on port `name`, only the one for `mac`
 * (`aa:bb:cc:dd:ee:ff`) when given; returns how many. Static entries are kept.
 */
export function flushLearnedFdb(nl: Netlink, name: string, mac?: string): number {
  let removed = 0;
  for (const entry of listFdb(nl, name)) {
    const learned = entry.master !== undefined && !(entry.flags & NTF_SELF) &&
      (entry.state & (NUD_PERMANENT | NUD_NOARP)) === 0;
    if (!learned || !entry.lladdr || (mac !== undefined && entry.lladdr !== mac)) continue;
    try {
      delFdb(nl, { link: name, mac: entry.lladdr, master: true });
      removed++;
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e; // aged out meanwhile
    }
  }
  return removed;
}

/** Deletes device `name`; false when it was already gone. */
export function removeVxlanDevice(nl: Netlink, name: string): boolean {
  try {
    deleteLink(nl, name);
    return true;
  } catch (e) {
    if (e instanceof NotFoundError) return false;
    throw e;
  }
}

/**
 * Deletes every VXLAN device named like ours (`vxw` + 12 hex digits) except those in `keep`,
 * e.g. what a previous run left behind; returns the names removed.
 */
export function removeStaleVxlanDevices(
  nl: Netlink,
  keep: ReadonlySet<string> = new Set(),
): string[] {
  const stale = listLinks(nl).filter((l) =>
    l.kind === "vxlan" && peerOfDeviceName(l.name) !== undefined && !keep.has(l.name)
  );
  return stale.filter((l) => removeVxlanDevice(nl, l.name)).map((l) => l.name);
}
