/**
 * A tiny transfer tool for the end-to-end tests, run inside a container namespace with
 * `ip netns exec <c> deno run -A --unstable-net tests/_xfer.ts <mode> ...` (the machine has no
 * netcat or socat). Every mode prints one JSON line on stdout when done; receivers first print
 * `{"listening":true}` once their socket is bound.
 *
 * - `tcp-recv <port>`: accepts one connection, reads to EOF → `{ bytes, sha256 }`.
 * - `tcp-send <host> <port> <bytes>`: sends that many random bytes → `{ bytes, sha256 }`.
 * - `udp-recv <port> <count> <idleMs>`: takes datagrams `[u32 seq][u32 round][payload]` until
 *   `count` distinct ones arrived or none for `idleMs` → `{ received, datagrams, corrupt,
 *   reordered, bytes }`: `received` distinct sequence numbers, `datagrams` all (copies too),
 *   `corrupt` those whose payload is not the one its sequence number gives (or out of range),
 *   `reordered` those that came after a higher sequence number of the same round, `bytes` of the
 *   distinct payloads.
 * - `udp-send <host> <port> <count> <size> [rounds]`: sends `count` datagrams of `size` bytes
 *   (payload a function of the sequence number, so the receiver checks each one), paced,
 *   `rounds` times (default 1) → `{ sent, bytes }`.
 * - `mcast-recv <group> <port> <timeoutMs>`: joins `group` and waits for one datagram →
 *   `{ text, from }` or `{ timeout: true }`.
 * - `mcast-send <group> <port> <text> <count> <intervalMs>`: sends `text` to the group `count`
 *   times → `{ sent }`.
 * - `udp-raw <host> <port> <repeat> <hex>...`: sends each hex-given datagram `repeat` times
 *   (hostile input for the router's ports) → `{ sent }`.
 *
 * @module
 */
import { createHash } from "node:crypto";

const encoder = new TextEncoder();

function emit(value: unknown): void {
  Deno.stdout.writeSync(encoder.encode(JSON.stringify(value) + "\n"));
}

function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

async function tcpRecv(port: number): Promise<void> {
  const listener = Deno.listen({ hostname: "0.0.0.0", port });
  emit({ listening: true });
  const conn = await listener.accept();
  listener.close();
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of conn.readable) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  emit({ bytes, sha256: hash.digest("hex") });
}

async function tcpSend(host: string, port: number, total: number): Promise<void> {
  const conn = await Deno.connect({ hostname: host, port });
  const hash = createHash("sha256");
  const writer = conn.writable.getWriter();
  for (let sent = 0; sent < total;) {
    const chunk = randomBytes(Math.min(256 * 1024, total - sent));
    hash.update(chunk);
    await writer.write(chunk);
    sent += chunk.length;
  }
  await writer.close();
  emit({ bytes: total, sha256: hash.digest("hex") });
}

function listenUdp(port: number, hostname = "0.0.0.0"): Deno.DatagramConn {
  return Deno.listenDatagram({ transport: "udp", hostname, port });
}

/**
 * The payload of datagram `seq` (`size` bytes after the 8-byte header): a xorshift32 stream
 * seeded by `seq`, so that the receiver checks every datagram without being told its bytes.
 */
