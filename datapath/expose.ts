/**
 * `weave expose` / `weave hide`: host addresses on the bridge, and masquerading for them.
 *
 * Masquerading lives in one nftables table of our own, `ip weave-ts`, which nothing else
 * touches and we touch nothing else (user lesson 6/7: no iptables front-end, no flushing of
 * other tables). The table is not edited rule by rule: every change rewrites it whole in one
 * atomic `nft -f -` transaction from the wanted state, so a table damaged or deleted by someone
 * else is restored by the next expose. The state itself is kept in the kernel: the bridge's
 * addresses, and in our rules a comment `weave-expose <cidr>` per masqueraded address. For each
 * such address (network N, bridge B) the chain holds, after Weave's own three rules:
 *
 * ```
 * ip saddr N ip daddr 224.0.0.0/4 return                              # multicast stays as is
 * ip saddr != N ip daddr N oifname "B" masquerade                     # outside -> containers
 * ip saddr N ip daddr != N oifname != "B" masquerade fully-random     # containers -> outside
 * ```
 *
 * (`fully-random` avoids the SNAT port race behind 5 s DNS stalls, user lesson 18.)
 *
 * @module
 */
import { formatCidr, parseCidr } from "../lib/cidr.ts";
import {
  addAddr,
  delAddr,
  ExistsError,
  findLink,
  type LinkInfo,
  listAddrs,
  type Netlink,
  NotFoundError,
} from "../sys/mod.ts";
import { parseHostCidrs } from "./attach.ts";
import { DEFAULT_BRIDGE } from "./bridge.ts";

/** Family and name of our nftables table. */
export const NAT_TABLE = "ip weave-ts";
const COMMENT_PREFIX = "weave-expose ";

/** The outcome of one `nft` run. */
export interface NftResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `nft` with `args`, feeding `stdin`; the seam tests replace. */
export type NftRunner = (args: readonly string[], stdin?: string) => Promise<NftResult>;

/**
 * Runs the `nft` binary (in this process's network namespace), or `command` — e.g.
 * `["ip", "netns", "exec", "h1", "nft"]` to act in another namespace.
 *
 * @example
 * ```ts ignore
 * const nft = nftCommand();
 * await nft(["list", "tables"]);
 * ```
 */
export function nftCommand(command: readonly string[] = ["nft"]): NftRunner {
  return async (args, stdin) => {
    const child = new Deno.Command(command[0], {
      args: [...command.slice(1), ...args],
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(stdin));
      await w.close();
    }
    const out = await child.output();
    const text = new TextDecoder();
    return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
  };
}

/** Options of {@link expose} and {@link hide}. */
export interface ExposeOptions {
  /** Host addresses `a.b.c.d/n` (host part kept). */
  cidrs?: readonly string[];
  /** Masquerade traffic of these subnets (default true; `--without-masquerade` clears it). */
  masquerade?: boolean;
  /** Bridge name, default `weave`; it must exist. */
  bridge?: string;
  /** Default: {@link nftCommand}(). */
  nft?: NftRunner;
}

/**
 * Adds `cidrs` to the bridge (those present are kept) and sets their masquerading as asked.
 * Returns the normalised addresses.
 *
 * @example
 * ```ts ignore
 * await expose(nl, { cidrs: ["10.32.0.254/12"] }); // ["10.32.0.254/12"]
 * ```
 */
export async function expose(nl: Netlink, options: ExposeOptions): Promise<string[]> {
  const cidrs = parseHostCidrs(options.cidrs ?? []);
  if (cidrs.length === 0) throw new TypeError("Cannot expose: no address given");
  const bridge = requireBridge(nl, options.bridge ?? DEFAULT_BRIDGE);
  const present = new Set(listAddrs(nl, bridge.index).map((a) => a.cidr));
  for (const cidr of cidrs.filter((c) => !present.has(c))) {
    try {
      addAddr(nl, bridge.index, cidr);
    } catch (e) {
      if (!(e instanceof ExistsError)) throw e;
    }
  }
  const nft = options.nft ?? nftCommand();
  const masqueraded = new Set(await readMasqueraded(nft));
  for (const cidr of cidrs) {
    if (options.masquerade ?? true) masqueraded.add(cidr);
    else masqueraded.delete(cidr);
  }
  await syncTable(nft, bridge, nl, masqueraded);
  return cidrs;
}

/**
 * Removes `cidrs` (default: every address) from the bridge and drops their masquerading; our
 * table goes when nothing is left in it. Addresses already absent count as removed. Returns the
 * addresses hidden.
 *
 * @example
 * ```ts ignore
 * await hide(nl, {}); // ["10.32.0.254/12"]
 * ```
 */
