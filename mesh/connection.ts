/**
 * One TCP connection to a peer, after weaveworks/mesh `connection.go`: the
 * intro (header, encryption flag, features), registration of the remote with
 * the router, the overlay's data path, then a receive loop that dispatches
 * framed messages, a 30 s heartbeat and a 60 s read timeout.
 *
 * Every error ends the connection; the router learns of it once, through
 * {@link ConnectionHost.connectionClosed}. Nothing here throws to its caller.
 *
 * @module
 */
import { concatBytes } from "../lib/bytes.ts";
import type { Logger } from "../lib/log.ts";
import type { TimerId } from "../lib/timer.ts";
import { formatPeerName, type PeerName } from "../lib/peer_name.ts";
import { type Duplex, performHandshake } from "./handshake.ts";
import { decodeFeatures, encodeFeatures, parseFeatures } from "./features.ts";
import type { FrameReader, FrameWriter } from "./framing.ts";
import { decodeMessage, encodeMessage, ProtocolTag } from "./messages.ts";
import type { Overlay, OverlayConnection } from "./overlay.ts";

/** TCP heartbeat interval (mesh `tcpHeartbeat`). */
export const TCP_HEARTBEAT_MS = 30_000;
/** A connection silent for this long is closed (mesh read deadline). */
export const READ_TIMEOUT_MS = 60_000;
/** The whole intro must complete within this time (mesh `headerTimeout`). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** What the remote told us about itself in the features exchange. */
export interface RemotePeerInfo {
  name: PeerName;
  nickName: string;
  uid: bigint;
  connID: bigint;
  shortID?: number;
  trusted: boolean;
  overlays?: string[];
}

/** The router side of a connection (implemented by MeshRouter). */
export interface ConnectionHost {
  readonly log: Logger;
  readonly ourName: PeerName;
  readonly overlay: Overlay;
  readonly password?: Uint8Array;
  /** Our features for a connection to `remoteIP` (includes `Trusted`). */
  localFeatures(remoteIP: string, connID: bigint): Record<string, string>;
  /** Whether we trust `remoteIP` (inside `--trusted-subnets`). */
  trusts(remoteIP: string): boolean;
  /** Checks and records the remote peer; throws to refuse it. */
  registerRemote(conn: LocalConnection, remote: RemotePeerInfo): void;
  /** Adds the connection to our peer (tie-break, limit, gossip); throws to refuse it. */
  addConnection(conn: LocalConnection): void;
  /** The overlay says the data path works. */
  connectionEstablished(conn: LocalConnection): void;
  /** Handles a gossip message (tags 4–6); throws to close the connection. */
  handleGossip(conn: LocalConnection, tag: number, body: Uint8Array): void;
  /** The connection has ended (called exactly once). */
  connectionClosed(conn: LocalConnection, error: Error | undefined): void;
}

/** Options of {@link LocalConnection}. */
export interface LocalConnectionOptions {
  outbound: boolean;
  /** For outbound connections: a target from the command line (may introduce a new peer). */
  acceptNewPeer: boolean;
  /** `ip:port` of the remote end. */
  remoteAddr: { hostname: string; port: number };
  /** For outbound connections: the target address dialled (`host:port` as given). */
  targetAddress?: string;
  localAddr: { hostname: string; port: number };
  random64?: () => bigint;
  heartbeatMs?: number;
  readTimeoutMs?: number;
  handshakeTimeoutMs?: number;
}

/** A live connection to one peer. */
export class LocalConnection {
  readonly outbound: boolean;
  readonly acceptNewPeer: boolean;
  readonly remoteTCPAddr: string;
  readonly targetAddress?: string;
  readonly remoteIP: string;
  readonly localAddr: { hostname: string; port: number };
  readonly remoteAddr: { hostname: string; port: number };
  /** Set once the features are known. */
  remote?: RemotePeerInfo;
  connUID = 0n;
  established = false;
  /** True when the data path must be encrypted (not trusted both ways, and a password is set). */
  untrusted = true;
  overlayConn?: OverlayConnection;
  readonly startedAt = Date.now();
  /** Set by the router once it holds a peer-table reference for the remote. */
  refTaken = false;
  /** Bytes written to / read from the TCP stream after the intro. */
  bytesSent = 0;
  bytesReceived = 0;
  /** Socket writes made after the intro (each carries one or more frames). */
  writeCount = 0;

