/**
 * The configuration of `weave kube-launch` (the DaemonSet's entry point):
 * Weave Net 2.8.1's environment variables with Weave's defaults (its
 * `prog/weave-kube/launch.sh`), parsed once by a pure function into a typed
 * {@link LaunchConfig}, and the router arguments that follow from it.
 *
 * Where Weave's script took any non-empty value as "on" (`WEAVE_NO_FASTDP`,
 * `CHECKPOINT_DISABLE`) that is kept, so existing manifests mean the same;
 * where Weave compared with one value (`EXPECT_NPC`/`NO_MASQ_LOCAL` = "0"
 * is off) only `0` and `1` are accepted, since anything else was a mistake
 * Weave silently read as "on". A bad value stops start-up with one line
 * naming the variable ({@link LaunchConfigError}).
 *
 * @module
 */
import { parseHostPort } from "../api/server.ts";
import { formatCidr, parseCidr } from "../lib/cidr.ts";

/** The environment variables read, Weave's names. */
export const LAUNCH_ENV = Object.freeze(
  {
    ipallocRange: "IPALLOC_RANGE",
    ipallocInit: "IPALLOC_INIT",
    mtu: "WEAVE_MTU",
    noFastdp: "WEAVE_NO_FASTDP",
    connLimit: "CONN_LIMIT",
    password: "WEAVE_PASSWORD",
    passwordFile: "WEAVE_PASSWORD_FILE",
    checkpointDisable: "CHECKPOINT_DISABLE",
    extraArgs: "EXTRA_ARGS",
    noMasqLocal: "NO_MASQ_LOCAL",
    kubePeers: "KUBE_PEERS",
    hostname: "HOSTNAME",
    httpAddr: "WEAVE_HTTP_ADDR",
    metricsAddr: "WEAVE_METRICS_ADDR",
    statusAddr: "WEAVE_STATUS_ADDR",
    dbPrefix: "DB_PREFIX",
    hostRoot: "HOST_ROOT",
    expectNpc: "EXPECT_NPC",
    hairpinMode: "HAIRPIN_MODE",
    exposeIp: "WEAVE_EXPOSE_IP",
  } as const,
);

/** The launcher's configuration. */
export interface LaunchConfig {
  /** `IPALLOC_RANGE`, default 10.32.0.0/12. */
  ipallocRange: string;
  /** `IPALLOC_INIT`; absent: `consensus=<number of peers>` once the peers are known. */
  ipallocInit?: string;
  /** `WEAVE_MTU`; absent: the router's default. */
  mtu?: number;
  /** `WEAVE_NO_FASTDP` set to anything. */
  noFastdp: boolean;
  /** `CONN_LIMIT`, default 200. */
  connLimit: number;
  /** `WEAVE_PASSWORD` (handed to the router in its environment, never on its command line). */
  password?: string;
  /** `WEAVE_PASSWORD_FILE`: a mounted secret holding the password (read at start). */
  passwordFile?: string;
  /** `CHECKPOINT_DISABLE` set to anything (we never phone home anyway). */
  checkpointDisable: boolean;
  /** `EXTRA_ARGS`, split on white space, passed first to the router. */
  extraArgs: string[];
  /** `NO_MASQ_LOCAL`: `0` turns off keeping the source address of local traffic; default on. */
  noMasqLocal: boolean;
  /** `KUBE_PEERS`, split on white space; absent: the peers come from the Node list. */
  kubePeers?: string[];
  /** `HOSTNAME` (Kubernetes sets the node's host name): the nickname and the node name. */
  hostname?: string;
  /** `WEAVE_HTTP_ADDR`, default 127.0.0.1:6784. */
  httpAddr: string;
  /** `WEAVE_METRICS_ADDR`, default 0.0.0.0:6782. */
  metricsAddr: string;
  /** `WEAVE_STATUS_ADDR`; absent: off (it exposes internal information). */
  statusAddr?: string;
  /** `DB_PREFIX`, default /weavedb/weave-net. */
  dbPrefix: string;
  /** `HOST_ROOT`, default /host: where the host's / is mounted (CNI paths). */
  hostRoot: string;
  /** `EXPECT_NPC`: `0` says no policy controller runs; default on. */
  expectNpc: boolean;
  /** `HAIRPIN_MODE` (`true`/`false`) for the CNI config, default true. */
  hairpinMode: boolean;
  /** `WEAVE_EXPOSE_IP`: the address `weave expose` gives the host; absent: one from IPAM. */
  exposeIp?: string;
}

