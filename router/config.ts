/**
 * The router's (`weaver`'s) command line, parsed once into a typed,
 * defaulted, validated {@link WeaverConfig} by a pure function.
 *
 * Flags follow Weave Net 2.8.1's double-dash names (`--flag=value` or
 * `--flag value`; one dash works too, as with Go's flag package); positional
 * arguments are the initial peers. Precedence: flag, then environment
 * variable, then default. Errors are `SyntaxError` (unknown flag, missing
 * value) or `RangeError` (bad value) with a sentence naming the flag.
 *
 * @module
 */
import { type Level, parseLevel } from "../lib/log.ts";
import { parsePeerName, type PeerName } from "../lib/peer_name.ts";
import { parseHostPort } from "../api/server.ts";
import { formatCidr, parseCidr } from "../lib/cidr.ts";
import {
  DOCKER_BOOL_FLAGS,
  DOCKER_VALUE_FLAGS,
  type DockerConfig,
  parseDockerConfig,
} from "../docker/config.ts";
import {
  ENV_CONN_LIMIT,
  ENV_IPALLOC_INIT,
  ENV_IPALLOC_RANGE,
  ENV_WEAVE_HTTP_ADDR,
  ENV_WEAVE_METRICS_ADDR,
  ENV_WEAVE_MTU,
  ENV_WEAVE_NO_FASTDP,
  ENV_WEAVE_PASSWORD,
  ENV_WEAVE_PORT,
  ENV_WEAVE_STATUS_ADDR,
} from "./env.ts";

/** The router's configuration. */
export interface WeaverConfig {
  /** TCP control and UDP sleeve port (`--port`, env `WEAVE_PORT`), default 6783. */
  port: number;
  /** Our peer name (`--name`); absent: derived and persisted by the router. */
  name?: PeerName;
  /** `--nickname`, default the host name. */
  nickName: string;
  /** `--password` or env `WEAVE_PASSWORD`, as raw UTF-8 bytes; absent: no encryption. */
  password?: Uint8Array;
  /** `--trusted-subnets` CIDRs whose connections skip data-plane encryption. */
  trustedSubnets: string[];
  /** `--conn-limit` (env `CONN_LIMIT`), default 200; 0 = unlimited. */
  connLimit: number;
  /** Gossip-based peer discovery; `--no-discovery` turns it off. */
  discovery: boolean;
  /** `--host`: address to listen on and dial from, default `0.0.0.0`. */
  host: string;
  /** `--http-addr` control API, default `127.0.0.1:6784`; `""` disables. */
  httpAddr: string;
  /** `--socket` control API unix socket, default `/run/weave/<instance>/weave.sock`; `""` disables. */
  socketPath: string;
  /** `--status-addr` read-only status and metrics, default `127.0.0.1:6782`; `""` disables. */
  statusAddr: string;
  /** `--metrics-addr` metrics only, default `""` (off). */
  metricsAddr: string;
  /** `--db-prefix` for persisted state, default `/var/lib/weave/<instance>/weave`. */
  dbPrefix: string;
  /** `--log-level`, default `info`. */
  logLevel: Level;
  /** Initial peers (positional arguments). */
  peers: string[];
  /** `--foreground`: run in this process instead of detaching (`weave launch`). */
  foreground: boolean;
  /** `--weave-bridge`, default `weave`. */
  bridge: string;
  /** `--mtu` (env `WEAVE_MTU`): datapath MTU, default 1376. */
  mtu: number;
  /** `--no-fastdp` (env `WEAVE_NO_FASTDP`): force sleeve. */
  noFastdp: boolean;
  /** `--ipalloc-range` (env `IPALLOC_RANGE`), default 10.32.0.0/12; `""` disables IPAM. */
  ipallocRange: string;
  /** `--ipalloc-default-subnet`, default = the range. */
  ipallocDefaultSubnet: string;
  /** `--ipalloc-init` (env `IPALLOC_INIT`): `consensus[=N]`, `seed=<peer,...>` or `observer`. */
  ipallocInit: string;
  /** `--no-dns`. */
  noDns: boolean;
  /** `--dns-listen-address` (`host:port`); `""`: port 53 on the bridge's first address. */
  dnsListenAddress: string;
  /** `--dns-domain`, default `weave.local.`. */
  dnsDomain: string;
  /** `--dns-ttl` in seconds, default 1. */
  dnsTtl: number;
  /** `--resolv-conf`: where the upstream servers come from, default `/etc/resolv.conf`. */
  resolvConf: string;
  /** `--dns-fallback-timeout` (Go duration, e.g. `5s`), in milliseconds. */
  dnsFallbackTimeoutMs: number;
  /**
   * The Docker API proxy and network plugin (`--docker-api`, `--proxy=false`, `-H`,
   * `--plugin=false`, the proxy's flags), started when the engine answers; absent with
   * `--docker-api ''` (no Docker).
   */
  docker?: DockerConfig;
}

