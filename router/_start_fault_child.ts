/**
 * One run of `weaver_netns_test.ts`, inside a host's network namespace (sockets cannot follow
 * `setns`, so each run is its own process): starts the router with a failure injected before
 * start step `<step>` (or none: `ok`, then stops it), and prints one JSON line {@link FaultRun}
 * with what was open before the start, at the failing step, and after the start failed (or the
 * router stopped). Not a library module.
 *
 * Usage: `deno run -A router/_start_fault_child.ts <step|ok> <db-prefix> [weave launch flag...]`
 *
 * @module
 */
import { discardLogger } from "../lib/log.ts";
import { listLinks, NetlinkSocket } from "../sys/mod.ts";
import { parseWeaverArgs } from "./config.ts";
import { type StartStep, startWeaver } from "./weaver.ts";

/** What is open in this process and its namespace at one moment. */
export interface OpenThings {
  /** Targets of this process's file descriptors (sockets, the TAP, files), runtime ones left out. */
  fds: string[];
  /** Network devices of the namespace other than lo, the underlay and the bridge. */
  links: string[];
  /** Listening TCP sockets and bound UDP sockets of the namespace (local `addr:port` in hex). */
  sockets: string[];
}

/** The child's report. */
export interface FaultRun {
  before: OpenThings;
  /** At the failing step (absent for `ok`: then while the router ran). */
  during?: OpenThings;
  after: OpenThings;
  /** The start's error message, if it failed. */
  error?: string;
}

/** Descriptors the Deno runtime opens on its own (event loop, timers, workers). */
const RUNTIME_FD = /^anon_inode:|^pipe:|^\/dev\/(null|urandom|pts\/|tty)/;
const KEPT_LINKS = new Set(["lo", "eth0", "weave"]);

async function openThings(): Promise<OpenThings> {
  const targets: string[] = [];
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      targets.push(Deno.readLinkSync(`/proc/self/fd/${e.name}`));
    } catch { /* the directory's own fd, gone already */ }
  }
  // The socket tables are read after the fds, so that every socket listed was there to be named.
  const kinds = await socketKinds();
  const fds: string[] = [];
  for (const target of targets) {
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    const what = inode ? `${target} ${kinds.get(inode) ?? "?"}` : target;
    // An unnamed unix socket is the runtime's (tokio's signal/child-reaper socket pair, opened on
    // first use and kept): the router's own unix socket, the API's, always has a path.
    if (what.endsWith(" unix")) continue;
    if (!RUNTIME_FD.test(target) && !target.startsWith("/proc/")) fds.push(what);
  }
  const links = (() => {
    using nl = new NetlinkSocket();
    return listLinks(nl).map((l) => l.name).filter((n) => !KEPT_LINKS.has(n));
  })();
  const sockets = [
    ...listening(await Deno.readTextFile("/proc/self/net/tcp"), "0A"),
    ...listening(await Deno.readTextFile("/proc/self/net/udp"), undefined),
  ];
  return { fds: fds.sort(), links: links.sort(), sockets: sockets.sort() };
}

/** Socket inode → its family (and netlink protocol), for readable reports. */
async function socketKinds(): Promise<Map<string, string>> {
  const kinds = new Map<string, string>();
  const tables: [string, number, (f: string[]) => string][] = [
    ["netlink", 9, (f) => `netlink(${f[1]})`],
    ["unix", 6, (f) => `unix ${f[7] ?? ""}`.trim()],
    ["tcp", 9, (f) => `tcp ${f[1]}`],
    ["udp", 9, (f) => `udp ${f[1]}`],
    ["tcp6", 9, (f) => `tcp6 ${f[1]}`],
    ["udp6", 9, (f) => `udp6 ${f[1]}`],
    ["packet", 8, () => "packet"],
  ];
  for (const [file, col, name] of tables) {
    let text = "";
    try {
      text = await Deno.readTextFile(`/proc/self/net/${file}`);
    } catch { /* table absent */ }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > col) kinds.set(f[col], name(f));
    }
  }
  return kinds;
}

/** Local addresses of the table's sockets in state `state` (any state when undefined). */
function listening(table: string, state: string | undefined): string[] {
  return table.split("\n").slice(1).map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 3 && (state === undefined || f[3] === state))
    .map((f) => f[1]);
}

async function main([fail, dbPrefix, ...flags]: string[]): Promise<FaultRun> {
  const config = parseWeaverArgs(
    ["--nickname", "h1", "--db-prefix", dbPrefix, "--socket", `${dbPrefix}weave.sock`, ...flags],
    {},
    { hostname: "h1", instance: "fault" },
  );
  // A first start that stops before its first step: what the runtime opens lazily on the way
  // (a socket pair of its own, seen under load) is then part of the baseline, not a leak.
  await startWeaver(config, {
    log: discardLogger,
    onStop: () => {},
    beforeStep: () => Promise.reject(new Error("warm-up")),
  }).catch(() => {});
  const before = await openThings();
  let during: OpenThings | undefined;
  const beforeStep = async (s: StartStep) => {
    if (s !== fail) return;
    during = await openThings();
    throw new Error(`injected failure before step "${s}"`);
  };
  try {
    const weaver = await startWeaver(config, { log: discardLogger, onStop: () => {}, beforeStep });
    during = await openThings();
    await weaver[Symbol.asyncDispose]();
  } catch (e) {
    return { before, during, after: await openThings(), error: (e as Error).message };
  }
  return { before, during, after: await openThings() };
}

if (import.meta.main) {
  const run = await main(Deno.args);
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(run) + "\n"));
  Deno.exit(0);
}
