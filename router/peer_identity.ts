/**
 * Who this router is: its peer name (given, persisted, or new) and the options line it logs
 * at start, as Weave's weaver does.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import { formatPeerName, parsePeerName, type PeerName } from "../lib/peer_name.ts";
import type { WeaverConfig } from "./config.ts";
import { loadState, saveState, statePath } from "./state_store.ts";

/**
 * Our peer name: `--name` if given, else the persisted one, else a new random
 * locally administered MAC (persisted, so restarts keep it — never derived from
 * the machine-id, so cloned machines and namespaces on one host don't collide).
 *
 * @example
 * ```ts ignore
 * const name = await resolvePeerName(config, log); // 0x7a36a3e489f6n
 * ```
 */
export async function resolvePeerName(config: WeaverConfig, log: Logger): Promise<PeerName> {
  const path = statePath(config.dbPrefix);
  const state = (await loadState(path)) ?? {};
  if (config.name !== undefined) {
    if (state.peerName !== formatPeerName(config.name)) {
      await saveState(path, { ...state, peerName: formatPeerName(config.name) });
    }
    return config.name;
  }
  if (typeof state.peerName === "string") return parsePeerName(state.peerName);
  const name = randomLocalMac();
  await saveState(path, { ...state, peerName: formatPeerName(name) });
  log.info(`Generated a new peer name ${formatPeerName(name)} (saved in ${path})`);
  return name;
}

/**
 * A random MAC with the locally-administered bit set and the multicast bit clear.
 *
 * @example
 * ```ts
 * import { randomLocalMac } from "./peer_identity.ts";
 * (randomLocalMac() >> 40n) & 3n; // 2n
 * ```
 */
export function randomLocalMac(): PeerName {
  const b = crypto.getRandomValues(new Uint8Array(6));
  b[0] = (b[0] | 0x02) & 0xfe;
  return b.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
}

/**
 * The `Command line options:` map Weave logs at start (the password redacted).
 *
 * @example
 * ```ts ignore
 * describeOptions(config); // "map[conn-limit:200 db-prefix:/weavedb/weave-net http-addr:… nickname:h1 port:6783]"
 * ```
 */
export function describeOptions(c: WeaverConfig): string {
  const opts: Record<string, string> = {
    "conn-limit": String(c.connLimit),
    "db-prefix": c.dbPrefix,
    "http-addr": c.httpAddr,
    nickname: c.nickName,
    port: String(c.port),
  };
  if (c.name !== undefined) opts.name = formatPeerName(c.name);
  if (c.password) opts.password = "<redacted>";
  if (!c.discovery) opts["no-discovery"] = "true";
  if (c.statusAddr) opts["status-addr"] = c.statusAddr;
  if (c.metricsAddr) opts["metrics-addr"] = c.metricsAddr;
  if (c.trustedSubnets.length) opts["trusted-subnets"] = c.trustedSubnets.join(",");
  const keys = Object.keys(opts).sort();
  return `map[${keys.map((k) => `${k}:${opts[k]}`).join(" ")}]`;
}
