/**
 * The intro of a mesh TCP connection, protocol v2 (spec §1.2–§1.4), run by
 * both ends at once:
 *
 * 1. each side writes `weave 1 2` and reads the peer's header; the agreed
 *    version must be 2 (the only one we speak);
 * 2. each side writes its encryption flag: `00`, or `01` and a fresh 32-byte
 *    Curve25519 public key when a password is set; both must agree;
 * 3. each side writes its features (an already-encoded gob stream) as the
 *    first framed message, sealed under the session key in password mode.
 *
 * Every step writes and reads concurrently, so neither side waits for the
 * other to read first. The dialler sends what does not depend on the peer's
 * answer in its first write: the header, its flag (and key) and, without a
 * password, the features too; the accepting side sends its header at once
 * and the rest as soon as the dialler's header is valid (a stranger that
 * connects learns only the header, as from Go). That is one round trip
 * without a password and 1.5 with one, instead of three; the bytes are the
 * same, and the peer (Go's router too) reads them as they come. The whole intro runs under one deadline
 * (10 s, like Go's `headerTimeout`). On error the caller must close the stream: a read
 * may still be pending on it.
 *
 * @module
 */
import { concatBytes } from "../lib/bytes.ts";
import { deriveSessionKey, generateEphemeralKeyPair, KEY_LENGTH, type KeyPair } from "./crypto.ts";
import { FrameReader, FrameWriter } from "./framing.ts";
import {
  decodeProtocolHeader,
  encodeProtocolHeader,
  negotiateVersion,
  PROTOCOL_HEADER_LENGTH,
  PROTOCOL_MAX_VERSION,
  PROTOCOL_MIN_VERSION,
} from "./protocol_header.ts";

/** Default deadline for the whole intro, in milliseconds. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

const FLAG_PLAIN = 0x00;
const FLAG_ENCRYPTED = 0x01;
const READ_CHUNK_SIZE = 16 * 1024;

/** A byte stream in both directions; `Deno.Conn` satisfies it. */
export interface Duplex {
  /** Reads up to `p.length` bytes into `p`; resolves `null` at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p` and resolves how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
}

/** What {@link performHandshake} needs to know. */
export interface HandshakeOptions {
  /** True on the side that dialled the TCP connection. */
  outbound: boolean;
  /** The mesh password; absent or empty means an unencrypted connection. */
  password?: Uint8Array;
  /** Our features, already encoded as a gob stream; sent as the first message. */
  features: Uint8Array;
  /** Deadline for the whole intro; defaults to {@link HANDSHAKE_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Aborts the intro. */
  signal?: AbortSignal;
}

/** The outcome of a successful intro. */
export interface HandshakeResult {
  /** The protocol version in use (always 2). */
  version: 2;
  /** The remote's features message: raw gob bytes for the caller to decode. */
  remoteFeatures: Uint8Array;
  /** Frames our later messages (its sequence already counts the features). */
  writer: FrameWriter;
  /** Reads the remote's later messages; already holds bytes read past the features. */
  reader: FrameReader;
  /** The session key, present in password mode. */
  sessionKey?: Uint8Array;
}

/**
 * Runs the protocol v2 intro over `stream` and returns the framing state for
 * the rest of the connection.
 *
 * @example
 * ```ts ignore
 * import { performHandshake } from "./handshake.ts";
 * const conn = await Deno.connect({ hostname: "192.0.2.1", port: 6783 });
 * const { remoteFeatures, writer, reader } = await performHandshake(conn, {
 *   outbound: true,
 *   features: myEncodedFeatures,
 * });
 * ```
 */
export async function performHandshake(
  stream: Duplex,
  opts: HandshakeOptions,
): Promise<HandshakeResult> {
  const deadline = new Deadline(opts.timeoutMs ?? HANDSHAKE_TIMEOUT_MS, opts.signal);
  try {
    const io = new IntroStream(stream, deadline);
    const password = opts.password?.length ? opts.password : undefined;
    const pair = password ? generateEphemeralKeyPair() : undefined;
    const flag = pair
      ? Uint8Array.of(FLAG_ENCRYPTED, ...pair.publicKey)
      : Uint8Array.of(FLAG_PLAIN);
    // Without a password the features frame needs no key: it goes with the flag.
    const plainWriter = pair ? undefined : new FrameWriter({ outbound: opts.outbound });
    const header = encodeProtocolHeader(PROTOCOL_MIN_VERSION, PROTOCOL_MAX_VERSION);
    const rest = concatBytes([
      flag,
      plainWriter ? plainWriter.frame(opts.features) : new Uint8Array(0),
    ]);
    // The dialler sends it all at once; the accepting side, which anyone can reach, sends only
    // its header until the peer's header is valid (as Go: a stranger learns nothing more).
    const sessionKey = await exchange(
      io.writeAll(opts.outbound ? concatBytes([header, rest]) : header),
      readIntro(io, pair, password, opts.outbound ? undefined : rest),
    );
    const writer = plainWriter ?? new FrameWriter({ key: sessionKey, outbound: opts.outbound });
    const reader = new FrameReader({ key: sessionKey, outbound: opts.outbound });
    const remoteFeatures = plainWriter
      ? await io.readFrame(reader, "features")
      : await exchange(io.writeAll(writer.frame(opts.features)), io.readFrame(reader, "features"));
    return { version: 2, remoteFeatures, writer, reader, sessionKey };
  } finally {
    deadline.clear();
  }
}

/**
 * Reads the peer's header, sends `afterHeader` (if any) once it is valid, then reads its flag
 * (and key); the session key in password mode.
 */
async function readIntro(
  io: IntroStream,
  pair: KeyPair | undefined,
  password: Uint8Array | undefined,
  afterHeader: Uint8Array | undefined,
): Promise<Uint8Array | undefined> {
  await readHeader(io);
  if (!afterHeader) return await readFlag(io, pair, password);
  return await exchange(io.writeAll(afterHeader), readFlag(io, pair, password));
}

async function readHeader(io: IntroStream): Promise<void> {
  const ours = { min: PROTOCOL_MIN_VERSION, max: PROTOCOL_MAX_VERSION };
  const header = await io.readExact(PROTOCOL_HEADER_LENGTH, "protocol header");
  const theirs = decodeProtocolHeader(header);
  const version = negotiateVersion(ours, theirs);
  if (version !== 2) {
    throw new Error(
      `Cannot perform handshake: peer does not support protocol version 2 (it offers ${theirs.min}..${theirs.max})`,
    );
  }
}

/** Checks the peer's flag (reading its key); returns the session key in password mode. */
async function readFlag(
  io: IntroStream,
  pair: KeyPair | undefined,
  password: Uint8Array | undefined,
): Promise<Uint8Array | undefined> {
  const theirFlag = await io.readExact(1, "encryption flag");
  switch (theirFlag[0]) {
    case FLAG_PLAIN:
      if (pair) throw new Error("password specified, but peer requested an unencrypted connection");
      return undefined;
    case FLAG_ENCRYPTED: {
      if (!pair || !password) {
        throw new Error("no password specified, but peer requested an encrypted connection");
      }
      const remotePublic = await io.readExact(KEY_LENGTH, "public key");
      const key = await deriveSessionKey(remotePublic.slice(), pair.secretKey, password);
      pair.secretKey.fill(0);
      return key;
    }
    default:
      throw new Error(
        `Cannot perform handshake: encryption flag is ${theirFlag[0]}, expected 0 or 1`,
      );
  }
}

/**
 * Awaits a write and a read started together. Fails with whichever fails
 * first; the read's value is returned once both are done.
 */
async function exchange<T>(write: Promise<void>, read: Promise<T>): Promise<T> {
  write.catch(() => {});
  read.catch(() => {});
  const value = await Promise.race([read, write.then(() => read)]);
  await write;
  return value;
}

/** Reads and writes of the intro, bounded by the deadline, keeping bytes read ahead. */
class IntroStream {
  #stream: Duplex;
  #deadline: Deadline;
  #pending: Uint8Array = new Uint8Array(0);
  #scratch = new Uint8Array(READ_CHUNK_SIZE);