function udpPayload(seq: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = (Math.imul(seq + 1, 0x9e3779b1) | 1) >>> 0;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Datagram header: `[u32 seq][u32 round]`. */
const UDP_HEADER = 8;

async function udpRecv(port: number, count: number, idleMs: number): Promise<void> {
  const sock = listenUdp(port);
  emit({ listening: true });
  const got = new Set<number>();
  let datagrams = 0, corrupt = 0, reordered = 0, bytes = 0;
  const lastInRound = new Map<number, number>();
  let idle: ReturnType<typeof setTimeout> | undefined;
  const done = new Promise<void>((resolve) => {
    (async () => {
      try {
        for (;;) {
          const [data] = await sock.receive();
          datagrams++;
          clearTimeout(idle);
          idle = setTimeout(resolve, idleMs);
          const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
          const seq = data.length >= UDP_HEADER ? view.getUint32(0) : -1;
          const body = data.subarray(UDP_HEADER);
          const expected = seq >= 0 && seq < count ? udpPayload(seq, body.length) : undefined;
          if (!expected || body.length === 0 || expected.some((b, k) => b !== body[k])) {
            corrupt++;
            continue;
          }
          const round = view.getUint32(4);
          if ((lastInRound.get(round) ?? -1) > seq) reordered++;
          lastInRound.set(round, seq);
          if (!got.has(seq)) bytes += body.length;
          got.add(seq);
          if (got.size >= count) break;
        }
      } catch {
        // Closed after the idle timeout.
      }
      resolve();
    })();
  });
  await done;
  clearTimeout(idle);
  sock.close();
  emit({ received: got.size, datagrams, corrupt, reordered, bytes });
}

async function udpSend(
  host: string,
  port: number,
  count: number,
  size: number,
  rounds: number,
): Promise<void> {
  const sock = listenUdp(0);
  const datagrams = Array.from({ length: count }, (_, seq) => {
    const d = new Uint8Array(size);
    d.set(udpPayload(seq, size - UDP_HEADER), UDP_HEADER);
    new DataView(d.buffer).setUint32(0, seq);
    return d;
  });
  const to: Deno.NetAddr = { transport: "udp", hostname: host, port };
  let sent = 0;
  for (let r = 0; r < rounds; r++) {
    for (const d of datagrams) {
      new DataView(d.buffer).setUint32(4, r);
      await sock.send(d, to);
      if (++sent % 4 === 0) await new Promise((ok) => setTimeout(ok, 2));
    }
  }
  sock.close();
  emit({ sent, bytes: count * (size - UDP_HEADER) });
}

async function mcastRecv(group: string, port: number, timeoutMs: number): Promise<void> {
  const sock = listenUdp(port);
  await sock.joinMulticastV4(group, "0.0.0.0");
  emit({ listening: true });
  const timer = setTimeout(() => sock.close(), timeoutMs);
  try {
    const [data, from] = await sock.receive();
    emit({ text: new TextDecoder().decode(data), from: (from as Deno.NetAddr).hostname });
  } catch {
    emit({ timeout: true });
  } finally {
    clearTimeout(timer);
    try {
      sock.close();
    } catch {
      // Closed by the timer.
    }
  }
}

async function mcastSend(
  group: string,
  port: number,
  text: string,
  count: number,
  intervalMs: number,
): Promise<void> {
  const sock = listenUdp(0);
  const to: Deno.NetAddr = { transport: "udp", hostname: group, port };
  for (let i = 0; i < count; i++) {
    await sock.send(encoder.encode(text), to);
    await new Promise((ok) => setTimeout(ok, intervalMs));
  }
  sock.close();
  emit({ sent: count });
}

async function udpRaw(host: string, port: number, repeat: number, hex: string[]): Promise<void> {
  const sock = listenUdp(0);
  const to: Deno.NetAddr = { transport: "udp", hostname: host, port };
  let sent = 0;
  for (const h of hex) {
    const bytes = Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
    for (let i = 0; i < repeat; i++) {
      await sock.send(bytes, to);
      if (++sent % 8 === 0) await new Promise((ok) => setTimeout(ok, 2));
    }
  }
  sock.close();
  emit({ sent });
}

const [mode, ...args] = Deno.args;
const num = (i: number, fallback?: number) => {
  const v = args[i] === undefined ? fallback : Number(args[i]);
  if (v === undefined || !Number.isFinite(v)) {
    throw new TypeError(`Cannot run ${mode}: argument ${i + 1} must be a number`);
  }
  return v;
};
switch (mode) {
  case "tcp-recv":
    await tcpRecv(num(0));
    break;
  case "tcp-send":
    await tcpSend(args[0], num(1), num(2));
    break;
  case "udp-recv":
    await udpRecv(num(0), num(1), num(2));
    break;
  case "udp-send":
    await udpSend(args[0], num(1), num(2), num(3), num(4, 1));
    break;
  case "mcast-recv":
    await mcastRecv(args[0], num(1), num(2));
    break;
  case "mcast-send":
    await mcastSend(args[0], num(1), args[2], num(3), num(4));
    break;
  case "udp-raw":
    await udpRaw(args[0], num(1), num(2), args.slice(3));
    break;
  default:
    throw new TypeError(`Cannot run: unknown mode "${mode}"`);
}
