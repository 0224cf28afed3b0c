/**
 * Network link operations over a {@link Netlink} socket: look up, create (bridge, veth, vxlan),
 * change (up/down, MTU, master, namespace, name, bridge port flags) and delete links.
 *
 * A link is named by {@link LinkRef}: its name or its ifindex. Every function acts in the
 * namespace of the socket it is given. Creation fails with {@link ExistsError} when the name is
 * taken, and lookups/changes/deletes of a missing link fail with {@link NotFoundError}, so
 * callers can build idempotent `ensure*` steps (accept, repair or replace) on top.
 *
 * @module
 */

import { Errno, NotFoundError } from "./libc.ts";
import type { Netlink } from "./netlink/socket.ts";
import {
  AF_BRIDGE,
  AF_UNSPEC,
  bridgePortAttrs,
  type BridgePortSpec,
  dumpMessage,
  type LinkInfo,
  linkMessage,
  type LinkSpec,
  NLM_F_CREATE,
  NLM_F_EXCL,
  parseLink,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  RTM_SETLINK,
  vethData,
  vxlanData,
} from "./netlink/codec.ts";

export type { BridgePortSpec, LinkInfo };

/** A link named by its interface name or its ifindex. */
export type LinkRef = string | number;

function refSpec(ref: LinkRef): LinkSpec {
  return typeof ref === "number" ? { index: ref } : { name: ref };
}

function describe(ref: LinkRef): string {
  return typeof ref === "number" ? `link #${ref}` : `link "${ref}"`;
}

/**
 * Returns the link named or numbered `ref`; throws {@link NotFoundError} when there is none.
 *
 * @example
 * ```ts ignore
 * const weave = getLink(nl, "weave"); // { index, name: "weave", mtu: 1376, kind: "bridge", … }
 * ```
 */
export function getLink(nl: Netlink, ref: LinkRef): LinkInfo {
  const replies = nl.request(linkMessage(RTM_GETLINK, 0, refSpec(ref)), `get ${describe(ref)}`);
  if (replies.length === 0) throw new NotFoundError(`get ${describe(ref)}`, Errno.ENODEV);
  return parseLink(replies[0].payload);
}

/** Returns the link called `name`; throws {@link NotFoundError} when there is none. */
export function linkByName(nl: Netlink, name: string): LinkInfo {
  return getLink(nl, name);
}

