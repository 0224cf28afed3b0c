/**
 * Removal of test network namespaces: used by {@link TestNet} on dispose, and as a safety net by
 * `.ci/run` (and `./scripts/demo.sh --clean`) for what a crashed earlier run left behind.
 *
 * Only our own names are touched: a run's prefix is `wt` (tests) or `wd` (demo) followed by four
 * hex digits, its namespaces are `<prefix>sw` (the switch) and `<prefix>h<N>` (hosts), and its
 * temp directory is `weave-<prefix>-*` in the system temp directory.
 *
 * Run as a program: `deno run --allow-all tests/harness/cleanup.ts [PREFIX]` removes the namespaces
 * of one prefix (`wd1a2b`), or of every prefix of ours when none is given.
 *
 * @module
 */

import { run, writeText } from "./exec.ts";

/** Matches every run prefix of ours: `wt` or `wd` and four hex digits. */
export const OUR_PREFIXES: RegExp = /^w[td][0-9a-f]{4}$/;

const NAMESPACE_SUFFIX = /^(sw|h\d{1,3}|c\d{1,3}|h\d{1,3}c\d{1,3})$/;

/** Lists the network namespaces of this machine (names only). */
export async function listNamespaces(): Promise<string[]> {
  const { code, stdout } = await run(["ip", "netns", "list"]);
  if (code !== 0) return [];
  return stdout.split("\n").map((l) => l.trim().split(/\s+/)[0]).filter((n) => n !== "");
}

/** Pids of the processes whose network namespace is `ns` (none when it does not exist). */
export async function namespacePids(ns: string): Promise<number[]> {
  const { code, stdout } = await run(["ip", "netns", "pids", ns]);
  if (code !== 0) return [];
  return stdout.split(/\s+/).filter((s) => s !== "").map(Number).filter((n) => n !== Deno.pid);
}

/**
 * Kills (SIGKILL) every process in namespace `ns`, deletes it, and removes `/etc/netns/<ns>` and
 * `/run/weave/<ns>`. Safe when any of them is already gone.
 */
export async function removeNamespace(ns: string): Promise<void> {
  for (let round = 0; round < 30; round++) {
    const pids = await namespacePids(ns);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Already exited.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const del = await run(["ip", "netns", "delete", ns]);
  if (del.code !== 0 && !/No such file|not found/i.test(del.stderr)) {
    throw new Error(`Cannot delete network namespace "${ns}": ${del.stderr.trim()}`);
  }
  await removeTree(`/etc/netns/${ns}`);
  await removeTree(`/run/weave/${ns}`);
}

/** Removes a file or directory tree; nothing when it does not exist. */
export async function removeTree(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** The run prefix of one of our namespace names, or undefined for a foreign name. */
export function prefixOf(ns: string, prefixes: RegExp | string = OUR_PREFIXES): string | undefined {
  for (const cut of [ns.length - 2, ns.length - 3, ns.length - 4]) {
    if (cut <= 0) continue;
    const prefix = ns.slice(0, cut);
    if (!NAMESPACE_SUFFIX.test(ns.slice(cut))) continue;
    if (typeof prefixes === "string" ? prefix === prefixes : prefixes.test(prefix)) return prefix;
  }
  return undefined;
}

/**
 * Removes every namespace (and temp directory) of ours whose run prefix matches `prefixes` — a
 * pattern, or one exact prefix. Returns what it removed. Meant for stale leftovers: it also stops
 * a test run still in progress, so don't call it while one is.
 *
 * @example
 * ```ts ignore
 * await cleanupStale(OUR_PREFIXES); // before a CI run
 * await cleanupStale("wd1a2b"); // one demo left by --keep
 * ```
 */
export async function cleanupStale(prefixes: RegExp | string = OUR_PREFIXES): Promise<string[]> {
  const removed: string[] = [];
  const ours = (await listNamespaces()).filter((ns) => prefixOf(ns, prefixes) !== undefined);
  // Hosts before switches: a host's veth dies with it, so the bridge is empty when it goes.
  ours.sort((a, b) => Number(a.endsWith("sw")) - Number(b.endsWith("sw")));
  for (const ns of ours) {
    await removeNamespace(ns);
    removed.push(ns);
  }
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  for await (const entry of Deno.readDir(tmp)) {
    const m = /^weave-([a-z0-9]+)-/.exec(entry.name);
    if (!entry.isDirectory || !m) continue;
    if (typeof prefixes === "string" ? m[1] !== prefixes : !prefixes.test(m[1])) continue;
    await removeTree(`${tmp}/${entry.name}`);
    removed.push(`${tmp}/${entry.name}`);
  }
  return removed;
}

if (import.meta.main) {
  const arg = Deno.args[0];
  const removed = await cleanupStale(arg === undefined ? OUR_PREFIXES : arg);
  writeText(
    Deno.stderr,
    removed.length === 0
      ? "cleanup: no test namespaces of ours left over\n"
      : `cleanup: removed ${removed.join(" ")}\n`,
  );
}