/** A variable with a value the launcher cannot use; the message is the one line to print. */
export class LaunchConfigError extends RangeError {
  constructor(readonly variable: string, value: string, expected: string) {
    super(`Cannot start: ${variable}=${JSON.stringify(value)} is not ${expected}`);
    this.name = "LaunchConfigError";
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The value of `name`, undefined when unset or empty (as `${X:-default}` treats both). */
function get(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === "" ? undefined : v;
}

function integer(env: Env, name: string, min: number, max: number): number | undefined {
  const v = get(env, name);
  if (v === undefined) return undefined;
  if (!/^\d{1,6}$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new LaunchConfigError(name, v, `an integer from ${min} to ${max}`);
  }
  return Number(v);
}

function zeroOne(env: Env, name: string): boolean {
  const v = get(env, name) ?? "1";
  if (v !== "0" && v !== "1") throw new LaunchConfigError(name, v, "0 or 1");
  return v === "1";
}

function hostPort(env: Env, name: string, fallback: string): string {
  const v = get(env, name) ?? fallback;
  try {
    parseHostPort(v);
  } catch {
    throw new LaunchConfigError(name, v, "an address such as 127.0.0.1:6784");
  }
  return v;
}

function absolutePath(env: Env, name: string, fallback: string): string {
  const v = get(env, name) ?? fallback;
  if (!v.startsWith("/") || /\s/.test(v)) throw new LaunchConfigError(name, v, "an absolute path");
  return v;
}

function words(env: Env, name: string): string[] | undefined {
  const v = get(env, name);
  return v === undefined ? undefined : v.split(/\s+/).filter((w) => w !== "");
}

function cidr(env: Env, name: string, fallback: string): string {
  const v = get(env, name) ?? fallback;
  try {
    return formatCidr(parseCidr(v));
  } catch {
    throw new LaunchConfigError(name, v, "a CIDR such as 10.32.0.0/12");
  }
}

function ipallocInit(env: Env): string | undefined {
  const v = get(env, LAUNCH_ENV.ipallocInit);
  if (v === undefined || /^(consensus(=\d+)?|observer|seed=[^,\s]+(,[^,\s]+)*)$/.test(v)) return v;
  throw new LaunchConfigError(
    LAUNCH_ENV.ipallocInit,
    v,
    "consensus[=<count>], seed=<peer>,... or observer",
  );
}

function peers(env: Env): string[] | undefined {
  const list = words(env, LAUNCH_ENV.kubePeers);
  for (const p of list ?? []) {
    if (!/^[A-Za-z0-9.:\[\]-]+$/.test(p)) {
      throw new LaunchConfigError(LAUNCH_ENV.kubePeers, p, "a host or address (one of a list)");
    }
  }
  return list?.length ? list : undefined;
}

function exposeIp(env: Env): string | undefined {
  const v = get(env, LAUNCH_ENV.exposeIp);
  if (v === undefined) return undefined;
  const [ip, bits, more] = v.split("/");
  if (IPV4.test(ip) && more === undefined && (bits === undefined || /^\d{1,2}$/.test(bits))) {
    if (bits === undefined || Number(bits) <= 32) return v;
  }
  throw new LaunchConfigError(LAUNCH_ENV.exposeIp, v, "an IPv4 address or CIDR");
}

function hairpin(env: Env): boolean {
  const v = get(env, LAUNCH_ENV.hairpinMode) ?? "true";
  if (v !== "true" && v !== "false") {
    throw new LaunchConfigError(LAUNCH_ENV.hairpinMode, v, "true or false");
  }
  return v === "true";
}

function hostname(env: Env): string | undefined {
  const v = get(env, LAUNCH_ENV.hostname);
  if (v !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9._-]{0,252})$/.test(v)) {
    throw new LaunchConfigError(LAUNCH_ENV.hostname, v, "a host name");
  }
  return v;
}

/**
 * Parses the launcher's environment (pure). Throws {@link LaunchConfigError}
 * for the first variable with a bad value.
 *
 * @example
 * ```ts
 * import { parseLaunchEnv } from "./launch_config.ts";
 * const c = parseLaunchEnv({ HOSTNAME: "node-1", CONN_LIMIT: "50" });
 * [c.connLimit, c.dbPrefix, c.metricsAddr]; // [50, "/weavedb/weave-net", "0.0.0.0:6782"]
 * ```
 */
