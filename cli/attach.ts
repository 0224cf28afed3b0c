/**
 * `weave attach [addr...] [--without-dns] [-h|--hostname <fqdn>] [--no-multicast-route]
 * <container>`: asks the router to plumb the container (a network namespace: `ip netns` name,
 * pid or namespace path) onto the weave bridge with the given addresses, then prints the IPs as
 * Weave does (`10.32.0.1 10.32.0.2`).
 *
 * weaveDNS: with `-h`/`--hostname` the addresses are registered under that name (a bare name
 * goes into the weaveDNS domain); an `ip netns` container also gets
 * `/etc/netns/<name>/resolv.conf` pointing at weaveDNS. `--without-dns` does neither. As in
 * `dns-add`, `-h` is the hostname here, not help (`--help` is).
 *
 * `<addr>` is `[ip:]<cidr>`, `net:<cidr>` or `net:default` (also what no address means). With IP
 * allocation on, the router claims a `[ip:]<cidr>` address for the container (refusing one that
 * another container or peer holds, with Weave's `Unable to claim: …`) and allocates the `net:`
 * ones; without it, `net:` forms are refused. Also holds the argument and answer helpers the
 * detach/expose/hide/ps commands share.
 *
 * @module
 */
import type { Command } from "commander";
import type { FormFields } from "../api/client.ts";
import { dockerFqdn } from "../docker/resolve.ts";
import { containerArg } from "./docker_container.ts";
import { DnsCommand } from "./dns_add.ts";
import type { CliIo, CommandContext } from "./io.ts";
import {
  callRouter,
  guard,
  resolveTargets,
  type TargetFlags,
  withTargetOptions,
} from "./target.ts";
import { USAGE } from "./usage.ts";

const CIDR = /^\d{1,3}(?:\.\d{1,3}){3}\/\d{1,2}$/;

/** Leading address arguments and what follows them. */
export interface AddrArgs {
  /** The `[ip:]<cidr>` addresses, `ip:` dropped. */
  cidrs: string[];
  /** The `net:<cidr>` and `net:default` forms, for IPAM to allocate. */
  ipam: string[];
  /** The arguments after the addresses. */
  rest: string[];
}

/**
 * Splits leading `<addr>` arguments (`[ip:]<cidr>`, `net:<cidr>`, `net:default`) from the rest,
 * as Weave's `collect_cidr_args` does.
 *
 * @example
 * ```ts
 * import { parseAddrArgs } from "./attach.ts";
 * parseAddrArgs(["ip:10.32.0.1/12", "c1"]); // { cidrs: ["10.32.0.1/12"], ipam: [], rest: ["c1"] }
 * ```
 */
export function parseAddrArgs(args: readonly string[]): AddrArgs {
  const out: AddrArgs = { cidrs: [], ipam: [], rest: [] };
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i];
    if (CIDR.test(a)) out.cidrs.push(a);
    else if (a.startsWith("ip:") && CIDR.test(a.slice(3))) out.cidrs.push(a.slice(3));
    else if (a === "net:default" || (a.startsWith("net:") && CIDR.test(a.slice(4)))) {
      out.ipam.push(a);
    } else break;
  }
  out.rest = args.slice(i);
  return out;
}

/** The message for `net:` address forms, which need IP allocation. */
export function ipamUnavailable(command: string, forms: readonly string[]): string {
  const what = forms.length ? forms.join(" ") : "no address (net:default)";
  return `weave ${command}: ${what}: IP address allocation is not available yet; ` +
    `give addresses as [ip:]<cidr>\n`;
}

/**
 * Weave's `show_addrs`: the IPs of CIDR lines, space separated, one line.
 *
 * @example
 * ```ts
 * import { showAddrs } from "./attach.ts";
 * showAddrs("10.32.0.1/12\n10.32.0.2/12\n"); // "10.32.0.1 10.32.0.2\n"
 * ```
 */
export function showAddrs(body: string): string {
  const ips = body.split("\n").filter((l) => l !== "").map((l) => l.split("/")[0]);
  return ips.join(" ") + "\n";
}

/**
 * Sends one plumbing request; a 2xx answer body goes through `onOk` to stdout, any other
 * answer's message to stderr with exit 1 (also 404 — an unknown container — which Weave reports
 * as an error rather than exit 4).
 */
export function callPlumbing(
  io: CliIo,
  flags: TargetFlags,
  request: { method: string; path: string; form?: FormFields },
  onOk: (body: string) => string,
): Promise<number> {
  return guard(io, async () => {
    const res = await callRouter(resolveTargets(flags, io), request.method, request.path, {
      form: request.form,
    });
    if (res.status >= 200 && res.status < 300) {
      io.out(onOk(res.body));
      return 0;
    }
    io.err(res.body.endsWith("\n") || res.body === "" ? res.body : res.body + "\n");
    return 1;
  });
}

/** Flags of `weave attach`. */
export type AttachFlags = TargetFlags & {
  multicastRoute?: boolean;
  hostname?: string;
  withoutDns?: boolean;
};

/** Builds the `attach` command. */
export function attachCommand(ctx: CommandContext): Command {
  return withTargetOptions(new DnsCommand("attach"))
    .description("attach a container (netns name, pid or path) to weave: [addr...] <container>")
    .option("--no-multicast-route", "do not route multicast (224.0.0.0/4) via ethwe")
    .option("-h, --hostname <fqdn>", "register the container's addresses in weaveDNS as <fqdn>")
    .option("--without-dns", "neither register names nor write the container's resolv.conf")
    .argument("[args...]", "addresses ([ip:]<cidr>), then the container")
    .action(async (args: string[], flags: AttachFlags) => {
      ctx.exit(await runAttach(args, flags, ctx.io));
    });
}

/** Runs `weave attach`; returns the exit code. */
export function runAttach(args: string[], flags: AttachFlags, io: CliIo): Promise<number> {
  const parsed = parseAddrArgs(args);
  if (parsed.rest.length !== 1) {
    io.err(USAGE);
    return Promise.resolve(1);
  }
  return guard(io, async () => {
    // A Docker name or id goes to the router as the container's pid (docker/resolve.ts).
    const c = await containerArg(parsed.rest[0], io);
    const hostname = flags.hostname ?? (c.docker ? dockerFqdn(c.docker) : undefined);
    return await attachResolved(c.ref, hostname, parsed, flags, io);
  });
}

function attachResolved(
  container: string,
  hostname: string | undefined,
  parsed: AddrArgs,
  flags: AttachFlags,
  io: CliIo,
): Promise<number> {
  const form = {
    container,
    cidr: parsed.cidrs,
    // Weave: no address at all means one from IPAM's default subnet.
    net: parsed.cidrs.length === 0 && parsed.ipam.length === 0 ? ["net:default"] : parsed.ipam,
    "no-multicast-route": flags.multicastRoute === false ? "true" : undefined,
    hostname,
    "without-dns": flags.withoutDns ? "true" : undefined,
  };
  return callPlumbing(io, flags, { method: "POST", path: "/attach", form }, showAddrs);
}
