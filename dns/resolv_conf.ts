/**
 * The resolver configuration of an attached `ip netns` container:
 * `/etc/netns/<name>/resolv.conf`, which `ip netns exec <name>` bind-mounts
 * over `/etc/resolv.conf`, so `ip netns exec c1 getent hosts db.weave.local`
 * asks weaveDNS.
 *
 * What it says follows what Weave gave Docker containers (`--dns=<weaveDNS
 * address>`, `--dns-search=<domain>`), written straight into the file since
 * there is no Docker here:
 *
 * ```
 * # weave: resolv.conf of container c1 (removed by weave detach)
 * nameserver 169.254.53.1
 * search weave.local
 * ```
 *
 * Weave searched `.` instead when the container had a hostname of its own,
 * so the C library derived the search domain from it; an `ip netns`
 * container shares the host's UTS namespace and hostname, so that would
 * search the host's domain, and we always search the weaveDNS domain. Weave
 * set no `options` line (glibc's default `ndots:1` makes `db` try
 * `db.weave.local` first), nor do we.
 *
 * The first line marks the file as ours: a file without it (written by the
 * user) is never overwritten nor removed.
 *
 * @module
 */

/** Default directory of per-namespace configuration (`ip netns`). */
export const NETNS_ETC = "/etc/netns";

const MARK = "# weave: resolv.conf of container ";

/** What goes into a container's resolv.conf. */
export interface ResolvConf {
  /** The container's id (its netns name). */
  containerID: string;
  /** The weaveDNS address containers reach. */
  nameserver: string;
  /** The weaveDNS domain, with or without the trailing dot. */
  domain: string;
}

/**
 * The file's text (pure).
 *
 * @example
 * ```ts
 * import { formatResolvConf } from "./resolv_conf.ts";
 * formatResolvConf({ containerID: "c1", nameserver: "169.254.53.1", domain: "weave.local." });
 * // "# weave: resolv.conf of container c1 (removed by weave detach)\nnameserver 169.254.53.1\nsearch weave.local\n"
 * ```
 */
export function formatResolvConf(conf: ResolvConf): string {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(conf.nameserver)) {
    throw new TypeError(`Cannot write resolv.conf: "${conf.nameserver}" is not an IPv4 address`);
  }
  const domain = conf.domain.replace(/\.$/, "");
  if (!/^[A-Za-z0-9_.-]+$/.test(domain)) {
    throw new TypeError(`Cannot write resolv.conf: bad search domain "${conf.domain}"`);
  }
  return `${MARK}${conf.containerID} (removed by weave detach)\n` +
    `nameserver ${conf.nameserver}\nsearch ${domain}\n`;
}

/** Whether a resolv.conf's text is one we wrote (pure). */
export function isOurResolvConf(text: string): boolean {
  return text.startsWith(MARK);
}

/** Where the files live (tests use a temporary directory). */
export interface ResolvConfOptions {
  /** Default {@link NETNS_ETC}. */
  etcNetns?: string;
}

/** The path of container `name`'s resolv.conf; TypeError for names `ip netns` could not have. */
export function resolvConfPath(name: string, options: ResolvConfOptions = {}): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === "." || name === "..") {
    throw new TypeError(`Cannot place resolv.conf: "${name}" is not a netns name`);
  }
  return `${options.etcNetns ?? NETNS_ETC}/${name}/resolv.conf`;
}

/**
 * Writes the container's resolv.conf unless a file not written by weave is
 * there; returns whether the file is now ours.
 */
export async function writeResolvConf(
  conf: ResolvConf,
  options: ResolvConfOptions = {},
): Promise<boolean> {
  const path = resolvConfPath(conf.containerID, options);
  const existing = await readOrUndefined(path);
  if (existing !== undefined && !isOurResolvConf(existing)) return false;
  const text = formatResolvConf(conf);
  if (existing === text) return true;
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}`;
  await Deno.writeTextFile(tmp, text, { mode: 0o644 });
  await Deno.rename(tmp, path);
  return true;
}

/**
 * Removes the container's resolv.conf if we wrote it, and its directory when
 * that is left empty; returns whether a file was removed. Gone is fine.
 */
export async function removeResolvConf(
  name: string,
  options: ResolvConfOptions = {},
): Promise<boolean> {
  const path = resolvConfPath(name, options);
  const existing = await readOrUndefined(path);
  if (existing === undefined || !isOurResolvConf(existing)) return false;
  await Deno.remove(path).catch(ignoreNotFound);
  await Deno.remove(path.slice(0, path.lastIndexOf("/"))).catch(() => {}); // only when empty
  return true;
}

/**
 * Removes the resolv.conf files we wrote for namespaces that no longer exist
 * (`exists(name)` false) — left behind when a namespace was deleted while no
 * router watched it; returns the names cleaned up.
 */
export async function sweepResolvConfs(
  exists: (name: string) => boolean,
  options: ResolvConfOptions = {},
): Promise<string[]> {
  const done: string[] = [];
  let dir: AsyncIterable<Deno.DirEntry>;
  try {
    dir = Deno.readDir(options.etcNetns ?? NETNS_ETC);
  } catch {
    return done;
  }
  try {
    for await (const e of dir) {
      if (!e.isDirectory || !isNetnsName(e.name) || exists(e.name)) continue;
      if (await removeResolvConf(e.name, options)) done.push(e.name);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return done;
}

/** Whether a container id is an `ip netns` name (not `pid:<n>`, not a path). */
export function isNetnsName(name: string): boolean {
  return /^[A-Za-z0-9_.-]+$/.test(name) && name !== "." && name !== "..";
}

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

function ignoreNotFound(e: unknown): void {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
}
