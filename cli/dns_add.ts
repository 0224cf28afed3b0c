/**
 * `weave dns-add [ip...] <container> -h <fqdn>` and `weave dns-add ip... -h
 * <fqdn>`: registers weaveDNS names, as Weave's script does with
 * `PUT /name/<container>/<ip>` (form `fqdn=`) for each address. Without a
 * container the records belong to `weave:extern`.
 *
 * A Docker container (by name or id, see `docker_container.ts`) may leave out
 * its addresses (its weave addresses are taken) and `-h` (its
 * `Hostname.Domainname`), as Weave's script did; other containers must give both.
 *
 * @module
 */
import { Command } from "commander";
import type { ApiTarget } from "../api/client.ts";
import { dockerFqdn } from "../docker/resolve.ts";
import { containerArg, routerId } from "./docker_container.ts";
import type { CliIo, CommandContext } from "./io.ts";
import { parsePs } from "./ps.ts";
import {
  callRouter,
  guard,
  printAnswer,
  resolveTargets,
  type TargetFlags,
  withTargetOptions,
} from "./target.ts";
import { USAGE } from "./usage.ts";

/** The container name Weave uses for records not tied to a container. */
export const EXTERN_CONTAINER = "weave:extern";

/**
 * A command whose `-h` is free for `-h <fqdn>` (only `--help` shows help),
 * even after the dispatcher copies its settings onto it.
 */
export class DnsCommand extends Command {
  override copyInheritedSettings(source: Command): this {
    super.copyInheritedSettings(source);
    this.helpOption("--help");
    return this;
  }
}

/** Parsed `[ip...] [container]` of dns-add / dns-remove. */
export interface DnsArgs {
  ips: string[];
  container?: string;
}

/**
 * Splits the positional arguments: leading IPv4 addresses (a `/prefix` is
 * dropped), then at most one container. Undefined when the shape is wrong.
 *
 * @example
 * ```ts
 * import { parseDnsArgs } from "./dns_add.ts";
 * parseDnsArgs(["10.32.0.1/12", "web"]); // { ips: ["10.32.0.1"], container: "web" }
 * ```
 */
export function parseDnsArgs(args: string[]): DnsArgs | undefined {
  const ips: string[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/\d{1,2})?$/.exec(args[i]);
    if (!m || m[1].split(".").some((octet) => Number(octet) > 255)) break;
    ips.push(m[1]);
  }
  const rest = args.slice(i);
  if (rest.length > 1) return undefined;
  return { ips, container: rest[0] };
}

/** Flags of dns-add / dns-remove. */
export type DnsFlags = TargetFlags & { h?: string };

/** Builds the `dns-add` command. */
export function dnsAddCommand(ctx: CommandContext): Command {
  return withTargetOptions(new DnsCommand("dns-add"))
    .description("add weaveDNS records: [ip...] <container> -h <fqdn>, or ip... -h <fqdn>")
    .option("-h <fqdn>", "fully qualified name to register")
    .argument("[args...]", "IP addresses, then the container")
    .action(async (args: string[], flags: DnsFlags) => {
      ctx.exit(await runDnsAdd(args, flags, ctx.io));
    });
}

/** The IPs the router has attached for container `id` (from `GET /ps`). */
async function attachedIps(targets: ApiTarget[], id: string): Promise<string[]> {
  const res = await callRouter(targets, "GET", `/ps?container=${encodeURIComponent(id)}`);
  if (res.status !== 200) return [];
  const entry = parsePs(res.body).find((e) => e.id === id);
  return (entry?.cidrs ?? []).map((c) => c.split("/")[0]);
}

/** Runs `weave dns-add`; returns the exit code. */
export function runDnsAdd(args: string[], flags: DnsFlags, io: CliIo): Promise<number> {
  const parsed = parseDnsArgs(args);
  if (!parsed || !(parsed.container || (parsed.ips.length > 0 && flags.h))) {
    io.err(USAGE);
    return Promise.resolve(1);
  }
  return guard(io, async () => {
    const targets = resolveTargets(flags, io);
    let container = parsed.container ?? EXTERN_CONTAINER;
    let ips = parsed.ips;
    let fqdn = flags.h;
    if (parsed.container) {
      // A Docker container: its router id, its weave addresses and its hostname, as Weave.
      const c = await containerArg(parsed.container, io);
      if (c.docker) {
        container = routerId(parsed.container, c);
        fqdn ??= dockerFqdn(c.docker);
        if (ips.length === 0) ips = await attachedIps(targets, container);
      }
    }
    if (ips.length === 0 || !fqdn) {
      const missing = ips.length === 0 ? "its IP addresses" : "its name (-h <fqdn>)";
      io.err(`weave dns-add: give ${missing} for container "${parsed.container}"\n`);
      return 1;
    }
    for (const ip of ips) {
      const path = `/name/${encodeURIComponent(container)}/${ip}`;
      const code = printAnswer(
        io,
        await callRouter(targets, "PUT", path, { form: { fqdn } }),
      );
      if (code !== 0) return code;
    }
    return 0;
  });
}
