/**
 * Sleeve encryption (spec §4.2): each datagram is
 * `sender(6) || seqNoAndDF(u64 BE) || secretbox(frames, nonce, sessionKey)`.
 * The nonce is 24 bytes: byte 0 bit 7 is set when the *sender* dialled the TCP
 * connection (bit 6 stays 0, which keeps sleeve nonces apart from the TCP
 * ones), bytes 16..23 repeat `seqNoAndDF`, everything else is zero.
 *
 * A forwarder keeps two independent send counters, one for datagrams sent on
 * the non-DF path and one for the DF path (whose datagrams carry bit 63), and
 * the receiver keeps one {@link ReplayWindow} per DF flag. A number is only
 * marked as seen after its datagram authenticated, so forged packets cannot
 * burn sequence numbers.
 *
 * The secretbox is tweetnacl's (pure JS); a native libsodium binding can
 * replace it behind the same class once the data plane needs the speed.
 *
 * @module
 */
import nacl from "tweetnacl";
import type { PeerName } from "../../lib/peer_name.ts";
import {
  encodeEncryptedHeader,
  ENCRYPTED_HEADER_SIZE,
  SECRETBOX_OVERHEAD,
  splitEncrypted,
} from "./packet.ts";

/** Secretbox key length. */
export const SESSION_KEY_LENGTH = 32;
/** Secretbox nonce length. */
export const NONCE_LENGTH = 24;
/** Bytes encryption adds to the frames of one datagram: header 14 + tag 16 = 30 (plus the name, counted in 14). */
export const ENCRYPTION_OVERHEAD = ENCRYPTED_HEADER_SIZE + SECRETBOX_OVERHEAD;

/** log2 of the replay window size; the window is `seq >> 20`, the offset `seq & 0xFFFFF`. */
const WINDOW_BITS = 20n;
const WINDOW_SIZE = 1 << 20;
const DF_BIT = 1n << 63n;
const MAX_SEQ = DF_BIT - 1n;

/**
 * Builds the sleeve nonce for `seqNoAndDF` sent by a side that did
 * (`senderOutbound`) or did not dial the TCP connection.
 *
 * @example
 * ```ts
 * import { sleeveNonce } from "./crypto.ts";
 * const n = sleeveNonce(true, (1n << 63n) | 2n);
 * [n[0], n[16], n[23]]; // [0x80, 0x80, 2]
 * ```
 */
export function sleeveNonce(
  senderOutbound: boolean,
  seqNoAndDF: bigint,
  out: Uint8Array = new Uint8Array(NONCE_LENGTH),
): Uint8Array {
  if (out.length !== NONCE_LENGTH) {
    throw new RangeError(`Cannot build sleeve nonce: buffer has ${out.length} bytes, need 24`);
  }
  out.fill(0);
  out[0] = senderOutbound ? 0x80 : 0;
  new DataView(out.buffer, out.byteOffset, NONCE_LENGTH).setBigUint64(16, seqNoAndDF);
  return out;
}

/**
 * Replay protection over a window of 2×2^20 sequence numbers: a bitset for the
 * current window (`seq >> 20`) and one for the previous window. Older numbers
 * are refused, the window after the current one shifts the pair, any later
 * window clears both, and a number already seen is refused.
 *
 * @example
 * ```ts
 * import { ReplayWindow } from "./crypto.ts";
 * const w = new ReplayWindow();
 * [w.accept(0n), w.accept(2n), w.accept(0n)]; // [true, true, false]
 * ```
 */
export class ReplayWindow {
  #window = 0n;
  #current: Uint32Array | null = null;
  #previous: Uint32Array | null = null;