export async function hide(nl: Netlink, options: ExposeOptions = {}): Promise<string[]> {
  const given = options.cidrs && options.cidrs.length > 0
    ? parseHostCidrs(options.cidrs)
    : undefined;
  const nft = options.nft ?? nftCommand();
  const bridge = findLink(nl, options.bridge ?? DEFAULT_BRIDGE);
  const present = bridge ? listAddrs(nl, bridge.index).map((a) => a.cidr) : [];
  const doomed = given ?? present;
  for (const cidr of doomed.filter((c) => present.includes(c))) {
    try {
      delAddr(nl, bridge!.index, cidr);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
  }
  const masqueraded = new Set(await readMasqueraded(nft));
  for (const cidr of doomed) masqueraded.delete(cidr);
  await syncTable(nft, bridge, nl, masqueraded);
  return doomed;
}

function requireBridge(nl: Netlink, name: string): LinkInfo {
  const bridge = findLink(nl, name);
  if (!bridge || bridge.kind !== "bridge") {
    throw new Error(`Cannot expose: bridge "${name}" does not exist (is the router running?)`);
  }
  return bridge;
}

/** Rewrites our table for the masqueraded addresses still on the bridge, or deletes it. */
async function syncTable(
  nft: NftRunner,
  bridge: LinkInfo | undefined,
  nl: Netlink,
  masqueraded: Set<string>,
): Promise<void> {
  const onBridge = new Set(bridge ? listAddrs(nl, bridge.index).map((a) => a.cidr) : []);
  const wanted = [...masqueraded].filter((c) => onBridge.has(c)).sort();
  const script = wanted.length > 0 && bridge
    ? natScript(bridge.name, wanted)
    : `add table ${NAT_TABLE}\ndelete table ${NAT_TABLE}\n`;
  const r = await nft(["-f", "-"], script);
  if (r.code !== 0) {
    throw new Error(`Cannot update nftables table "${NAT_TABLE}": ${r.stderr.trim()}`);
  }
}

/**
 * The `nft -f` script that (re)creates our table atomically with masquerading for `cidrs`
 * (host addresses on bridge `bridge`).
 *
 * @example
 * ```ts
 * import { natScript } from "./expose.ts";
 * natScript("weave", ["10.32.0.254/12"]).includes("ip saddr 10.32.0.0/12"); // true
 * ```
 */
export function natScript(bridge: string, cidrs: readonly string[]): string {
  if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(bridge)) {
    throw new TypeError(`Cannot build masquerading rules: bad bridge name "${bridge}"`);
  }
  const rules: string[] = [];
  for (const cidr of cidrs) {
    parseHostCidrs([cidr]);
    const net = formatCidr(parseCidr(cidr));
    const tag = `comment "${COMMENT_PREFIX}${cidr}"`;
    rules.push(
      `ip saddr ${net} ip daddr 224.0.0.0/4 return ${tag}`,
      `ip saddr != ${net} ip daddr ${net} oifname "${bridge}" masquerade ${tag}`,
      `ip saddr ${net} ip daddr != ${net} oifname != "${bridge}" masquerade fully-random ${tag}`,
    );
  }
  return [
    `add table ${NAT_TABLE}`,
    `delete table ${NAT_TABLE}`,
    `table ${NAT_TABLE} {`,
    `  chain postrouting {`,
    `    type nat hook postrouting priority srcnat; policy accept;`,
    ...rules.map((r) => `    ${r}`),
    `  }`,
    `}`,
    "",
  ].join("\n");
}

/** The addresses our table masquerades (from its rule comments); none when it is absent. */
export async function readMasqueraded(nft: NftRunner): Promise<string[]> {
  const r = await nft(["-j", "list", "table", ...NAT_TABLE.split(" ")]);
  if (r.code !== 0) {
    if (/No such file or directory|does not exist/i.test(r.stderr)) return [];
    throw new Error(`Cannot read nftables table "${NAT_TABLE}": ${r.stderr.trim()}`);
  }
  return parseMasqueraded(r.stdout);
}

/**
 * Extracts the masqueraded addresses from `nft -j list table` output (comments
 * `weave-expose <cidr>`, each once, sorted); throws SyntaxError on output that is not JSON.
 *
 * @example
 * ```ts
 * import { parseMasqueraded } from "./expose.ts";
 * parseMasqueraded('{"nftables":[{"rule":{"comment":"weave-expose 10.32.0.254/12"}}]}');
 * // ["10.32.0.254/12"]
 * ```
 */
export function parseMasqueraded(json: string): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (e) {
    throw new SyntaxError(`Cannot parse nft JSON output: ${(e as Error).message}`, { cause: e });
  }
  const items = (doc as { nftables?: unknown })?.nftables;
  const found = new Set<string>();
  if (!Array.isArray(items)) return [];
  for (const item of items) {
    const comment = (item as { rule?: { comment?: unknown } })?.rule?.comment;
    if (typeof comment !== "string" || !comment.startsWith(COMMENT_PREFIX)) continue;
    const cidr = comment.slice(COMMENT_PREFIX.length);
    try {
      found.add(parseHostCidrs([cidr])[0]);
    } catch {
      // Not one of ours after all.
    }
  }
  return [...found].sort();
}
