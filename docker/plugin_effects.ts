/**
 * The plugin's effects on a real host: addresses from the router's IPAM over
 * its HTTP API (as Weave's plugin used `api.Client`), veths on the weave bridge
 * through netlink, network look-ups through the Docker engine.
 *
 * @module
 */
import type { ApiClient } from "../api/client.ts";
import { NotFoundError } from "../sys/libc.ts";
import { addVeth, deleteLink, getLink, setLinkUp, setMaster } from "../sys/link.ts";
import type { Netlink } from "../sys/netlink/socket.ts";
import type { DockerClient } from "./client.ts";
import type { PluginEffects } from "./plugin.ts";

/** Options of {@link hostPluginEffects}. */
export interface HostPluginEffectsOptions {
  /** The router's control API. */
  api: ApiClient;
  /** The engine whose networks the plugin serves. */
  docker: DockerClient;
  /** A netlink socket of the host's namespace. */
  netlink: Netlink;
  /** The weave bridge; default `weave`. */
  bridge?: string;
}

/**
 * Effects acting on this host.
 *
 * @example
 * ```ts ignore
 * const effects = hostPluginEffects({ api, docker, netlink: new NetlinkSocket() });
 * ```
 */
export function hostPluginEffects(o: HostPluginEffectsOptions): PluginEffects {
  const bridge = o.bridge ?? "weave";
  const call = async (method: string, path: string): Promise<string> => {
    const res = await o.api.request(method, path);
    if (res.status >= 300) {
      throw new Error(res.body.trim() || `${method} ${path}: HTTP ${res.status}`);
    }
    return res.body.trim();
  };
  return {
    defaultSubnet: () => call("GET", "/ipinfo/defaultsubnet"),
    allocate: (range) => call("POST", `/ip/_/${range}`),
    claim: async (address) => void await call("PUT", `/ip/_/${address}`),
    release: async (address) => void await call("DELETE", `/ip/${address}`),
    createVeth(host, container) {
      const mtu = getLink(o.netlink, bridge).mtu;
      addVeth(o.netlink, host, { peerName: container, mtu });
      try {
        setMaster(o.netlink, host, bridge);
        setLinkUp(o.netlink, host);
        const mac = getLink(o.netlink, container).address;
        if (!mac) throw new Error(`veth "${container}" has no MAC address`);
        return Promise.resolve(mac);
      } catch (e) {
        deleteQuietly(o.netlink, host);
        throw e;
      }
    },
    deleteVeth(host) {
      deleteQuietly(o.netlink, host);
      return Promise.resolve();
    },
    async inspectNetwork(id) {
      const n = await o.docker.inspectNetwork(id);
      return { driver: n.driver, options: n.options };
    },
  };
}

function deleteQuietly(nl: Netlink, name: string): void {
  try {
    deleteLink(nl, name);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
}
