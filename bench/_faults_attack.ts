/**
 * The attacks of the fault campaign, each against one socket of a victim router, and the
 * watcher that checks an honest peer and an API client keep being served meanwhile. Each
 * attack returns what it tried and how many inputs the victim left hanging (a connection it
 * neither answered nor closed within the allowed time, a request without an answer).
 *
 * @module
 */
import { formatPeerName, type PeerName } from "../lib/peer_name.ts";
import { encodeFeatures } from "../mesh/features.ts";
import { performHandshake } from "../mesh/handshake.ts";
import { UdpAddr, UdpSocket } from "../sys/udp.ts";
import {
  attackerFeatures,
  httpProbe,
  meshMessage,
  preHandshakeInput,
  type Random,
  sleeveDatagram,
} from "./_faults_inputs.ts";

/** What one attack tried. */
export interface AttackResult {
  part: string;
  inputs: number;
  /** Inputs the victim left without an answer or a close in time (must be 0). */
  hangs: number;
  /** Answers that were server errors (HTTP 5xx; must be 0). */
  serverErrors: number;
}

/** Where the victim listens. */
export interface VictimAddress {
  host: string;
  port: number;
  name: PeerName;
  /** `host:port` of its control API. */
  api?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `n` jobs, `parallel` at a time. */
async function pool(n: number, parallel: number, job: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < n) await job(next++);
  }));
}

