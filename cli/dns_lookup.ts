/**
 * `weave dns-lookup <name>`: asks the router where weaveDNS listens
 * (`GET /dns-address-port`, or `/dns-address` and port 53 as Weave's script
 * does with `dig`), sends an A query over UDP and prints the addresses one per
 * line like `dig +short`. No answer at all prints dig's message and exits 9.
 *
 * @module
 */
import { Command } from "commander";
import { decodePacket, DnsFlag, encodePacket } from "../dns/packet.ts";
import { splitHostPort } from "../dns/server.ts";
import { udpExchange } from "../dns/upstream.ts";
import type { CliIo, CommandContext } from "./io.ts";
import {
  callRouter,
  guard,
  printAnswer,
  resolveTargets,
  type TargetFlags,
  withTargetOptions,
} from "./target.ts";
import { USAGE } from "./usage.ts";

/** How long to wait for each of the tries (dig: 5 s). */
export const LOOKUP_TIMEOUT_MS = 5_000;
const TRIES = 2;

/** Builds the `dns-lookup` command. */
export function dnsLookupCommand(ctx: CommandContext): Command {
  return withTargetOptions(new Command("dns-lookup"))
    .description("look a name up in weaveDNS")
    .argument("[name...]")
    .option("--timeout <ms>", "wait for an answer this long per try", String(LOOKUP_TIMEOUT_MS))
    .action(async (names: string[], flags: TargetFlags & { timeout: string }) => {
      ctx.exit(await runDnsLookup(names, flags, ctx.io));
    });
}

/** Runs `weave dns-lookup`; returns the exit code. */
export function runDnsLookup(
  names: string[],
  flags: TargetFlags & { timeout?: string },
  io: CliIo,
): Promise<number> {
  if (names.length !== 1) {
    io.err(USAGE);
    return Promise.resolve(1);
  }
  return guard(io, async () => {
    const targets = resolveTargets(flags, io);
    let res = await callRouter(targets, "GET", "/dns-address-port");
    let address = res.body.trim();
    if (res.status === 404) {
      res = await callRouter(targets, "GET", "/dns-address");
      address = `${res.body.trim()}:53`;
    }
    if (res.status < 200 || res.status >= 300) return printAnswer(io, res);
    const { host, port } = splitHostPort(address);
    const addrs = await lookup(names[0], host, port, Number(flags.timeout ?? LOOKUP_TIMEOUT_MS));
    if (addrs === undefined) {
      io.out(";; connection timed out; no servers could be reached\n");
      return 9;
    }
    for (const a of addrs) io.out(`${a}\n`);
    return 0;
  });
}

/** A records of `name` from the server, or undefined when it never answered. */
async function lookup(
  name: string,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<string[] | undefined> {
  const id = crypto.getRandomValues(new Uint16Array(1))[0];
  const query = encodePacket({
    id,
    flags: DnsFlag.RECURSION_DESIRED,
    questions: [{ name, type: "A", class: "IN" }],
  });
  const server = host === "0.0.0.0" ? "127.0.0.1" : host;
  for (let i = 0; i < TRIES; i++) {
    try {
      const answer = decodePacket(await udpExchange(query, server, port, timeoutMs));
      return (answer.answers ?? []).filter((a) => a.type === "A").map((a) => String(a.data));
    } catch {
      // Timed out or unreadable: try again.
    }
  }
  return undefined;
}