  #host: ConnectionHost;
  #stream: Duplex & { close(): void };
  #opts: LocalConnectionOptions;
  #writer?: FrameWriter;
  #reader?: FrameReader;
  /** Frames waiting for the write under way to finish. */
  #outbox: Uint8Array[] = [];
  #writing = false;
  #heartbeat?: TimerId;
  #readTimer?: TimerId;
  #closed = false;
  #added = false;
  #log: Logger;

  constructor(
    host: ConnectionHost,
    stream: Duplex & { close(): void },
    opts: LocalConnectionOptions,
  ) {
    this.#host = host;
    this.#stream = stream;
    this.#opts = opts;
    this.outbound = opts.outbound;
    this.acceptNewPeer = opts.acceptNewPeer;
    this.remoteAddr = opts.remoteAddr;
    this.localAddr = opts.localAddr;
    this.remoteIP = opts.remoteAddr.hostname;
    this.remoteTCPAddr = `${opts.remoteAddr.hostname}:${opts.remoteAddr.port}`;
    this.targetAddress = opts.targetAddress;
    this.#log = host.log.withPrefix(`->[${this.remoteTCPAddr}]`);
  }

  /** `name(nick)` of the remote, or `unknown` before the intro. */
  get remoteDisplay(): string {
    return this.remote ? `${formatPeerName(this.remote.name)}(${this.remote.nickName})` : "unknown";
  }

  /** The remote's name, once known. */
  get remoteName(): PeerName | undefined {
    return this.remote?.name;
  }

  /** Logs that the router added the connection. */
  logAdded(kind: "new" | "restarted" | "known"): void {
    const suffix = kind === "new" ? " (new peer)" : kind === "restarted" ? " (restarted peer)" : "";
    this.#log.info(`connection added${suffix}`);
  }

  /** Logs that the router deleted the connection. */
  logDeleted(): void {
    this.#log.info("connection deleted");
  }

  /** Whether the connection was added to the router (and so must be removed). */
  get added(): boolean {
    return this.#added;
  }

  /** Runs the connection until it ends. Never rejects. */
  async run(): Promise<void> {
    let error: Error | undefined;
    try {
      await this.#intro();
      if (this.#closed) return;
      this.#host.addConnection(this);
      this.#added = true;
      this.overlayConn!.confirm();
      this.#heartbeat = setInterval(
        () => this.send(ProtocolTag.Heartbeat, new Uint8Array(0)),
        this.#opts.heartbeatMs ?? TCP_HEARTBEAT_MS,
      );
      await this.#receiveLoop();
    } catch (e) {
      error = e instanceof Error ? e : new Error(String(e));
    }
    this.#finish(error);
  }