/** Returns the link `ref`, or `undefined` when it does not exist (other errors still throw). */
export function findLink(nl: Netlink, ref: LinkRef): LinkInfo | undefined {
  try {
    return getLink(nl, ref);
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
}

/** Returns every link in the socket's namespace. */
export function listLinks(nl: Netlink): LinkInfo[] {
  return nl.request(dumpMessage(RTM_GETLINK, AF_UNSPEC), "list links").map((r) =>
    parseLink(r.payload)
  );
}

/** Returns the ifindex of `ref` (numbers pass through without a lookup). */
export function linkIndex(nl: Netlink, ref: LinkRef): number {
  return typeof ref === "number" ? ref : getLink(nl, ref).index;
}

function create(nl: Netlink, spec: LinkSpec, what: string): void {
  nl.request(linkMessage(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, spec), `add ${what}`);
}

/** Creates bridge `name` (down) with an optional MTU; {@link ExistsError} if the name is taken. */
export function addBridge(nl: Netlink, name: string, options: { mtu?: number } = {}): void {
  create(nl, { name, mtu: options.mtu, kind: "bridge" }, `bridge "${name}"`);
}

/** Options for {@link addVeth}. */
export interface VethOptions {
  /** Name of the other end. */
  peerName: string;
  /** MTU of both ends. */
  mtu?: number;
  /** Create the peer end directly in the network namespace open at this fd. */
  peerNetnsFd?: number;
}

/** Creates veth pair `name` ↔ `peerName` (both down); {@link ExistsError} if a name is taken. */
export function addVeth(nl: Netlink, name: string, options: VethOptions): void {
  const { peerName, mtu, peerNetnsFd } = options;
  const peer = vethData({ name: peerName, mtu, netnsFd: peerNetnsFd });
  create(nl, { name, mtu, kind: "veth", data: peer }, `veth "${name}" peer "${peerName}"`);
}

/** Options for {@link addVxlan}. */
export interface VxlanOptions {
  /** VXLAN network identifier (24 bits). */
  vni: number;
  /** UDP destination (and listening) port, e.g. 6784. */
  dstPort: number;
  /** Local underlay IPv4 address used as source. */
  local?: string;
  /** MAC learning; weave turns it off (`nolearning`). */
  learning?: boolean;
  mtu?: number;
}

/** Creates vxlan device `name` (down); {@link ExistsError} if the name is taken. */
export function addVxlan(nl: Netlink, name: string, options: VxlanOptions): void {
  if (!Number.isInteger(options.vni) || options.vni < 0 || options.vni > 0xffffff) {
    throw new RangeError(`Cannot add vxlan "${name}": VNI ${options.vni} is not in 0..16777215`);
  }
  const data = vxlanData({
    vni: options.vni,
    local: options.local,
    port: options.dstPort,
    learning: options.learning ?? false,
  });
  create(nl, { name, mtu: options.mtu, kind: "vxlan", data }, `vxlan "${name}"`);
}

function change(nl: Netlink, ref: LinkRef, spec: LinkSpec, what: string): void {
  nl.request(linkMessage(RTM_SETLINK, 0, { ...refSpec(ref), ...spec }), `${what} ${describe(ref)}`);
}

/** Sets IFF_UP on `ref`. */
export function setLinkUp(nl: Netlink, ref: LinkRef): void {
  change(nl, ref, { up: true }, "bring up");
}

/** Clears IFF_UP on `ref`. */
export function setLinkDown(nl: Netlink, ref: LinkRef): void {
  change(nl, ref, { up: false }, "bring down");
}

/** Sets the MTU of `ref`. */
export function setMtu(nl: Netlink, ref: LinkRef, mtu: number): void {
  change(nl, ref, { mtu }, `set MTU ${mtu} on`);
}

/** Attaches `ref` to bridge `bridge` as a port. */
export function setMaster(nl: Netlink, ref: LinkRef, bridge: LinkRef): void {
  change(nl, ref, { master: linkIndex(nl, bridge) }, `attach to ${describe(bridge)}`);
}

/** Detaches `ref` from its bridge (no-op when it has none). */
export function setNoMaster(nl: Netlink, ref: LinkRef): void {
  change(nl, ref, { master: 0 }, "detach");
}

/** Moves `ref` into the network namespace open at `nsFd` (it leaves this socket's view). */
export function setNetns(nl: Netlink, ref: LinkRef, nsFd: number): void {
  change(nl, ref, { netnsFd: nsFd }, `move to netns fd ${nsFd}`);
}

/** Renames `ref` to `newName` (the link must be down); {@link ExistsError} if taken. */
export function renameLink(nl: Netlink, ref: LinkRef, newName: string): void {
  const index = linkIndex(nl, ref);
  nl.request(
    linkMessage(RTM_SETLINK, 0, { index, name: newName }),
    `rename ${describe(ref)} to "${newName}"`,
  );
}

/** Deletes `ref` (a veth takes its peer with it); {@link NotFoundError} when already gone. */
export function deleteLink(nl: Netlink, ref: LinkRef): void {
  nl.request(linkMessage(RTM_DELLINK, 0, refSpec(ref)), `delete ${describe(ref)}`);
}

/** Changes bridge port flags of `ref` (a port of some bridge) via AF_BRIDGE RTM_SETLINK. */
export function setBridgePort(nl: Netlink, ref: LinkRef, spec: BridgePortSpec): void {
  const index = linkIndex(nl, ref);
  nl.request(
    linkMessage(RTM_SETLINK, 0, { family: AF_BRIDGE, index, protinfo: bridgePortAttrs(spec) }),
    `set bridge port flags on ${describe(ref)}`,
  );
}

/**
 * Turns bridge port isolation of `ref` on or off: isolated ports never forward to each other, so
 * frames from one remote peer are not flooded to another.
 */
export function setBridgePortIsolated(nl: Netlink, ref: LinkRef, on: boolean): void {
  setBridgePort(nl, ref, { isolated: on });
}

/** Sets unknown-unicast (`flood`) and multicast (`mcastFlood`) flooding on port `ref`. */
export function setBridgePortFlood(
  nl: Netlink,
  ref: LinkRef,
  options: { flood?: boolean; mcastFlood?: boolean; bcastFlood?: boolean },
): void {
  setBridgePort(nl, ref, options);
}
