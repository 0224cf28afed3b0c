/**
 * `weave dns-remove [ip...] <container> [-h <fqdn>]` and `weave dns-remove
 * ip... -h <fqdn>`: tombstones weaveDNS records as Weave's script does:
 * `DELETE /name/<container>/<ip>` for each address (`?fqdn=` with `-h`), or
 * `DELETE /name/<container>` for all of a container's records. Without a
 * container the records of `weave:extern` are meant.
 *
 * @module
 */
import type { Command } from "commander";
import { containerArg, routerId } from "./docker_container.ts";
import { DnsCommand, type DnsFlags, EXTERN_CONTAINER, parseDnsArgs } from "./dns_add.ts";
import type { CliIo, CommandContext } from "./io.ts";
import { callRouter, guard, printAnswer, resolveTargets, withTargetOptions } from "./target.ts";
import { USAGE } from "./usage.ts";

/** Builds the `dns-remove` command. */
export function dnsRemoveCommand(ctx: CommandContext): Command {
  return withTargetOptions(new DnsCommand("dns-remove"))
    .description("remove weaveDNS records: [ip...] <container> [-h <fqdn>], or ip... -h <fqdn>")
    .option("-h <fqdn>", "only records with this name")
    .argument("[args...]", "IP addresses, then the container")
    .action(async (args: string[], flags: DnsFlags) => {
      ctx.exit(await runDnsRemove(args, flags, ctx.io));
    });
}

/** Runs `weave dns-remove`; returns the exit code. */
export function runDnsRemove(args: string[], flags: DnsFlags, io: CliIo): Promise<number> {
  const parsed = parseDnsArgs(args);
  if (!parsed || !(parsed.container || (parsed.ips.length > 0 && flags.h))) {
    io.err(USAGE);
    return Promise.resolve(1);
  }
  return guard(io, async () => {
    let id = parsed.container ?? EXTERN_CONTAINER;
    if (parsed.container) id = routerId(id, await containerArg(parsed.container, io));
    const container = encodeURIComponent(id);
    const paths = parsed.ips.length === 0
      ? [`/name/${container}`]
      : parsed.ips.map((ip) =>
        `/name/${container}/${ip}` + (flags.h ? `?fqdn=${encodeURIComponent(flags.h)}` : "")
      );
    const targets = resolveTargets(flags, io);
    for (const path of paths) {
      const code = printAnswer(io, await callRouter(targets, "DELETE", path));
      if (code !== 0) return code;
    }
    return 0;
  });
}
