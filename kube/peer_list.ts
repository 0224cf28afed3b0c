/**
 * The peer list Weave's kube-utils keeps in the annotations of the
 * ConfigMap `kube-system/weave-net`, read and changed as pure data so that
 * Go nodes and ours share it safely:
 *
 * - `kube-peers.weave.works/peers`: JSON `{"Peers":[{"PeerName":…,"NodeName":…}]}`
 *   (Go writes `"Peers":null` for an empty list it never filled);
 * - `kube-peers.weave.works/<peer name>` (characters other than letters,
 *   digits, `-`, `_`, `.` and `/` replaced by `_`): the lock of a reclaim
 *   of that peer, holding the name of the peer doing it.
 *
 * @module
 */

/** The ConfigMap holding the list. */
export const PEER_LIST_NAMESPACE = "kube-system";
/** The ConfigMap holding the list. */
export const PEER_LIST_CONFIGMAP = "weave-net";
/** Prefix of every annotation key kube-utils writes. */
export const KUBE_PEERS_PREFIX = "kube-peers.weave.works/";
/** The annotation with the list. */
export const PEER_LIST_KEY = `${KUBE_PEERS_PREFIX}peers`;

/** One entry of the list. */
export interface PeerInfo {
  /** Weave peer name (`aa:bb:cc:dd:ee:ff`). */
  PeerName: string;
  /** Kubernetes node name. */
  NodeName: string;
}

type Annotations = Readonly<Record<string, string>>;

/** The annotation key of the reclaim lock of `peerName` (kube-utils' `cleanKey`). */
export function lockKey(peerName: string): string {
  return (KUBE_PEERS_PREFIX + peerName).replace(/[^A-Za-z0-9\-_./]/g, "_");
}

/** The list in `annotations`; throws SyntaxError when the annotation is not the JSON Go writes. */
export function readPeerList(annotations: Annotations): PeerInfo[] {
  const text = annotations[PEER_LIST_KEY];
  if (text === undefined) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new SyntaxError(`Cannot read annotation ${PEER_LIST_KEY}: not JSON`, { cause });
  }
  const peers = (doc as { Peers?: unknown })?.Peers;
  if (peers === null || peers === undefined) return [];
  if (!Array.isArray(peers)) {
    throw new SyntaxError(`Cannot read annotation ${PEER_LIST_KEY}: "Peers" is not a list`);
  }
  return peers.map((p, i) => {
    if (typeof p?.PeerName !== "string" || typeof (p.NodeName ?? "") !== "string") {
      throw new SyntaxError(`Cannot read annotation ${PEER_LIST_KEY}: entry ${i} is not a peer`);
    }
    return { PeerName: p.PeerName, NodeName: p.NodeName ?? "" };
  });
}

/** `annotations` with the list replaced (Go's JSON form). */
export function writePeerList(
  annotations: Annotations,
  list: readonly PeerInfo[],
): Record<string, string> {
  const Peers = list.map(({ PeerName, NodeName }) => ({ PeerName, NodeName }));
  return { ...annotations, [PEER_LIST_KEY]: JSON.stringify({ Peers }) };
}

/** `annotations` with us in the list; undefined when we are already there. */
export function addSelf(
  annotations: Annotations,
  me: PeerInfo,
): Record<string, string> | undefined {
  const list = readPeerList(annotations);
  if (list.some((p) => p.PeerName === me.PeerName)) return undefined;
  return writePeerList(annotations, [...list, me]);
}

/**
 * The peers to reclaim: those in the list whose node is gone, and those that
 * claim our node name without being us (our node was reinstalled); never
 * ourselves. Kube-utils' step 1-2.
 *
 * @example
 * ```ts
 * import { peersToReclaim } from "./peer_list.ts";
 * const list = [{ PeerName: "p1", NodeName: "n1" }, { PeerName: "p2", NodeName: "gone" }];
 * peersToReclaim(list, new Set(["n1"]), { PeerName: "p1", NodeName: "n1" }); // ["p2"]
 * ```
 */
export function peersToReclaim(
  list: readonly PeerInfo[],
  nodeNames: ReadonlySet<string>,
  me: PeerInfo,
): string[] {
  const out: string[] = [];
  for (const p of list) {
    if (p.PeerName === me.PeerName || out.includes(p.PeerName)) continue;
    const nodeGone = !nodeNames.has(p.NodeName);
    const duplicateOfMine = p.NodeName === me.NodeName;
    if (nodeGone || duplicateOfMine) out.push(p.PeerName);
  }
  return out;
}

/** Who may reclaim `peerName` now: us (`mine`: lock ours), nobody holds it (`free`), or another (`held`). */
export function lockState(
  annotations: Annotations,
  peerName: string,
  me: string,
): "mine" | "free" | "held" {
  const holder = annotations[lockKey(peerName)];
  if (holder === undefined) return "free";
  return holder === me ? "mine" : "held";
}

/**
 * `annotations` after `peerName` was removed from the router: out of the
 * list, its own lock gone, and every lock it held released (kube-utils'
 * steps 7aa, 7a, 7b in one write).
 */
export function afterReclaim(annotations: Annotations, peerName: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(annotations)) {
    if (k.startsWith(KUBE_PEERS_PREFIX) && v === peerName) continue;
    if (k === lockKey(peerName)) continue;
    out[k] = v;
  }
  return writePeerList(out, readPeerList(out).filter((p) => p.PeerName !== peerName));
}