/** Values the defaults depend on. */
export interface ConfigDefaults {
  hostname: string;
  /** Instance name (network namespace), e.g. `default`. */
  instance: string;
}

type Env = Record<string, string | undefined>;

const BOOL_FLAGS = new Set([
  "no-discovery",
  "foreground",
  "no-fastdp",
  "no-dns",
  ...DOCKER_BOOL_FLAGS,
]);
const VALUE_FLAGS = new Set([
  "port",
  "name",
  "nickname",
  "password",
  "trusted-subnets",
  "conn-limit",
  "host",
  "http-addr",
  "socket",
  "status-addr",
  "metrics-addr",
  "db-prefix",
  "log-level",
  "weave-bridge",
  "mtu",
  "ipalloc-range",
  "ipalloc-default-subnet",
  "ipalloc-init",
  "dns-listen-address",
  "dns-domain",
  "dns-ttl",
  "resolv-conf",
  "dns-fallback-timeout",
  ...DOCKER_VALUE_FLAGS,
]);

/**
 * Parses the router's arguments.
 *
 * @example
 * ```ts
 * import { parseWeaverArgs } from "./config.ts";
 * const c = parseWeaverArgs(["--port=7000", "10.0.0.2"], {}, { hostname: "h1", instance: "default" });
 * c.port; // 7000
 * c.peers; // ["10.0.0.2"]
 * ```
 */
export function parseWeaverArgs(argv: string[], env: Env, defaults: ConfigDefaults): WeaverConfig {
  const { values, bools, peers } = scanArgs(argv);
  const pick = (flag: string, envName?: string): string | undefined =>
    values.get(flag) ?? (envName && env[envName] ? env[envName] : undefined);
  const password = pick("password", ENV_WEAVE_PASSWORD);
  const ipallocRange = parseCidrFlag(
    "--ipalloc-range",
    values.get("ipalloc-range") ?? env[ENV_IPALLOC_RANGE] ?? "10.32.0.0/12",
  );
  const name = pick("name");
  return {
    port: parseInteger("--port", pick("port", ENV_WEAVE_PORT) ?? "6783", 1, 65535),
    name: name === undefined ? undefined : withFlag("--name", () => parsePeerName(name)),
    nickName: pick("nickname") ?? defaults.hostname,
    password: password ? new TextEncoder().encode(password) : undefined,
    trustedSubnets: parseSubnets(pick("trusted-subnets") ?? ""),
    connLimit: parseInteger(
      "--conn-limit",
      pick("conn-limit", ENV_CONN_LIMIT) ?? "200",
      0,
      2 ** 31 - 1,
    ),
    discovery: !bools.get("no-discovery"),
    host: parseHostAddress(pick("host") ?? "0.0.0.0"),
    httpAddr: parseListenAddr(
      "--http-addr",
      pick("http-addr", ENV_WEAVE_HTTP_ADDR) ?? "127.0.0.1:6784",
      true,
    ),
    socketPath: parseSocketPath(pick("socket") ?? `/run/weave/${defaults.instance}/weave.sock`),
    statusAddr: parseListenAddr(
      "--status-addr",
      pick("status-addr", ENV_WEAVE_STATUS_ADDR) ?? "127.0.0.1:6782",
      false,
    ),
    metricsAddr: parseListenAddr(
      "--metrics-addr",
      pick("metrics-addr", ENV_WEAVE_METRICS_ADDR) ?? "",
      false,
    ),
    dbPrefix: parseDbPrefix(pick("db-prefix") ?? `/var/lib/weave/${defaults.instance}/weave`),
    logLevel: withFlag("--log-level", () => parseLevel(pick("log-level") ?? "info")),
    peers,
    foreground: bools.get("foreground") ?? false,
    bridge: parseInterfaceName("--weave-bridge", pick("weave-bridge") ?? "weave"),
    mtu: parseInteger("--mtu", pick("mtu", ENV_WEAVE_MTU) ?? "1376", 576, 65535),
    noFastdp: (bools.get("no-fastdp") ?? false) || !!env[ENV_WEAVE_NO_FASTDP],
    ipallocRange,
    ipallocDefaultSubnet: parseCidrFlag(
      "--ipalloc-default-subnet",
      pick("ipalloc-default-subnet") ?? ipallocRange,
    ),
    ipallocInit: parseIpallocInit(pick("ipalloc-init", ENV_IPALLOC_INIT) ?? "consensus"),
    noDns: bools.get("no-dns") ?? false,
    dnsListenAddress: parseListenAddr(
      "--dns-listen-address",
      pick("dns-listen-address") ?? "",
      false,
    ),
    dnsDomain: parseDomain(pick("dns-domain") ?? "weave.local."),
    dnsTtl: parseInteger("--dns-ttl", pick("dns-ttl") ?? "1", 0, 2 ** 31 - 1),
    resolvConf: pick("resolv-conf") ?? "/etc/resolv.conf",
    dnsFallbackTimeoutMs: parseDuration(
      "--dns-fallback-timeout",
      pick("dns-fallback-timeout") ?? "5s",
    ),
    docker: values.get("docker-api") === ""
      ? undefined
      : parseDockerConfig(values, bools, env, { noDns: bools.get("no-dns") ?? false }),
  };
}

