/**
 * A stand-in upstream DNS server for the DNS benchmark: answers every
 * one-question UDP query with one A record (10.99.0.1, TTL 60), built
 * straight from the query bytes so that it costs as little as possible and
 * the benchmark measures our forwarding, not this server.
 *
 * Run as a script it listens on `--host` (default 127.0.0.2) and a free port,
 * prints `listening <port>` on stdout, and exits when stdin closes, so a
 * dying benchmark leaves nothing behind:
 *
 *     deno run -A bench/_dns_upstream.ts --host 127.0.0.2
 *
 * @module
 */
import dgram from "node:dgram";
import { readLines, writeOut } from "./_host.ts";

/** The address every answer carries. */
export const STAND_IN_ADDRESS = [10, 99, 0, 1];

const HEADER = 12;

/** Offset just past the first question, or -1 when the query is malformed. */
function questionEnd(q: Uint8Array): number {
  let i = HEADER;
  while (i < q.length) {
    const len = q[i];
    if (len === 0) return i + 5 <= q.length ? i + 5 : -1;
    if (len > 63) return -1; // no compression in a query's question
    i += 1 + len;
  }
  return -1;
}

/**
 * The answer to a raw query: header and question copied, QR/RA set, one A
 * record pointing back at the question name; null for anything that is not
 * a single-question query.
 */
export function standInAnswer(query: Uint8Array): Uint8Array | null {
  if (query.length < HEADER || (query[2] & 0x80) !== 0) return null;
  if (query[4] !== 0 || query[5] !== 1) return null;
  const end = questionEnd(query);
  if (end < 0) return null;
  const out = new Uint8Array(end + 16);
  out.set(query.subarray(0, end));
  out[2] = 0x80 | (query[2] & 0x79); // QR, keep opcode and RD
  out[3] = 0x80; // RA, NOERROR
  out.set([0, 1, 0, 1, 0, 0, 0, 0], 4); // QD 1, AN 1, NS 0, AR 0
  out.set([0xc0, HEADER, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...STAND_IN_ADDRESS], end);
  return out;
}

/** Binds the stand-in on `host`, port `port` (0: any free); resolves with the socket. */
export function startStandIn(host: string, port = 0): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: "udp4" });
    sock.on("error", reject);
    sock.on("message", (msg: Uint8Array, from: { address: string; port: number }) => {
      const reply = standInAnswer(new Uint8Array(msg));
      if (reply) sock.send(reply, from.port, from.address);
    });
    sock.bind(port, host, () => resolve(sock));
  });
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--host");
  const host = i >= 0 ? Deno.args[i + 1] : "127.0.0.2";
  const sock = await startStandIn(host);
  writeOut(`listening ${sock.address().port}\n`);
  for await (const _ of readLines(Deno.stdin.readable)) { /* wait for EOF */ }
  sock.close();
  Deno.exit(0);
}
