/**
 * `weave dns-args [docker run args…]`: prints the `docker run` arguments that
 * give a container weaveDNS, as Weave's script does (for
 * `docker run $(weave dns-args --name web) …`): `--dns=<weaveDNS address>`,
 * `--hostname=<name>.<domain>` when `--name` is given without `-h`/`--hostname`
 * (and fits Docker's 64 characters), and `--dns-search=<domain>` — or
 * `--dns-search=.` when the container has a hostname — unless `--dns-search`
 * is given. `--without-dns` prints nothing; so does a router without weaveDNS.
 * Like Weave's `echo -n`, no newline ends the output.
 *
 * The address is the router's `GET /dns-address` (169.254.53.1 by default,
 * where containers reach weaveDNS; Weave used the docker bridge's address).
 *
 * @module
 */
import { Command } from "commander";
import { MAX_DOCKER_HOSTNAME } from "../docker/proxy_rewrite.ts";
import type { CliIo, CommandContext } from "./io.ts";
import { callRouter, guard, resolveTargets, type TargetFlags } from "./target.ts";

/** What Weave's `dns_args` reads of the docker run arguments. */
export interface DnsArgsInput {
  withoutDns: boolean;
  name?: string;
  hostnameGiven: boolean;
  dnsSearchGiven: boolean;
}

/**
 * Reads the arguments Weave's `dns_args` looks at; everything else is ignored.
 *
 * @example
 * ```ts
 * import { parseDnsRunArgs } from "./dns_args.ts";
 * parseDnsRunArgs(["--name", "web", "-ti"]).name; // "web"
 * ```
 */
export function parseDnsRunArgs(args: readonly string[]): DnsArgsInput {
  const out: DnsArgsInput = { withoutDns: false, hostnameGiven: false, dnsSearchGiven: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--without-dns") out.withoutDns = true;
    else if (a === "--name") out.name = args[++i];
    else if (a.startsWith("--name=")) out.name = a.slice("--name=".length);
    else if (a === "-h" || a === "--hostname" || a.startsWith("--hostname=")) {
      out.hostnameGiven = true;
    } else if (a === "--dns-search" || a.startsWith("--dns-search=")) out.dnsSearchGiven = true;
  }
  return out;
}

/**
 * The arguments, without a trailing newline; `warn` gets Weave's message for a
 * name too long to be a hostname.
 *
 * @example
 * ```ts
 * import { formatDnsArgs } from "./dns_args.ts";
 * const input = { withoutDns: false, name: "web", hostnameGiven: false, dnsSearchGiven: false };
 * formatDnsArgs(input, { domain: "weave.local.", address: "169.254.53.1" }, () => {});
 * // "--dns=169.254.53.1 --hostname=web.weave.local --dns-search=."
 * ```
 */
export function formatDnsArgs(
  input: DnsArgsInput,
  dns: { domain: string; address: string },
  warn: (message: string) => void,
): string {
  if (input.withoutDns) return "";
  const args = [`--dns=${dns.address}`];
  let hasHostname = input.hostnameGiven;
  if (input.name && !hasHostname) {
    const hostname = `${input.name}.${dns.domain.replace(/\.$/, "")}`;
    if (hostname.length > MAX_DOCKER_HOSTNAME) {
      warn("Container name too long to be used as hostname\n");
    } else {
      args.push(`--hostname=${hostname}`);
      hasHostname = true;
    }
  }
  if (!input.dnsSearchGiven) args.push(`--dns-search=${hasHostname ? "." : dns.domain}`);
  return args.join(" ");
}

/** Builds the `dns-args` command (docker run arguments pass through unparsed). */
export function dnsArgsCommand(ctx: CommandContext): Command {
  return new DnsArgsCommand("dns-args")
    .description("print the docker run arguments for weaveDNS")
    .allowUnknownOption()
    .argument("[args...]", "docker run arguments (--name, -h, --dns-search, --without-dns)")
    .action(async (args: string[]) => {
      ctx.exit(await guard(ctx.io, () => runDnsArgs(args, ctx.io)));
    });
}

/** A command whose every option is the user's (only `--help` shows help). */
class DnsArgsCommand extends Command {
  override copyInheritedSettings(source: Command): this {
    super.copyInheritedSettings(source);
    this.helpOption("--help");
    return this;
  }
}

async function runDnsArgs(args: string[], io: CliIo): Promise<number> {
  // --http-addr / --socket choose the router; they are ours, not docker's.
  const flags: TargetFlags = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--http-addr" || a === "--socket") {
      flags[a === "--http-addr" ? "httpAddr" : "socket"] = args[++i];
    } else rest.push(a);
  }
  const input = parseDnsRunArgs(rest);
  if (input.withoutDns) return 0;
  const targets = resolveTargets(flags, io);
  const domain = await callRouter(targets, "GET", "/domain");
  if (domain.status === 404) return 0; // weaveDNS is off: nothing to add, as Weave
  const address = await callRouter(targets, "GET", "/dns-address");
  if (domain.status !== 200 || address.status !== 200) {
    io.err(`${(domain.status !== 200 ? domain : address).body.trim()}\n`);
    return 1;
  }
  io.out(
    formatDnsArgs(input, { domain: domain.body.trim(), address: address.body.trim() }, io.err),
  );
  return 0;
}