function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (!m) throw new RangeError(`Cannot parse ${flag}: "${text}" is not a duration such as 5s`);
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 } as const)[m[2] as "ms" | "s" | "m"];
}

function parseInterfaceName(flag: string, text: string): string {
  if (/^[A-Za-z0-9_.-]{1,15}$/.test(text)) return text;
  throw new RangeError(
    `Cannot parse ${flag}: "${text}" is not an interface name (1-15 characters)`,
  );
}

function parseCidrFlag(flag: string, text: string): string {
  if (text === "") return text;
  return withFlag(flag, () => formatCidr(parseCidr(text)));
}

function parseIpallocInit(text: string): string {
  if (/^(consensus(=\d+)?|observer|seed=[^,\s]+(,[^,\s]+)*)$/.test(text)) return text;
  throw new RangeError(
    `Cannot parse --ipalloc-init: "${text}" is not consensus[=<count>], seed=<peer>,... or observer`,
  );
}

function parseDomain(text: string): string {
  const domain = text.endsWith(".") ? text : `${text}.`;
  if (/^([A-Za-z0-9-]+\.)+$/.test(domain)) return domain.toLowerCase();
  throw new RangeError(`Cannot parse --dns-domain: "${text}" is not a domain name`);
}

/** Splits argv into flag values, boolean flags and positional peers. */
function scanArgs(argv: string[]) {
  const values = new Map<string, string>();
  const bools = new Map<string, boolean>();
  const peers: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      peers.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      peers.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const flag = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    if (BOOL_FLAGS.has(flag)) {
      bools.set(flag, inline === undefined ? true : parseBool(`--${flag}`, inline));
    } else if (VALUE_FLAGS.has(flag)) {
      if (inline !== undefined) values.set(flag, inline);
      else if (i + 1 < argv.length) values.set(flag, argv[++i]);
      else throw new SyntaxError(`Cannot parse arguments: flag "--${flag}" needs a value`);
    } else {
      throw new SyntaxError(`Cannot parse arguments: unknown flag "${arg.split("=")[0]}"`);
    }
  }
  return { values, bools, peers };
}

function withFlag<T>(flag: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new RangeError(`Cannot parse ${flag}: ${(e as Error).message}`, { cause: e });
  }
}

function parseBool(flag: string, text: string): boolean {
  if (/^(1|t|true|TRUE|True)$/.test(text)) return true;
  if (/^(0|f|false|FALSE|False)$/.test(text)) return false;
  throw new RangeError(`Cannot parse ${flag}: "${text}" is not a boolean`);
}

function parseInteger(flag: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) {
    throw new RangeError(`Cannot parse ${flag}: "${text}" is not an integer from ${min} to ${max}`);
  }
  return value;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIpv6(text: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(":")) return false;
  try {
    new URL(`http://[${text}]/`);
    return true;
  } catch {
    return false;
  }
}

function parseSubnets(csv: string): string[] {
  if (csv.trim() === "") return [];
  return csv.split(",").map((cidr) => {
    const [ip, bits, extra] = cidr.trim().split("/");
    const max = IPV4.test(ip ?? "") ? 32 : isIpv6(ip ?? "") ? 128 : -1;
    const prefix = /^\d{1,3}$/.test(bits ?? "") ? Number(bits) : NaN;
    if (extra !== undefined || max < 0 || !(prefix <= max)) {
      throw new RangeError(
        `Cannot parse --trusted-subnets: "${cidr}" is not a CIDR such as 10.0.0.0/8`,
      );
    }
    return cidr.trim();
  });
}

function parseHostAddress(text: string): string {
  if (IPV4.test(text) || isIpv6(text)) return text;
  throw new RangeError(`Cannot parse --host: "${text}" is not an IP address`);
}

function parseListenAddr(flag: string, text: string, allowPath: boolean): string {
  if (text === "" || (allowPath && text.startsWith("/"))) return text;
  withFlag(flag, () => parseHostPort(text));
  return text;
}

function parseSocketPath(text: string): string {
  if (text === "" || text.startsWith("/")) return text;
  throw new RangeError(`Cannot parse --socket: "${text}" is not an absolute path`);
}

function parseDbPrefix(text: string): string {
  if (text !== "") return text;
  throw new RangeError("Cannot parse --db-prefix: the prefix is empty");
}
