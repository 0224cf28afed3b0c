/**
 * Serves {@link NetworkPlugin}s on unix sockets, where Docker looks for legacy
 * plugins (`/run/docker/plugins/weave.sock` and `weavemesh.sock`; the socket's
 * base name is the driver's name). A stale socket file is replaced; closing
 * removes the sockets.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import { NetworkPlugin, type PluginEffects } from "./plugin.ts";

/** Docker's directory of legacy plugin sockets. */
export const DOCKER_PLUGIN_DIR = "/run/docker/plugins";

/** Options of {@link servePlugins}. */
export interface ServePluginsOptions {
  /** Directory of the sockets; default {@link DOCKER_PLUGIN_DIR}. */
  dir?: string;
  /** Serve `weave.sock` (global scope, no IPAM); default true. */
  weave?: boolean;
  /** Serve `weavemesh.sock` (local scope, with IPAM); default true. */
  mesh?: boolean;
  effects: PluginEffects;
  log: Logger;
}

/** Largest request body read, in bytes. */
const MAX_BODY = 1 << 20;

/**
 * Starts the plugin sockets.
 *
 * @example
 * ```ts ignore
 * await using plugins = await servePlugins({ effects, log });
 * plugins.sockets; // ["/run/docker/plugins/weave.sock", "/run/docker/plugins/weavemesh.sock"]
 * ```
 */
export async function servePlugins(
  o: ServePluginsOptions,
): Promise<AsyncDisposable & { sockets: string[] }> {
  const dir = o.dir ?? DOCKER_PLUGIN_DIR;
  await Deno.mkdir(dir, { recursive: true });
  const specs: { name: string; scope: "global" | "local"; withIpam: boolean }[] = [];
  if (o.weave ?? true) specs.push({ name: "weave", scope: "global", withIpam: false });
  if (o.mesh ?? true) specs.push({ name: "weavemesh", scope: "local", withIpam: true });
  const servers: { path: string; server: Deno.HttpServer }[] = [];
  const close = async () => {
    for (const { path, server } of servers.splice(0)) {
      await server.shutdown();
      await Deno.remove(path).catch(() => {});
    }
  };
  try {
    for (const s of specs) {
      const path = `${dir}/${s.name}.sock`;
      await Deno.remove(path).catch(() => {});
      const log = o.log;
      const plugin = new NetworkPlugin({ ...s, effects: o.effects, log });
      const server = Deno.serve({ path, onListen() {} }, (req) => answer(plugin, req));
      servers.push({ path, server });
      log.info(`Listening on ${path} for ${s.scope} scope`);
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { sockets: servers.map((s) => s.path), [Symbol.asyncDispose]: close };
}

async function answer(plugin: NetworkPlugin, req: Request): Promise<Response> {
  if (req.method !== "POST") return new Response("405 method not allowed\n", { status: 405 });
  const body = await req.text();
  if (body.length > MAX_BODY) return new Response("request too large\n", { status: 413 });
  const res = await plugin.handle(new URL(req.url).pathname, body);
  return new Response(res.body, {
    status: res.status,
    headers: { "content-type": res.contentType },
  });
}
