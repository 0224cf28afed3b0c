/**
 * The router's components as `weave launch`'s flags ask for them: the bridge, fastdp (when it
 * may run), the IPAM allocator and weaveDNS. router/weaver.ts puts them together.
 *
 * @module
 */
import { EXPOSE_ID, listAttached } from "../datapath/attach.ts";
import { ensureBridge } from "../datapath/bridge.ts";
import { containerExists } from "../datapath/container.ts";
import { FastDatapath, fastdpDecision, kernelFastdpHost } from "../datapath/fastdp/mod.ts";
import { startWeaveDns, type WeaveDns } from "../dns/weave_dns.ts";
import { Allocator, FileStore, ipamStatePath } from "../ipam/mod.ts";
import type { Logger } from "../lib/log.ts";
import type { PeerName } from "../lib/peer_name.ts";
import type { MeshRouter } from "../mesh/router.ts";
import { espSupported } from "../sys/esp.ts";
import type { NetlinkSocket } from "../sys/mod.ts";
import type { WeaverConfig } from "./config.ts";
import { ipamPeers } from "./mesh_views.ts";

/** Creates, adopts or repairs the weave bridge (it outlives the router, as Weave's does). */
export function useBridge(nl: NetlinkSocket, config: WeaverConfig, log: Logger): void {
  const bridge = ensureBridge(nl, { name: config.bridge, mtu: config.mtu, log });
  log.info(
    bridge.created
      ? `Created bridge "${config.bridge}" (MTU ${config.mtu})`
      : `Using existing bridge "${config.bridge}"${
        bridge.repaired.length ? ` (repaired: ${bridge.repaired.join(", ")})` : ""
      }`,
  );
}

/**
 * The fast datapath when it may run: not with `--no-fastdp`, and not with a
 * password unless the kernel has IPsec ESP (this one lacks it: encrypted sleeve).
 */
export function fastdpFor(
  config: WeaverConfig,
  localPeer: PeerName,
  nl: NetlinkSocket,
  log: Logger,
): { fastdp?: FastDatapath; off?: string } {
  const decision = fastdpDecision({
    password: config.password !== undefined,
    noFastdp: config.noFastdp,
    esp: espSupported,
  });
  if (!decision.enabled) {
    log.info(`Fast datapath disabled: ${decision.reason}`);
    return { off: decision.brief };
  }
  const fastdp = new FastDatapath({
    localPeer,
    bridge: config.bridge,
    port: config.port,
    mtu: config.mtu,
    host: kernelFastdpHost(nl),
    log,
  });
  return { fastdp };
}

/** The IPAM allocator: Weave's ring and Paxos over the file store beside `--db-prefix`. */
export function newAllocator(
  config: WeaverConfig,
  name: PeerName,
  mesh: MeshRouter,
  log: Logger,
): Allocator {
  return new Allocator({
    ourName: name,
    ourUID: mesh.ourUID,
    nickName: config.nickName,
    range: config.ipallocRange,
    defaultSubnet: config.ipallocDefaultSubnet || undefined,
    init: config.ipallocInit,
    store: new FileStore(ipamStatePath(config.dbPrefix)),
    log,
    peers: ipamPeers(mesh),
    clusterSize: () => config.peers.length + 1,
  });
}

/** weaveDNS: see dns/weave_dns.ts for where it listens and how containers reach it. */
export function startDns(
  config: WeaverConfig,
  p: { name: PeerName; mesh: MeshRouter; hostNl: NetlinkSocket; ipam?: Allocator; log: Logger },
): Promise<WeaveDns> {
  const { ipam } = p;
  return startWeaveDns({
    ourName: p.name,
    mesh: p.mesh,
    domain: config.dnsDomain,
    ttl: config.dnsTtl,
    listenAddress: config.dnsListenAddress,
    upstream: { resolvConf: config.resolvConf, timeoutMs: config.dnsFallbackTimeoutMs },
    dbPrefix: config.dbPrefix,
    bridge: config.bridge,
    netlink: p.hostNl,
    attached: () =>
      listAttached(p.hostNl, { bridge: config.bridge }).filter((c) => c.id !== EXPOSE_ID),
    exists: containerExists,
    onGone: async (id) => {
      if (ipam?.ownedAddresses().some((o) => o.ident === id)) await ipam.delete(id);
    },
    log: p.log,
  });
}
