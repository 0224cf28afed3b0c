/**
 * The proxy's effects on a real host: weaveDNS settings and attaching through
 * the router's HTTP API (the `POST /attach` that `weave attach` uses, by the
 * container's pid), inspecting and killing through the engine.
 *
 * @module
 */
import type { ApiClient } from "../api/client.ts";
import type { DockerClient } from "./client.ts";
import { dockerFqdn } from "./resolve.ts";
import type { ProxyConfig } from "./proxy_rewrite.ts";
import type { ProxyEffects } from "./proxy_server.ts";

/** Options of {@link hostProxyEffects}. */
export interface HostProxyEffectsOptions {
  api: ApiClient;
  docker: DockerClient;
  config: ProxyConfig;
}

/**
 * Effects acting through the router and the engine.
 *
 * @example
 * ```ts ignore
 * const effects = hostProxyEffects({ api, docker, config });
 * ```
 */
export function hostProxyEffects(o: HostProxyEffectsOptions): ProxyEffects {
  return {
    async dns() {
      try {
        const [domain, address] = await Promise.all([
          o.api.get("/domain"),
          o.api.get("/dns-address"),
        ]);
        if (domain.status !== 200 || address.status !== 200) return undefined;
        const d = domain.body.trim();
        const a = address.body.trim();
        return d && a ? { domain: d.endsWith(".") ? d : d + ".", address: a } : undefined;
      } catch {
        return undefined;
      }
    },
    inspect: (ref) => o.docker.inspectContainer(ref),
    async attach(info, words) {
      const cidr: string[] = [];
      const net: string[] = [];
      for (const w of words) {
        if (w.startsWith("net:")) net.push(w);
        else cidr.push(w.replace(/^ip:/, ""));
      }
      const fqdn = dockerFqdn(info);
      const res = await o.api.post("/attach", {
        container: String(info.pid),
        cidr,
        net,
        hostname: o.config.withoutDns || !fqdn ? undefined : fqdn,
        "without-dns": o.config.withoutDns ? "true" : undefined,
        "no-multicast-route": o.config.noMulticastRoute ? "true" : undefined,
      });
      if (res.status !== 200) throw new Error(res.body.trim() || `HTTP ${res.status}`);
      return res.body.split("\n").filter((l) => l !== "");
    },
    kill: (id) => o.docker.kill(id),
    events: (signal) => o.docker.events({ signal }),
    running: async () => (await o.docker.listContainers()).map((c) => c.id),
  };
}