  /** Records `seq` and returns true if it was not seen and is not too old. */
  accept(seq: bigint): boolean {
    if (seq < 0n || seq > MAX_SEQ) return false;
    const window = seq >> WINDOW_BITS;
    const offset = Number(seq & BigInt(WINDOW_SIZE - 1));
    if (window === this.#window + 1n) {
      const recycled = this.#previous;
      this.#previous = this.#current;
      this.#current = recycled?.fill(0) ?? null;
      this.#window = window;
    } else if (window > this.#window + 1n) {
      this.#previous?.fill(0);
      this.#current?.fill(0);
      this.#window = window;
    }
    if (window === this.#window) {
      this.#current ??= new Uint32Array(WINDOW_SIZE / 32);
      return testAndSet(this.#current, offset);
    }
    if (window === this.#window - 1n) {
      this.#previous ??= new Uint32Array(WINDOW_SIZE / 32);
      return testAndSet(this.#previous, offset);
    }
    return false;
  }
}

function testAndSet(bits: Uint32Array, offset: number): boolean {
  const word = offset >>> 5;
  const mask = 1 << (offset & 31);
  if ((bits[word] & mask) !== 0) return false;
  bits[word] |= mask;
  return true;
}

/** Why {@link SleeveCipher.open} refused datagrams, counted. */
export interface CipherDrops {
  /** Too short, wrong key, tampered or forged. */
  auth: number;
  /** Authentic but already seen or older than the replay window. */
  replay: number;
}

/** Options of {@link SleeveCipher}. */
export interface SleeveCipherOptions {
  /** The connection's 32-byte session key. */
  sessionKey: Uint8Array;
  /** True when we dialled the TCP connection (sets nonce bit 7 on what we send). */
  outbound: boolean;
  /** Our peer name, written in clear at the start of every datagram. */
  localPeer: PeerName;
}

/**
 * The encryption state of one sleeve forwarder: two send counters and two
 * receive replay windows, one of each per DF flag.
 *
 * @example
 * ```ts
 * import { SleeveCipher } from "./crypto.ts";
 * const key = new Uint8Array(32).fill(7);
 * const a = new SleeveCipher({ sessionKey: key, outbound: true, localPeer: 1n });
 * const b = new SleeveCipher({ sessionKey: key, outbound: false, localPeer: 2n });
 * b.open(a.seal(new Uint8Array([1, 2, 3]), false)); // Uint8Array [1, 2, 3]
 * ```
 */
export class SleeveCipher {
  readonly drops: CipherDrops = { auth: 0, replay: 0 };
  readonly #key: Uint8Array;
  readonly #outbound: boolean;
  readonly #localPeer: PeerName;
  #nextSeq = { plain: 0n, df: 0n };
  readonly #replay = { plain: new ReplayWindow(), df: new ReplayWindow() };
  readonly #nonce = new Uint8Array(NONCE_LENGTH);

  constructor(options: SleeveCipherOptions) {
    if (options.sessionKey.length !== SESSION_KEY_LENGTH) {
      throw new RangeError(
        `Cannot create sleeve cipher: session key has ${options.sessionKey.length} bytes, need 32`,
      );
    }
    this.#key = options.sessionKey;
    this.#outbound = options.outbound;
    this.#localPeer = options.localPeer;
  }

  /**
   * Encrypts `plaintext` (encoded frames without the sender name) into a whole
   * datagram, using and advancing the DF or the non-DF counter.
   */
  seal(plaintext: Uint8Array, df: boolean): Uint8Array {
    const seq = this.consumeSeq(df);
    const seqNoAndDF = df ? seq | DF_BIT : seq;
    const nonce = sleeveNonce(this.#outbound, seqNoAndDF, this.#nonce);
    const box = nacl.secretbox(plaintext, nonce, this.#key);
    const datagram = new Uint8Array(ENCRYPTED_HEADER_SIZE + box.length);
    encodeEncryptedHeader(this.#localPeer, seqNoAndDF, datagram);
    datagram.set(box, ENCRYPTED_HEADER_SIZE);
    return datagram;
  }

  /**
   * Takes the next sequence number of one path without sending, as a send
   * that never leaves the host still uses up its number.
   */
  consumeSeq(df: boolean): bigint {
    const key = df ? "df" : "plain";
    const seq = this.#nextSeq[key];
    if (seq > MAX_SEQ) {
      throw new RangeError("Cannot seal sleeve datagram: sequence numbers used up");
    }
    this.#nextSeq[key] = seq + 1n;
    return seq;
  }

  /**
   * Authenticates and decrypts a whole datagram sent by the remote; returns the
   * plaintext frames, or null (counted in {@link drops}) when the datagram is
   * short, forged, tampered or replayed.
   */
  open(datagram: Uint8Array): Uint8Array | null {
    if (datagram.length < ENCRYPTED_HEADER_SIZE + SECRETBOX_OVERHEAD) {
      this.drops.auth++;
      return null;
    }
    const { seqNoAndDF, df, seq, ciphertext } = splitEncrypted(datagram);
    const nonce = sleeveNonce(!this.#outbound, seqNoAndDF, this.#nonce);
    const plaintext = nacl.secretbox.open(ciphertext, nonce, this.#key);
    if (plaintext === null) {
      this.drops.auth++;
      return null;
    }
    if (!this.#replay[df ? "df" : "plain"].accept(seq)) {
      this.drops.replay++;
      return null;
    }
    return plaintext;
  }
}
