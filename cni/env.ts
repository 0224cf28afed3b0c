/**
 * The CNI environment (SPEC.md, "Parameters") and our own variables, read
 * once into a typed {@link CniArgs} by a pure function. Which variables a
 * command needs follows the spec: ADD and CHECK need the container, its
 * namespace and interface; DEL does not need the namespace (it may be gone);
 * VERSION, STATUS and GC need none of them.
 *
 * @module
 */
import { CniCode, CniError } from "./errors.ts";
import type { CniCommand } from "./version.ts";

export const ENV_CNI_COMMAND = "CNI_COMMAND";
export const ENV_CNI_CONTAINERID = "CNI_CONTAINERID";
export const ENV_CNI_NETNS = "CNI_NETNS";
export const ENV_CNI_IFNAME = "CNI_IFNAME";
export const ENV_CNI_ARGS = "CNI_ARGS";
export const ENV_CNI_PATH = "CNI_PATH";
/** Where the router's HTTP API is (as for the CLI); default {@link DEFAULT_ROUTER_ADDR}. */
export const ENV_WEAVE_HTTP_ADDR = "WEAVE_HTTP_ADDR";
/** The router's control API, which Weave's plugin also used. */
export const DEFAULT_ROUTER_ADDR = "127.0.0.1:6784";
/** The datapath MTU (as for `weave launch`); the pod MTU when the config says `mtu: 0`. */
export const ENV_WEAVE_MTU = "WEAVE_MTU";
/** Weave's default datapath MTU. */
export const DEFAULT_MTU = 1376;

const COMMANDS: readonly CniCommand[] = ["ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC"];
/** Container ids as the spec allows them. */
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.\-]*$/;
/** Linux interface names: 1–15 bytes, no `/`, `:` or whitespace, not `.` or `..`. */
const IFNAME = /^[^/:\s]{1,15}$/;

/** What the runtime told us through the environment. */
export interface CniArgs {
  command: CniCommand;
  /** CNI_CONTAINERID (ADD, DEL, CHECK). */
  containerId: string;
  /** CNI_NETNS: path of the pod's network namespace; may be empty for DEL. */
  netns: string;
  /** CNI_IFNAME (ADD, DEL, CHECK). */
  ifname: string;
  /** CNI_ARGS as key/value pairs. */
  args: Record<string, string>;
  /** CNI_PATH split on `:`. */
  path: string[];
  /** The router's API address. */
  routerAddr: string;
  /** WEAVE_MTU, default {@link DEFAULT_MTU}. */
  datapathMtu: number;
}

/**
 * Reads and validates the environment for the command in CNI_COMMAND;
 * CniError code 4 names the variable that is missing or bad.
 *
 * @example
 * ```ts
 * import { parseCniEnv } from "./env.ts";
 * parseCniEnv({ CNI_COMMAND: "VERSION" }).command; // "VERSION"
 * ```
 */
export function parseCniEnv(env: Record<string, string | undefined>): CniArgs {
  const command = env[ENV_CNI_COMMAND] ?? "";
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw invalid(
      command === ""
        ? `${ENV_CNI_COMMAND} is not set (want one of ${COMMANDS.join(", ")})`
        : `${ENV_CNI_COMMAND} "${command}" is not one of ${COMMANDS.join(", ")}`,
    );
  }
  const cmd = command as CniCommand;
  const perContainer = cmd === "ADD" || cmd === "DEL" || cmd === "CHECK";
  const containerId = env[ENV_CNI_CONTAINERID] ?? "";
  const netns = env[ENV_CNI_NETNS] ?? "";
  const ifname = env[ENV_CNI_IFNAME] ?? "";
  if (perContainer) {
    if (containerId === "") throw invalid(`${ENV_CNI_CONTAINERID} is not set`);
    if (!CONTAINER_ID.test(containerId)) {
      throw invalid(
        `${ENV_CNI_CONTAINERID} "${containerId}" is not a container id ` +
          "(letters, digits, _ . - and starting with a letter or digit)",
      );
    }
    if (ifname === "") throw invalid(`${ENV_CNI_IFNAME} is not set`);
    if (!IFNAME.test(ifname) || ifname === "." || ifname === "..") {
      throw invalid(`${ENV_CNI_IFNAME} "${ifname}" is not an interface name`);
    }
    if (cmd !== "DEL" && netns === "") throw invalid(`${ENV_CNI_NETNS} is not set`);
    if (netns !== "" && !netns.startsWith("/")) {
      throw invalid(`${ENV_CNI_NETNS} "${netns}" is not an absolute path`);
    }
  }
  return {
    command: cmd,
    containerId,
    netns,
    ifname,
    args: parseCniArgs(env[ENV_CNI_ARGS] ?? ""),
    path: (env[ENV_CNI_PATH] ?? "").split(":").filter((p) => p !== ""),
    routerAddr: env[ENV_WEAVE_HTTP_ADDR] || DEFAULT_ROUTER_ADDR,
    datapathMtu: parseMtu(env[ENV_WEAVE_MTU]),
  };
}

/**
 * Parses CNI_ARGS (`K8S_POD_NAME=a;K8S_POD_NAMESPACE=b`); code 4 on a pair without `=`.
 *
 * @example
 * ```ts
 * import { parseCniArgs } from "./env.ts";
 * parseCniArgs("IgnoreUnknown=1;K8S_POD_NAME=web"); // { IgnoreUnknown: "1", K8S_POD_NAME: "web" }
 * ```
 */
export function parseCniArgs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(";")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    if (eq <= 0) throw invalid(`${ENV_CNI_ARGS} has "${pair}", not KEY=VALUE`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function parseMtu(text: string | undefined): number {
  if (text === undefined || text === "") return DEFAULT_MTU;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 68 || n > 65535) {
    throw invalid(`${ENV_WEAVE_MTU} "${text}" is not an MTU (68..65535)`);
  }
  return n;
}

function invalid(message: string): CniError {
  return new CniError(CniCode.InvalidEnv, `Cannot read the CNI environment: ${message}`);
}