  constructor(stream: Duplex, deadline: Deadline) {
    this.#stream = stream;
    this.#deadline = deadline;
  }

  async writeAll(bytes: Uint8Array): Promise<void> {
    for (let off = 0; off < bytes.length;) {
      const n = await this.#deadline.race(this.#stream.write(bytes.subarray(off)));
      if (n <= 0) throw new Error(`Cannot perform handshake: write returned ${n}`);
      off += n;
    }
  }

  /** Reads exactly `n` bytes, keeping any surplus for the next read. */
  async readExact(n: number, what: string): Promise<Uint8Array> {
    while (this.#pending.length < n) {
      const chunk = await this.#readChunk();
      if (chunk === null) {
        throw new Error(
          `Cannot perform handshake: connection closed while reading ${what} (got ${this.#pending.length} of ${n} bytes)`,
        );
      }
      const joined = new Uint8Array(this.#pending.length + chunk.length);
      joined.set(this.#pending);
      joined.set(chunk, this.#pending.length);
      this.#pending = joined;
    }
    const out = this.#pending.subarray(0, n);
    this.#pending = this.#pending.subarray(n);
    return out;
  }

  /** Reads one framed message through `reader`, which keeps whatever follows it. */
  async readFrame(reader: FrameReader, what: string): Promise<Uint8Array> {
    reader.push(this.#pending);
    this.#pending = new Uint8Array(0);
    for (;;) {
      const msg = reader.next();
      if (msg !== null) return msg;
      const chunk = await this.#readChunk();
      if (chunk === null) {
        throw new Error(
          `Cannot perform handshake: connection closed while reading ${what} (got ${reader.buffered} bytes)`,
        );
      }
      reader.push(chunk);
    }
  }

  async #readChunk(): Promise<Uint8Array | null> {
    const n = await this.#deadline.race(this.#stream.read(this.#scratch));
    return n === null ? null : this.#scratch.slice(0, n);
  }
}

/** One timer and one abort listener bounding the whole intro. */
class Deadline {
  #timer: ReturnType<typeof setTimeout>;
  #signal?: AbortSignal;
  #onAbort?: () => void;
  #expired: Promise<never>;

  constructor(ms: number, signal?: AbortSignal) {
    let reject!: (e: Error) => void;
    this.#expired = new Promise<never>((_, r) => reject = r);
    this.#expired.catch(() => {});
    this.#timer = setTimeout(
      () => reject(new Error(`Cannot perform handshake: handshake timed out after ${ms} ms`)),
      ms,
    );
    if (!signal) return;
    const onAbort = () =>
      reject(new Error("Cannot perform handshake: aborted", { cause: signal.reason }));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    this.#signal = signal;
    this.#onAbort = onAbort;
  }

  /** Settles like `p`, or rejects once the deadline passes or the signal aborts. */
  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.#expired]);
  }

  clear(): void {
    clearTimeout(this.#timer);
    if (this.#signal && this.#onAbort) this.#signal.removeEventListener("abort", this.#onAbort);
  }
}