/** Reads until the peer closes; false if it is still open after `ms`. */
async function closedWithin(conn: Deno.Conn, ms: number): Promise<boolean> {
  const buf = new Uint8Array(65536);
  const drain = (async () => {
    try {
      while ((await conn.read(buf)) !== null) { /* discard */ }
    } catch { /* reset: closed */ }
    return true;
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((r) => timer = setTimeout(() => r(false), ms));
  const closed = await Promise.race([drain, late]);
  clearTimeout(timer);
  try {
    conn.close();
  } catch { /* closed */ }
  await drain;
  return closed;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let o = 0; o < bytes.length;) o += await conn.write(bytes.subarray(o));
}

/**
 * TCP before the handshake: hostile bytes, then the attacker stops sending. The victim must
 * close within its handshake timeout (`closeWithinMs`).
 */
export async function attackTcpBeforeHandshake(
  v: VictimAddress,
  r: Random,
  n: number,
  closeWithinMs: number,
): Promise<AttackResult> {
  let hangs = 0;
  await pool(n, 8, async () => {
    const conn = await Deno.connect({ hostname: v.host, port: v.port });
    try {
      await writeAll(conn, preHandshakeInput(r));
      await conn.closeWrite();
    } catch { /* the victim closed first */ }
    if (!await closedWithin(conn, closeWithinMs)) hangs++;
  });
  return { part: "TCP 6783 before the handshake", inputs: n, hangs, serverErrors: 0 };
}

/**
 * TCP after a completed handshake (as a made-up peer): `perSession` mutated or well-formed
 * messages in valid framing, then silence; the victim may keep a session it finds valid, so
 * only failures to complete the handshake count as hangs.
 */
export async function attackTcpAfterHandshake(
  v: VictimAddress,
  r: Random,
  sessions: number,
  perSession: number,
): Promise<AttackResult> {
  let hangs = 0;
  await pool(sessions, 4, async (i) => {
    const conn = await Deno.connect({ hostname: v.host, port: v.port });
    const name = 0x02000000c000n + BigInt(i);
    try {
      const { writer } = await performHandshake(conn, {
        outbound: true,
        features: encodeFeatures(attackerFeatures(r, formatPeerName(name))),
        timeoutMs: 15_000,
      });
      for (let k = 0; k < perSession; k++) {
        await writeAll(conn, writer.frame(meshMessage(r, name, v.name)));
      }
      await sleep(20);
    } catch (e) {
      if (/timed out/.test((e as Error).message)) hangs++;
    }
    try {
      conn.close();
    } catch { /* closed */ }
  });
  return {
    part: "TCP 6783 after the handshake",
    inputs: sessions * perSession,
    hangs,
    serverErrors: 0,
  };
}

/** UDP datagrams to the sleeve port, under the name of `sender` (a real peer) and others. */
export async function attackSleeve(
  v: VictimAddress,
  r: Random,
  n: number,
  sender: PeerName,
): Promise<AttackResult> {
  const socket = UdpSocket.open({ host: "127.0.0.1", port: 0 });
  const to = new UdpAddr(v.host, v.port);
  try {
    for (let i = 0; i < n; i++) {
      const d = sleeveDatagram(r, sender, v.name).slice();
      socket.sendTo(d, d.length, to, false);
      if (i % 64 === 63) await sleep(1); // let the victim read: a full buffer only drops
    }
  } finally {
    await socket.close();
  }
  return { part: "UDP 6783 sleeve", inputs: n, hangs: 0, serverErrors: 0 };
}

/**
 * The HTTP API: bad paths, methods and escapes, huge headers and bodies, junk targets, while
 * `slowClients` connections send a request header one byte at a time.
 */
export async function attackHttp(
  v: VictimAddress,
  r: Random,
  n: number,
  slowClients: number,
): Promise<AttackResult> {
  const [host, port] = [v.api!.slice(0, v.api!.lastIndexOf(":")), Number(v.api!.split(":").pop())];
  const slow = await Promise.all(
    Array.from({ length: slowClients }, () => Deno.connect({ hostname: host, port })),
  );
  let stopSlow = false;
  const trickle = Promise.all(slow.map(async (c) => {
    const head = new TextEncoder().encode("GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    try {
      for (let i = 0; !stopSlow; i++) {
        await c.write(head.subarray(i % head.length, (i % head.length) + 1));
        await sleep(50);
      }
    } catch { /* the server closed it */ }
    try {
      c.close();
    } catch { /* closed */ }
  }));
  let hangs = 0, serverErrors = 0;
  try {
    await pool(n, 4, async () => {
      const p = httpProbe(r);
      try {
        const res = await fetch(`http://${v.api}${p.path}`, {
          method: p.method,
          headers: p.headers,
          body: p.method === "GET" || p.method === "HEAD" ? undefined : p.body,
          signal: AbortSignal.timeout(5_000),
        });
        await res.body?.cancel();
        if (res.status >= 500) serverErrors++;
      } catch (e) {
        if ((e as Error).name === "TimeoutError") hangs++;
        // Otherwise the client refused to send it (e.g. an invalid header): not the server's.
      }
    });
  } finally {
    stopSlow = true;
    await trickle;
  }
  return { part: "HTTP API", inputs: n + slowClients, hangs, serverErrors };
}

/** How an honest peer and an API client fared while an attack ran. */
export interface HonestReport {
  /** Longest stretch (ms) the honest peer's connection to the victim was not established. */
  maxOutageMs: number;
  /** Slowest answer (ms) to `GET /status` on the victim's API (when it has one). */
  maxStatusMs: number;
}

/**
 * Samples every 100 ms, until `stop()`: is `connected()` true, and how long does the
 * victim's API take to answer `GET /status`.
 */
export function watchHonest(
  connected: () => boolean,
  api: string | undefined,
): { stop(): Promise<HonestReport> } {
  let running = true;
  const report: HonestReport = { maxOutageMs: 0, maxStatusMs: 0 };
  const loop = (async () => {
    let downSince: number | undefined;
    while (running) {
      const now = performance.now();
      if (connected()) downSince = undefined;
      else {
        downSince ??= now;
        report.maxOutageMs = Math.max(report.maxOutageMs, now - downSince);
      }
      if (api) {
        const t = performance.now();
        try {
          const res = await fetch(`http://${api}/status`, { signal: AbortSignal.timeout(10_000) });
          await res.body?.cancel();
        } catch { /* counted by its time */ }
        report.maxStatusMs = Math.max(report.maxStatusMs, performance.now() - t);
      }
      await sleep(100);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return report;
    },
  };
}
