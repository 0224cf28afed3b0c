/**
 * Outbound TCP with a bound local address, which `Deno.connect` cannot do:
 * Weave binds outbound connections to `--host` (mesh `createConnection`), so the
 * remote sees our listening address and discovery reports it correctly. This
 * wraps a `node:net` socket as the small duplex the mesh reads and writes.
 *
 * `node:net` is imported on the first dial, not with this module: it brings Node's streams
 * along (~5 MiB of a router's RSS, measured with a bare script), and a router started without
 * `--host` never dials this way.
 *
 * @module
 */
import type net from "node:net";
import type { Duplex } from "./handshake.ts";

/** A connected stream with its endpoints. */
export interface DialedStream extends Duplex {
  close(): void;
  readonly localAddr: { hostname: string; port: number };
  readonly remoteAddr: { hostname: string; port: number };
}

/** High-water mark of buffered, unread bytes before the socket is paused. */
const MAX_BUFFERED = 1 << 20;

/** Connects to `host:port` from `localAddress` (port chosen by the kernel). */
export async function dialFrom(
  host: string,
  port: number,
  localAddress: string,
): Promise<DialedStream> {
  const net = await import("node:net");
  return await new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, localAddress });
    socket.setNoDelay(true);
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(wrap(socket));
    });
  });
}

function wrap(socket: net.Socket): DialedStream {
  const chunks: Uint8Array[] = [];
  let buffered = 0;
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  socket.on("data", (chunk: Uint8Array) => {
    chunks.push(chunk);
    buffered += chunk.length;
    if (buffered > MAX_BUFFERED) socket.pause();
    notify();
  });
  socket.on("end", () => {
    ended = true;
    notify();
  });
  socket.on("close", () => {
    ended = true;
    notify();
  });
  socket.on("error", (e: Error) => {
    failure = e;
    notify();
  });
  return {
    localAddr: { hostname: socket.localAddress ?? "", port: socket.localPort ?? 0 },
    remoteAddr: { hostname: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 },
    async read(p: Uint8Array): Promise<number | null> {
      while (chunks.length === 0) {
        if (failure) throw failure;
        if (ended) return null;
        await new Promise<void>((r) => (wake = r));
      }
      const head = chunks[0];
      const n = Math.min(p.length, head.length);
      p.set(head.subarray(0, n));
      if (n === head.length) chunks.shift();
      else chunks[0] = head.subarray(n);
      buffered -= n;
      if (buffered <= MAX_BUFFERED / 2 && socket.isPaused()) socket.resume();
      return n;
    },
    write(p: Uint8Array): Promise<number> {
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        socket.write(p, (e?: Error | null) => (e ? reject(e) : resolve(p.length)));
      });
    },
    close() {
      socket.destroy();
      ended = true;
      notify();
    },
  };
}