export function parseLaunchEnv(env: Env): LaunchConfig {
  const c: LaunchConfig = {
    ipallocRange: cidr(env, LAUNCH_ENV.ipallocRange, "10.32.0.0/12"),
    noFastdp: get(env, LAUNCH_ENV.noFastdp) !== undefined,
    connLimit: integer(env, LAUNCH_ENV.connLimit, 0, 100000) ?? 200,
    checkpointDisable: get(env, LAUNCH_ENV.checkpointDisable) !== undefined,
    extraArgs: words(env, LAUNCH_ENV.extraArgs) ?? [],
    noMasqLocal: zeroOne(env, LAUNCH_ENV.noMasqLocal),
    httpAddr: hostPort(env, LAUNCH_ENV.httpAddr, "127.0.0.1:6784"),
    metricsAddr: hostPort(env, LAUNCH_ENV.metricsAddr, "0.0.0.0:6782"),
    dbPrefix: absolutePath(env, LAUNCH_ENV.dbPrefix, "/weavedb/weave-net"),
    hostRoot: absolutePath(env, LAUNCH_ENV.hostRoot, "/host"),
    expectNpc: zeroOne(env, LAUNCH_ENV.expectNpc),
    hairpinMode: hairpin(env),
  };
  const optional: Partial<LaunchConfig> = {
    ipallocInit: ipallocInit(env),
    mtu: integer(env, LAUNCH_ENV.mtu, 576, 65535),
    password: get(env, LAUNCH_ENV.password),
    passwordFile: get(env, LAUNCH_ENV.passwordFile) === undefined
      ? undefined
      : absolutePath(env, LAUNCH_ENV.passwordFile, ""),
    kubePeers: peers(env),
    hostname: hostname(env),
    statusAddr: get(env, LAUNCH_ENV.statusAddr) === undefined
      ? undefined
      : hostPort(env, LAUNCH_ENV.statusAddr, ""),
    exposeIp: exposeIp(env),
  };
  for (const [k, v] of Object.entries(optional)) {
    if (v !== undefined) (c as unknown as Record<string, unknown>)[k] = v;
  }
  return c;
}

/** What the router is started with. */
export interface RouterLaunch {
  /** Its arguments (flags, then the initial peers). */
  args: string[];
  /** Variables to add to its environment (the password stays off the command line). */
  env: Record<string, string>;
}

/**
 * The router's arguments for a configuration, the peers found and, when
 * known, the peer name to keep (taken over from Weave's state or our own),
 * as Weave's launch.sh starts weaver: `EXTRA_ARGS` first, then the fixed
 * flags, then the peers (our own addresses already left out). `IPALLOC_INIT`
 * unset means `consensus=<consensus>`: the number of nodes, ourselves included.
 *
 * @example
 * ```ts
 * import { parseLaunchEnv, routerLaunch } from "./launch_config.ts";
 * const c = parseLaunchEnv({ HOSTNAME: "n1" });
 * routerLaunch(c, { peers: ["10.0.0.2"], consensus: 2 }).args.at(-3); // "--ipalloc-init=consensus=2"
 * ```
 */
export function routerLaunch(
  c: LaunchConfig,
  known: { peers: readonly string[]; consensus: number; peerName?: string; password?: string },
): RouterLaunch {
  const args = [...c.extraArgs, "--port=6783"];
  if (known.peerName) args.push(`--name=${known.peerName}`);
  if (c.mtu !== undefined) args.push(`--mtu=${c.mtu}`);
  if (c.noFastdp) args.push("--no-fastdp");
  args.push(`--http-addr=${c.httpAddr}`, `--metrics-addr=${c.metricsAddr}`);
  // Our router's status server is on by default (127.0.0.1:6782, the metrics port here): off unless asked.
  args.push(`--status-addr=${c.statusAddr ?? ""}`);
  args.push("--no-dns", `--db-prefix=${c.dbPrefix}`, `--ipalloc-range=${c.ipallocRange}`);
  if (c.hostname) args.push(`--nickname=${c.hostname}`);
  args.push(
    `--ipalloc-init=${c.ipallocInit ?? `consensus=${known.consensus}`}`,
    `--conn-limit=${c.connLimit}`,
    ...known.peers,
  );
  const password = known.password ?? c.password;
  return { args, env: password ? { WEAVE_PASSWORD: password } : {} };
}
