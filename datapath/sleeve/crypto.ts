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
 * The secretbox is libsodium's through FFI (sys/sodium.ts) when the library
 * loads, else tweetnacl's pure JS; both give identical bytes. The native one
 * writes into preallocated buffers ({@link SleeveCipher.sealInto},
 * {@link SleeveCipher.openInto}), so a datagram costs no allocation; the
 * fallback allocates its output per datagram, as tweetnacl's API must.
 *
 * @module
 */
import nacl from "tweetnacl";
import type { PeerName } from "../../lib/peer_name.ts";
import { secretboxOpen, secretboxSeal, sodiumAvailable } from "../../sys/sodium.ts";
import { ENCRYPTED_HEADER_SIZE, NAME_SIZE, SECRETBOX_OVERHEAD } from "./packet.ts";

/** Secretbox key length. */
export const SESSION_KEY_LENGTH = 32;
/** Secretbox nonce length. */
export const NONCE_LENGTH = 24;
/** Bytes encryption adds to the frames of one datagram: header 14 + tag 16 = 30 (plus the name, counted in 14). */
export const ENCRYPTION_OVERHEAD = ENCRYPTED_HEADER_SIZE + SECRETBOX_OVERHEAD;

/** log2 of the replay window size; the window is `seq >> 20`, the offset `seq & 0xFFFFF`. */
const WINDOW_BITS_N = 20;
const WINDOW_SIZE = 1 << WINDOW_BITS_N;
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
  #window = 0;
  #current: Uint32Array | null = null;
  #previous: Uint32Array | null = null;

  /** Records `seq` and returns true if it was not seen and is not too old. */
  accept(seq: bigint): boolean {
    if (seq < 0n || seq > MAX_SEQ) return false;
    return this.acceptParts(Number(seq >> 32n), Number(seq & 0xffffffffn));
  }

  /**
   * {@link accept} for a sequence number given as its high 31 and low 32 bits (as read from
   * the wire), without bigint arithmetic.
   */
  acceptParts(high: number, low: number): boolean {
    if (high < 0 || high > 0x7fffffff) return false;
    // seq >> 20 is below 2^43, exact in a double.
    const window = high * 4096 + (low >>> WINDOW_BITS_N);
    const offset = low & (WINDOW_SIZE - 1);
    if (window === this.#window + 1) {
      const recycled = this.#previous;
      this.#previous = this.#current;
      this.#current = recycled?.fill(0) ?? null;
      this.#window = window;
    } else if (window > this.#window + 1) {
      this.#previous?.fill(0);
      this.#current?.fill(0);
      this.#window = window;
    }
    if (window === this.#window) {
      this.#current ??= new Uint32Array(WINDOW_SIZE / 32);
      return testAndSet(this.#current, offset);
    }
    if (window === this.#window - 1) {
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

/** A secretbox implementation writing into caller-owned buffers. */
export interface SecretBox {
  /** `"libsodium"` or `"tweetnacl"`. */
  readonly name: string;
  /** Writes tag + ciphertext of `message` to `out[0, message.length + 16)`; returns that length. */
  seal(out: Uint8Array, message: Uint8Array, nonce: Uint8Array, key: Uint8Array): number;
  /** Writes the plaintext of `box` to `out`; returns its length, or -1 when it does not open. */
  open(out: Uint8Array, box: Uint8Array, nonce: Uint8Array, key: Uint8Array): number;
}

type Buf = Uint8Array<ArrayBuffer>;

/** libsodium through FFI (sys/sodium.ts); only usable when {@link sodiumAvailable} is true. */
export const libsodiumBox: SecretBox = {
  name: "libsodium",
  seal: (out, message, nonce, key) =>
    secretboxSeal(out as Buf, message as Buf, nonce as Buf, key as Buf),
  open: (out, box, nonce, key) => secretboxOpen(out as Buf, box as Buf, nonce as Buf, key as Buf),
};

/** tweetnacl (pure JS); allocates its result, then copies it into `out`. */
export const tweetnaclBox: SecretBox = {
  name: "tweetnacl",
  seal(out, message, nonce, key) {
    const box = nacl.secretbox(message, nonce, key);
    out.set(box);
    return box.length;
  },
  open(out, box, nonce, key) {
    const plain = nacl.secretbox.open(box, nonce, key);
    if (plain === null) return -1;
    out.set(plain);
    return plain.length;
  },
};

/**
 * libsodium when it loads, else tweetnacl.
 *
 * @example
 * ```ts ignore
 * import { defaultSecretBox } from "./crypto.ts";
 * defaultSecretBox().name; // "libsodium" where libsodium23 is installed
 * ```
 */
export function defaultSecretBox(): SecretBox {
  return sodiumAvailable() ? libsodiumBox : tweetnaclBox;
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
  /** The secretbox to use; {@link defaultSecretBox} by default. */
  box?: SecretBox;
}

const TWO_32 = 2 ** 32;

/**
 * The encryption state of one sleeve forwarder: two send counters and two
 * receive replay windows, one of each per DF flag.
 *
 * @example
 * ```ts
 * import { SleeveCipher, tweetnaclBox } from "./crypto.ts";
 * const key = new Uint8Array(32).fill(7);
 * const a = new SleeveCipher({ sessionKey: key, outbound: true, localPeer: 1n, box: tweetnaclBox });
 * const b = new SleeveCipher({ sessionKey: key, outbound: false, localPeer: 2n, box: tweetnaclBox });
 * b.open(a.seal(new Uint8Array([1, 2, 3]), false)); // Uint8Array [1, 2, 3]
 * ```
 */
export class SleeveCipher {
  readonly drops: CipherDrops = { auth: 0, replay: 0 };
  /** The secretbox in use. */
  readonly box: SecretBox;
  readonly #key: Uint8Array;
  readonly #outbound: boolean;
  readonly #name = new Uint8Array(NAME_SIZE);
  /** Next sequence numbers; doubles are exact far beyond any reachable count. */
  #nextPlain = 0;
  #nextDF = 0;
  readonly #replayPlain = new ReplayWindow();
  readonly #replayDF = new ReplayWindow();
  readonly #nonce = new Uint8Array(NONCE_LENGTH);

  constructor(options: SleeveCipherOptions) {
    if (options.sessionKey.length !== SESSION_KEY_LENGTH) {
      throw new RangeError(
        `Cannot create sleeve cipher: session key has ${options.sessionKey.length} bytes, need 32`,
      );
    }
    this.#key = options.sessionKey.slice();
    this.#outbound = options.outbound;
    this.box = options.box ?? defaultSecretBox();
    let n = options.localPeer;
    for (let i = NAME_SIZE - 1; i >= 0; i--, n >>= 8n) this.#name[i] = Number(n & 0xffn);
  }

  /**
   * Encrypts `plaintext` (encoded frames without the sender name) into a whole
   * datagram, using and advancing the DF or the non-DF counter.
   */
  seal(plaintext: Uint8Array, df: boolean): Uint8Array {
    const out = new Uint8Array(ENCRYPTED_HEADER_SIZE + SECRETBOX_OVERHEAD + plaintext.length);
    return out.subarray(0, this.sealInto(plaintext, df, out));
  }

  /**
   * Like {@link seal}, writing the datagram (`sender || seqNoAndDF || box`) at the start of
   * `out`, which needs `plaintext.length + 30` bytes and must not overlap `plaintext`; returns
   * the datagram length.
   */
  sealInto(plaintext: Uint8Array, df: boolean, out: Uint8Array): number {
    const need = ENCRYPTED_HEADER_SIZE + SECRETBOX_OVERHEAD + plaintext.length;
    if (out.length < need) {
      throw new RangeError(
        `Cannot seal sleeve datagram: buffer has ${out.length} bytes, need ${need}`,
      );
    }
    const seq = this.#take(df);
    const high = Math.floor(seq / TWO_32) + (df ? 0x80000000 : 0);
    const low = seq >>> 0;
    out.set(this.#name, 0);
    writeU32(out, NAME_SIZE, high);
    writeU32(out, NAME_SIZE + 4, low);
    this.#setNonce(this.#outbound, high, low);
    return ENCRYPTED_HEADER_SIZE +
      this.box.seal(out.subarray(ENCRYPTED_HEADER_SIZE), plaintext, this.#nonce, this.#key);
  }

  /**
   * Takes the next sequence number of one path without sending, as a send
   * that never leaves the host still uses up its number.
   */
  consumeSeq(df: boolean): bigint {
    return BigInt(this.#take(df));
  }

  #take(df: boolean): number {
    const seq = df ? this.#nextDF++ : this.#nextPlain++;
    if (seq >= Number.MAX_SAFE_INTEGER) {
      throw new RangeError("Cannot seal sleeve datagram: sequence numbers used up");
    }
    return seq;
  }

  /**
   * Authenticates and decrypts a whole datagram sent by the remote; returns the
   * plaintext frames, or null (counted in {@link drops}) when the datagram is
   * short, forged, tampered or replayed.
   */
  open(datagram: Uint8Array): Uint8Array | null {
    const out = new Uint8Array(Math.max(0, datagram.length - ENCRYPTED_HEADER_SIZE));
    const n = this.openInto(datagram, out);
    return n < 0 ? null : out.subarray(0, n);
  }

  /**
   * Like {@link open}, writing the plaintext to the start of `out` (at least
   * `datagram.length - 30` bytes); returns its length, or -1 when refused.
   */
  openInto(datagram: Uint8Array, out: Uint8Array): number {
    if (datagram.length < ENCRYPTED_HEADER_SIZE + SECRETBOX_OVERHEAD) {
      this.drops.auth++;
      return -1;
    }
    const high = readU32(datagram, NAME_SIZE);
    const low = readU32(datagram, NAME_SIZE + 4);
    this.#setNonce(!this.#outbound, high, low);
    const n = this.box.open(out, datagram.subarray(ENCRYPTED_HEADER_SIZE), this.#nonce, this.#key);
    if (n < 0) {
      this.drops.auth++;
      return -1;
    }
    const df = high >= 0x80000000;
    const replay = df ? this.#replayDF : this.#replayPlain;
    if (!replay.acceptParts(df ? high - 0x80000000 : high, low)) {
      this.drops.replay++;
      return -1;
    }
    return n;
  }

  #setNonce(senderOutbound: boolean, high: number, low: number): void {
    const nonce = this.#nonce;
    nonce[0] = senderOutbound ? 0x80 : 0;
    writeU32(nonce, 16, high);
    writeU32(nonce, 20, low);
  }
}

function writeU32(out: Uint8Array, pos: number, value: number): void {
  out[pos] = value >>> 24;
  out[pos + 1] = (value >>> 16) & 0xff;
  out[pos + 2] = (value >>> 8) & 0xff;
  out[pos + 3] = value & 0xff;
}

function readU32(bytes: Uint8Array, pos: number): number {
  return ((bytes[pos] << 24) | (bytes[pos + 1] << 16) | (bytes[pos + 2] << 8) | bytes[pos + 3]) >>>
    0;
}
