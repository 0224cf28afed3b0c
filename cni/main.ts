/**
 * One run of a CNI plugin: environment and stdin in, the result (or the
 * spec's error object) on stdout, a non-zero exit on error, and one
 * `weave-cni: …` line on stderr for people reading the runtime's log. Never
 * a stack trace, never anything else on stdout.
 *
 * @module
 */
import { NetlinkSocket } from "../sys/netlink/socket.ts";
import { peekVersion } from "./config.ts";
import type { PluginDeps } from "./deps.ts";
import { execDelegate } from "./delegate.ts";
import { ENV_CNI_COMMAND, parseCniEnv } from "./env.ts";
import { asCniError, CniCode, CniError } from "./errors.ts";
import { namedNetnsExists } from "./gc.ts";
import { runIpamPlugin } from "./ipam_plugin.ts";
import type { PluginName } from "./mode.ts";
import { runNetPlugin } from "./net_plugin.ts";
import type { Plumbing } from "./plumbing.ts";
import { kernelPlumbing } from "./pod.ts";
import { DEFAULT_STATE_DIR, ENV_WEAVE_CNI_STATE_DIR, fileRecords } from "./records.ts";
import { RouterIpam } from "./router_ipam.ts";
import { LATEST_VERSION, SUPPORTED_VERSIONS, versionInfo } from "./version.ts";

/** Largest stdin read (a config with a large prevResult fits many times). */
const MAX_STDIN = 1 << 20;

/** The process edges of one run. */
export interface CniIo {
  env: Record<string, string | undefined>;
  readStdin(): Promise<string>;
  out(text: string): void;
  err(text: string): void;
}

/**
 * Runs plugin `name` once; returns the exit code.
 *
 * @example
 * ```ts ignore
 * Deno.exit(await runCni("weave-net", processIo(), (args) => realDeps(args.routerAddr)));
 * ```
 */
export async function runCni(
  name: PluginName,
  io: CniIo,
  makeDeps: (routerAddr: string) => PluginDeps,
): Promise<number> {
  let stdin = "";
  try {
    // stdin first (its cniVersion is the version of any error), unless this is no CNI call at
    // all: someone at a terminal must not wait for an EOF.
    if (io.env[ENV_CNI_COMMAND]) {
      try {
        stdin = await io.readStdin();
      } catch (e) {
        throw new CniError(CniCode.IoFailure, `Cannot read stdin: ${(e as Error).message}`);
      }
    }
    const args = parseCniEnv(io.env);
    if (args.command === "VERSION") {
      io.out(JSON.stringify(versionInfo()) + "\n");
      return 0;
    }
    const deps = makeDeps(args.routerAddr);
    const run = name === "weave-ipam" ? runIpamPlugin : runNetPlugin;
    const output = await run({ args, stdin }, deps);
    if (output) io.out(JSON.stringify(output) + "\n");
    return 0;
  } catch (e) {
    const error = asCniError(e, CniCode.Internal);
    const asked = peekVersion(stdin);
    const version = asked && (SUPPORTED_VERSIONS as readonly string[]).includes(asked)
      ? asked
      : LATEST_VERSION;
    io.out(JSON.stringify(error.toJson(version)) + "\n");
    io.err(`weave-cni: ${name}: ${error.message.replace(/\s+/g, " ")}\n`);
    return 1;
  }
}

/** The real edges for a run against the router at `routerAddr`. */
export function realDeps(routerAddr: string): PluginDeps {
  let plumbing: Plumbing | undefined;
  return {
    ipam: new RouterIpam(routerAddr),
    plumbing: () => (plumbing ??= kernelPlumbing(new NetlinkSocket())),
    delegate: execDelegate,
    keepOwner: namedNetnsExists,
    records: fileRecords(Deno.env.get(ENV_WEAVE_CNI_STATE_DIR) || DEFAULT_STATE_DIR),
  };
}

/** This process's stdin, stdout and stderr. */
export function processIo(): CniIo {
  const enc = new TextEncoder();
  const write = (f: typeof Deno.stdout, text: string) => {
    const bytes = enc.encode(text);
    for (let off = 0; off < bytes.length;) off += f.writeSync(bytes.subarray(off));
  };
  return {
    env: Deno.env.toObject(),
    readStdin: async () => {
      const chunks: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of Deno.stdin.readable) {
        size += chunk.length;
        if (size > MAX_STDIN) throw new Error(`more than ${MAX_STDIN} bytes`);
        chunks.push(chunk);
      }
      const all = new Uint8Array(size);
      let off = 0;
      for (const c of chunks) {
        all.set(c, off);
        off += c.length;
      }
      return new TextDecoder("utf-8", { fatal: true }).decode(all);
    },
    out: (text) => write(Deno.stdout, text),
    err: (text) => write(Deno.stderr, text),
  };
}

/** Runs plugin `name` in this process with the real edges; resolves to the exit code. */
export function runCniProcess(name: PluginName): Promise<number> {
  return runCni(name, processIo(), realDeps);
}
