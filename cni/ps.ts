/**
 * The CNI pods of this host as `weave ps` lists containers: `<container id>
 * <mac> <cidr>...`, the pod interface's MAC and addresses, for each record
 * (`records.ts`) whose host veth is a port of the bridge here and the peer of
 * the pod's interface (records of other hosts sharing `/run` are skipped, as
 * are pods that are gone).
 *
 * @module
 */
import {
  findLink,
  listAddrs,
  type Netlink,
  NetlinkSocket,
  netnsId,
  withNetns,
} from "../sys/mod.ts";
import { DEFAULT_STATE_DIR, fileRecords, type Records } from "./records.ts";

/** A pod as `weave ps` prints it. */
export interface PsEntry {
  id: string;
  mac: string;
  cidrs: string[];
}

/**
 * Lists the pods attached to `bridge` in the namespace of `nl`.
 *
 * @example
 * ```ts ignore
 * listCniPods(nl, fileRecords(), "weave"); // [{ id: "4b0c…", mac: "06:…", cidrs: ["10.32.0.2/12"] }]
 * ```
 */
export function listCniPods(nl: Netlink, records: Records, bridge: string): PsEntry[] {
  const br = findLink(nl, bridge);
  if (!br) return [];
  const out: PsEntry[] = [];
  const here = netnsId();
  for (const r of records.list()) {
    if (r.hostNetns !== here) continue;
    const host = findLink(nl, r.hostVeth);
    if (!host || host.master !== br.index) continue;
    try {
      using pnl = withNetns(r.netns, () => new NetlinkSocket());
      const link = findLink(pnl, r.ifname);
      // The two ends name each other (another host's pod may have a veth of the same name).
      if (!link || link.link !== host.index || host.link !== link.index) continue;
      out.push({
        id: r.containerId,
        mac: link.address ?? "",
        cidrs: listAddrs(pnl, link.index).map((a) => a.cidr),
      });
    } catch {
      // The pod went away meanwhile.
    }
  }
  return out;
}

/** `weave ps` lines of `entries`. */
export function formatPsLines(entries: readonly PsEntry[]): string {
  return entries.map((e) => [e.id, e.mac, ...e.cidrs].join(" ") + "\n").join("");
}

/**
 * `weave ps` lines of this host's CNI pods from the records in `stateDir` (default
 * `/run/weave/cni`); empty when there are none or they cannot be read.
 *
 * @example
 * ```ts ignore
 * cniPsLines(); // "4b0c… 06:0d:07:36:b4:ef 10.32.0.1/12\n"
 * ```
 */
export function cniPsLines(stateDir?: string, bridge = "weave"): string {
  const records = fileRecords(stateDir || DEFAULT_STATE_DIR);
  if (records.list().length === 0) return "";
  try {
    using nl = new NetlinkSocket();
    return formatPsLines(listCniPods(nl, records, bridge));
  } catch {
    return "";
  }
}