  async #intro(): Promise<void> {
    const connID = (this.#opts.random64 ?? randomUint64)();
    const features = this.#host.localFeatures(this.remoteIP, connID);
    let result;
    try {
      result = await performHandshake(this.#stream, {
        outbound: this.outbound,
        password: this.#host.password,
        features: encodeFeatures(features),
        timeoutMs: this.#opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
      });
    } catch (e) {
      throw new HandshakeError(e instanceof Error ? e.message : String(e), { cause: e });
    }
    this.#writer = result.writer;
    this.#reader = result.reader;
    const remoteFeatures = decodeFeatures(result.remoteFeatures);
    const parsed = parseFeatures(remoteFeatures);
    this.remote = {
      name: parsed.name,
      nickName: parsed.nickName,
      uid: parsed.uid,
      connID: parsed.connID,
      shortID: parsed.shortID,
      trusted: parsed.trusted,
      overlays: parsed.overlays,
    };
    this.connUID = connID ^ parsed.connID;
    this.#identified = true;
    this.#log = this.#host.log.withPrefix(`->[${this.remoteTCPAddr}|${this.remoteDisplay}]:`);
    this.#log.info(`connection ready; using protocol version ${result.version}`);
    this.#host.registerRemote(this, this.remote);
    this.untrusted = !(this.#host.trusts(this.remoteIP) && parsed.trusted);
    const sessionKey = this.#host.password && this.untrusted ? result.sessionKey : undefined;
    this.overlayConn = this.#host.overlay.prepareConnection({
      localPeer: this.#host.ourName,
      remotePeer: parsed.name,
      remoteNickName: parsed.nickName,
      localAddr: this.localAddr,
      remoteAddr: this.remoteAddr,
      outbound: this.outbound,
      connUID: this.connUID,
      sessionKey,
      remoteFeatures,
      sendControlMessage: (tag, body) => this.send(tag, body),
      onEstablished: () => this.#onEstablished(),
      onError: (e) => this.shutdown(e),
    });
  }

  /** The remote's features were valid (Go: `conn.remote` is set). */
  #identified = false;

  #onEstablished(): void {
    if (this.#closed || this.established) return;
    this.established = true;
    this.#log.info("connection fully established");
    if (this.#added) this.#host.connectionEstablished(this);
  }

  async #receiveLoop(): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    this.#resetReadTimer();
    while (!this.#closed) {
      const n = await this.#stream.read(buf);
      if (n === null) throw new Error("EOF");
      this.#resetReadTimer();
      this.bytesReceived += n;
      this.#reader!.push(buf.subarray(0, n));
      for (let msg = this.#reader!.next(); msg && !this.#closed; msg = this.#reader!.next()) {
        this.#dispatch(msg);
      }
    }
  }

  #dispatch(bytes: Uint8Array): void {
    const msg = decodeMessage(bytes);
    if (msg === null) return;
    switch (msg.tag) {
      case ProtocolTag.Heartbeat:
        return;
      case ProtocolTag.ConnectionEstablished:
      case ProtocolTag.FragmentationReceived:
      case ProtocolTag.PMTUVerified:
      case ProtocolTag.OverlayControlMsg:
        this.overlayConn?.controlMessage(msg.tag, msg.body);
        return;
      case ProtocolTag.Gossip:
      case ProtocolTag.GossipUnicast:
      case ProtocolTag.GossipBroadcast:
        this.#host.handleGossip(this, msg.tag, msg.body);
        return;
      default:
        this.#log.warn(`ignoring message with unknown tag ${msg.tag}`);
    }
  }

  #resetReadTimer(): void {
    clearTimeout(this.#readTimer);
    this.#readTimer = setTimeout(
      () => this.shutdown(new Error("read timeout: no message for 60s")),
      this.#opts.readTimeoutMs ?? READ_TIMEOUT_MS,
    );
  }

  /**
   * Queues a message (tag + body); messages go out in order. Frames queued
   * while a write is under way (or in the same turn of the event loop) go
   * out together in one write: the bytes are the same, but a busy router
   * needs far fewer socket operations.
   */
  send(tag: number, body: Uint8Array): void {
    if (this.#closed || !this.#writer) return;
    const frame = this.#writer.frame(encodeMessage(tag, body));
    this.bytesSent += frame.length;
    this.#outbox.push(frame);
    if (this.#writing) return;
    this.#writing = true;
    queueMicrotask(() => this.#drain());
  }

  /** Writes queued frames until none are left; a write error ends the connection. */
  async #drain(): Promise<void> {
    try {
      while (this.#outbox.length > 0 && !this.#closed) {
        const batch = concatBytes(this.#outbox);
        this.#outbox = [];
        this.writeCount++;
        await writeAll(this.#stream, batch);
      }
    } catch (e) {
      this.shutdown(e instanceof Error ? e : new Error(String(e)));
    } finally {
      this.#outbox = [];
      this.#writing = false;
    }
  }

  /** Ends the connection (idempotent). */
  shutdown(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pendingError ??= error;
    clearInterval(this.#heartbeat);
    clearTimeout(this.#readTimer);
    this.overlayConn?.stop();
    try {
      this.#stream.close();
    } catch { /* already closed */ }
  }

  #pendingError?: Error;
  #reported = false;

  #finish(error: Error | undefined): void {
    const reason = this.#pendingError ?? error;
    this.shutdown(reason);
    if (this.#reported) return;
    this.#reported = true;
    if (reason) {
      // As Go: until the remote is identified, every error is a handshake error.
      const text = !this.#identified
        ? `connection shutting down due to error during handshake: ${reason.message}`
        : `connection shutting down due to error: ${reason.message}`;
      this.#log.info(text);
    }
    this.#host.connectionClosed(this, reason);
  }
}

/** An error during the intro (header, flag, features). */
export class HandshakeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HandshakeError";
  }
}

async function writeAll(stream: Duplex, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await stream.write(bytes.subarray(off));
}

/** A random non-zero 64-bit value (UIDs, ConnIDs). */
export function randomUint64(): bigint {
  const b = new BigUint64Array(1);
  do crypto.getRandomValues(b); while (b[0] === 0n);
  return b[0];
}
