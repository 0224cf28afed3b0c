/**
 * weaveDNS names for containers on the plugin's networks, as Weave's plugin
 * watcher did: when a container starts on a network of ours, its address is
 * registered under `Hostname.Domainname` (see {@link dockerFqdn}) with the
 * container's Docker id; when it dies its names go (Weave's router dropped
 * them on Docker's "die" event). Follows the engine's event stream, and
 * reconnects when the stream ends or the engine goes away.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import type { ContainerInfo, DockerEvent } from "./client.ts";
import { dockerFqdn } from "./resolve.ts";

/** What the watcher needs. */
export interface PluginDnsEffects {
  /** The engine's container events until `signal` aborts. */
  events(signal: AbortSignal): AsyncIterable<DockerEvent>;
  inspect(id: string): Promise<ContainerInfo>;
  /** Whether network `id` is one of the plugin's. */
  isOurNetwork(id: string): Promise<boolean>;
  /** `PUT /name/<id>/<ip>` with `fqdn`. */
  register(id: string, ip: string, fqdn: string): Promise<void>;
  /** `DELETE /name/<id>`. */
  unregister(id: string): Promise<void>;
}

/** Options of {@link watchPluginDns}. */
export interface PluginDnsOptions {
  effects: PluginDnsEffects;
  log: Logger;
  signal: AbortSignal;
  /** Wait before reconnecting to the event stream; default 2000 ms. */
  retryMs?: number;
}

/**
 * Handles one event (exported for tests).
 *
 * @example
 * ```ts ignore
 * await handlePluginDnsEvent({ type: "container", action: "start", id, attributes: {} }, effects, log);
 * ```
 */
export async function handlePluginDnsEvent(
  ev: DockerEvent,
  effects: PluginDnsEffects,
  log: Logger,
): Promise<void> {
  if (ev.type !== "container") return;
  if (ev.action === "die") {
    await effects.unregister(ev.id).catch((e) =>
      log.debug(`[net] ContainerDied: no names to drop for ${ev.id}: ${e.message}`)
    );
    return;
  }
  if (ev.action !== "start") return;
  let info: ContainerInfo;
  try {
    info = await effects.inspect(ev.id);
  } catch (e) {
    log.warn(
      `[net] ContainerStarted: error inspecting container ${ev.id}: ${(e as Error).message}`,
    );
    return;
  }
  const fqdn = dockerFqdn(info);
  if (!fqdn) return;
  for (const n of info.networks) {
    if (!n.ipAddress || !(await effects.isOurNetwork(n.networkId).catch(() => false))) continue;
    try {
      await effects.register(info.id, n.ipAddress, fqdn);
    } catch (e) {
      log.warn(
        `[net] ContainerStarted: unable to register ${info.id} with weaveDNS: ${
          (e as Error).message
        }`,
      );
    }
  }
}

/** Follows the engine's events until `signal` aborts. */
export async function watchPluginDns(o: PluginDnsOptions): Promise<void> {
  const retryMs = o.retryMs ?? 2000;
  while (!o.signal.aborted) {
    try {
      for await (const ev of o.effects.events(o.signal)) {
        await handlePluginDnsEvent(ev, o.effects, o.log);
      }
    } catch (e) {
      if (o.signal.aborted) return;
      o.log.debug(`[net] Docker event stream: ${(e as Error).message}`);
    }
    if (o.signal.aborted) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, retryMs);
      o.signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
    });
  }
}
