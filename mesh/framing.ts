/**
 * Message framing of the mesh TCP connection after the intro (spec §1.3,
 * §1.5): each message is a u32 BE length and then that many bytes. With a
 * password the body is a NaCl secretbox whose nonce is never sent: each
 * direction numbers its messages from 0 and both ends derive the nonce from
 * that number and from who dialled the connection (see {@link tcpNonce}).
 *
 * The reader is incremental: push whatever the socket delivered, then take
 * complete messages with `next()` until it returns `null`. Lengths above
 * 10 MiB are refused on both sides, as Go's `maxTCPMsgSize`; the reader
 * refuses as soon as it sees the prefix, before buffering the body.
 *
 * @module
 */
import { open, seal, SEAL_OVERHEAD, tcpNonce } from "./crypto.ts";

/** Largest length prefix allowed on send and receive (10 MiB). */
export const MAX_TCP_MESSAGE_SIZE = 10 * 1024 * 1024;
/** Size of the length prefix. */
export const LENGTH_PREFIX_SIZE = 4;

/** Options shared by {@link FrameWriter} and {@link FrameReader}. */
export interface FramingOptions {
  /** Session key; when present every body is a secretbox under it. */
  key?: Uint8Array;
  /** True on the side that dialled the TCP connection. */
  outbound: boolean;
}

/**
 * Turns plaintext messages into length-prefixed (and, with a key, sealed)
 * frames for one direction. Not reusable across connections.
 *
 * @example
 * ```ts
 * import { FrameWriter } from "./framing.ts";
 * const w = new FrameWriter({ outbound: true });
 * w.frame(new Uint8Array([0])); // 00 00 00 01 00
 * ```
 */
export class FrameWriter {
  #key?: Uint8Array;
  #outbound: boolean;
  #seq = 0n;
  #nonce = new Uint8Array(24);

  /** Starts a writer whose first sealed message uses sequence number 0. */
  constructor(opts: FramingOptions) {
    this.#key = opts.key;
    this.#outbound = opts.outbound;
  }

  /** Frames one message; throws `RangeError` when the body would exceed 10 MiB. */
  frame(plaintext: Uint8Array): Uint8Array {
    const bodyLength = plaintext.length + (this.#key ? SEAL_OVERHEAD : 0);
    if (bodyLength > MAX_TCP_MESSAGE_SIZE) {
      throw new RangeError(
        `Cannot frame message: body of ${bodyLength} bytes exceeds the limit of ${MAX_TCP_MESSAGE_SIZE}`,
      );
    }
    const out = new Uint8Array(LENGTH_PREFIX_SIZE + bodyLength);
    new DataView(out.buffer).setUint32(0, bodyLength);
    if (this.#key) {
      tcpNonce(this.#outbound, this.#seq, this.#nonce);
      out.set(seal(plaintext, this.#nonce, this.#key), LENGTH_PREFIX_SIZE);
      this.#seq++;
    } else {
      out.set(plaintext, LENGTH_PREFIX_SIZE);
    }
    return out;
  }
}

/**
 * Splits the received byte stream of one direction back into messages,
 * opening each secretbox when a key is set. Any chunking of the stream gives
 * the same messages. After an error every later `next()` throws it again.
 *
 * @example
 * ```ts
 * import { FrameReader } from "./framing.ts";
 * const r = new FrameReader({ outbound: false });
 * r.push(new Uint8Array([0, 0, 0, 1]));
 * r.next(); // null: body not here yet
 * r.push(new Uint8Array([4]));
 * r.next(); // [4]
 * ```
 */
export class FrameReader {
  #key?: Uint8Array;
  #remoteOutbound: boolean;
  #seq = 0n;
  #nonce = new Uint8Array(24);
  #buf = new Uint8Array(4096);
  #start = 0;
  #end = 0;
  #error?: Error;

  /** Starts a reader expecting the remote's sequence numbers from 0. */
  constructor(opts: FramingOptions) {
    this.#key = opts.key;
    // The remote sets bit 7 of its nonces when it dialled, i.e. when we did not.
    this.#remoteOutbound = !opts.outbound;
  }

  /** Number of received bytes not yet returned as messages. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Appends bytes received from the socket (copied; the caller may reuse `chunk`). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#reserve(chunk.length);
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /**
   * Returns the next complete message, or `null` when more bytes are needed.
   * Throws `RangeError` for a length prefix above 10 MiB and `Error` when a
   * sealed body fails to authenticate.
   */
  next(): Uint8Array | null {
    if (this.#error) throw this.#error;
    if (this.buffered < LENGTH_PREFIX_SIZE) return null;
    const length = new DataView(this.#buf.buffer, this.#start, LENGTH_PREFIX_SIZE).getUint32(0);
    if (length > MAX_TCP_MESSAGE_SIZE) {
      return this.#fail(
        new RangeError(
          `Cannot read message: length prefix ${length} exceeds the limit of ${MAX_TCP_MESSAGE_SIZE}`,
        ),
      );
    }
    if (this.buffered < LENGTH_PREFIX_SIZE + length) return null;
    const bodyStart = this.#start + LENGTH_PREFIX_SIZE;
    const body = this.#buf.subarray(bodyStart, bodyStart + length);
    this.#start = bodyStart + length;
    if (!this.#key) return body.slice();
    tcpNonce(this.#remoteOutbound, this.#seq, this.#nonce);
    const plain = open(body, this.#nonce, this.#key);
    if (plain === null) {
      return this.#fail(
        new Error(
          `Cannot decrypt message ${this.#seq} of ${length} bytes: authentication failed (wrong password?)`,
        ),
      );
    }
    this.#seq++;
    return plain;
  }

  #fail(error: Error): never {
    this.#error = error;
    throw error;
  }

  /** Makes room for `extra` more bytes after `#end`, compacting or growing. */
  #reserve(extra: number): void {
    if (this.#end + extra <= this.#buf.length) return;
    const live = this.#end - this.#start;
    if (live + extra <= this.#buf.length && this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
    } else {
      let size = this.#buf.length;
      while (size < live + extra) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = grown;
    }
    this.#start = 0;
    this.#end = live;
  }
}
