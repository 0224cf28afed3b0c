/**
 * NaCl primitives of the password mode of the mesh TCP connection (spec
 * §1.4). Each side makes a fresh Curve25519 key pair per connection and
 * sends the public half in the intro; both sides then derive one session key
 *
 *     SHA-256( crypto_box_beforenm(remotePublic, localSecret) || password )
 *
 * and every framed message is a secretbox under that key. The 24-byte nonce
 * is never sent: each direction counts messages from 0 and both ends build
 * the same nonce from that count and from who dialled the connection.
 *
 * @module
 */
import nacl from "tweetnacl";

/** Curve25519 key length (public and secret). */
export const KEY_LENGTH = 32;
/** Secretbox nonce length. */
export const NONCE_LENGTH = 24;
/** Bytes a secretbox adds to its plaintext (the Poly1305 tag). */
export const SEAL_OVERHEAD = 16;

const MAX_SEQ = (1n << 64n) - 1n;

/** A Curve25519 key pair for one connection. */
export interface KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/**
 * Makes a fresh Curve25519 key pair (Go's `box.GenerateKey`).
 *
 * @example
 * ```ts
 * import { generateEphemeralKeyPair } from "./crypto.ts";
 * const { publicKey, secretKey } = generateEphemeralKeyPair();
 * [publicKey.length, secretKey.length]; // [32, 32], random-looking bytes
 * ```
 */
export function generateEphemeralKeyPair(): KeyPair {
  const pair = nacl.box.keyPair();
  return { publicKey: pair.publicKey, secretKey: pair.secretKey };
}

/**
 * Derives the session key shared by both ends of a connection:
 * SHA-256 of the NaCl precomputed box key followed by the password bytes.
 *
 * @example
 * ```ts
 * import { deriveSessionKey, generateEphemeralKeyPair } from "./crypto.ts";
 * const a = generateEphemeralKeyPair();
 * const b = generateEphemeralKeyPair();
 * const pw = new TextEncoder().encode("secret");
 * const k1 = await deriveSessionKey(b.publicKey, a.secretKey, pw);
 * const k2 = await deriveSessionKey(a.publicKey, b.secretKey, pw);
 * k1.length; // 32
 * k1.every((byte, i) => byte === k2[i]); // true: both ends derive the same key
 * ```
 */
export async function deriveSessionKey(
  remotePublic: Uint8Array,
  localSecret: Uint8Array,
  password: Uint8Array,
): Promise<Uint8Array> {
  checkLength(remotePublic, KEY_LENGTH, "derive session key", "remote public key");
  checkLength(localSecret, KEY_LENGTH, "derive session key", "local secret key");
  const shared = nacl.box.before(remotePublic, localSecret);
  const input = new Uint8Array(shared.length + password.length);
  input.set(shared, 0);
  input.set(password, shared.length);
  shared.fill(0);
  const digest = await crypto.subtle.digest("SHA-256", input);
  input.fill(0);
  return new Uint8Array(digest);
}

/**
 * Builds the TCP nonce for message number `seq` of one direction: byte 0 has
 * bit 7 set when the sender dialled the connection and bit 6 always set (TCP,
 * as opposed to sleeve UDP); bytes 16..23 hold `seq` big-endian; the rest is
 * zero. Writes into `out` when given (and returns it).
 *
 * @example
 * ```ts
 * import { tcpNonce } from "./crypto.ts";
 * tcpNonce(true, 1n); // c0 00 … 00 | 00 00 00 00 00 00 00 01
 * ```
 */
export function tcpNonce(senderIsOutbound: boolean, seq: bigint, out?: Uint8Array): Uint8Array {
  if (seq < 0n || seq > MAX_SEQ) {
    throw new RangeError(`Cannot build TCP nonce: sequence number ${seq} is not a uint64`);
  }
  const nonce = out ?? new Uint8Array(NONCE_LENGTH);
  checkLength(nonce, NONCE_LENGTH, "build TCP nonce", "output buffer");
  nonce.fill(0);
  nonce[0] = 0x40 | (senderIsOutbound ? 0x80 : 0);
  new DataView(nonce.buffer, nonce.byteOffset, nonce.byteLength).setBigUint64(16, seq);
  return nonce;
}

/**
 * Encrypts and authenticates `plaintext` as a NaCl secretbox; the result is
 * 16 bytes longer.
 *
 * @example
 * ```ts
 * import { seal, tcpNonce } from "./crypto.ts";
 * const box = seal(new Uint8Array([4]), tcpNonce(true, 0n), new Uint8Array(32));
 * box.length; // 17: one byte of plaintext plus the 16-byte authenticator
 * ```
 */
export function seal(plaintext: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array {
  checkLength(nonce, NONCE_LENGTH, "seal message", "nonce");
  checkLength(key, KEY_LENGTH, "seal message", "key");
  return nacl.secretbox(plaintext, nonce, key);
}

/**
 * Opens a NaCl secretbox; returns `null` when it fails to authenticate
 * (wrong key, wrong nonce, altered or truncated bytes).
 *
 * @example
 * ```ts
 * import { open, seal, tcpNonce } from "./crypto.ts";
 * const key = new Uint8Array(32);
 * open(seal(new Uint8Array([4]), tcpNonce(true, 0n), key), tcpNonce(true, 0n), key); // [4]
 * ```
 */
export function open(
  ciphertext: Uint8Array,
  nonce: Uint8Array,
  key: Uint8Array,
): Uint8Array | null {
  checkLength(nonce, NONCE_LENGTH, "open message", "nonce");
  checkLength(key, KEY_LENGTH, "open message", "key");
  if (ciphertext.length < SEAL_OVERHEAD) return null;
  return nacl.secretbox.open(ciphertext, nonce, key);
}

function checkLength(bytes: Uint8Array, want: number, action: string, what: string): void {
  if (bytes.length !== want) {
    throw new RangeError(`Cannot ${action}: ${what} has ${bytes.length} bytes, expected ${want}`);
  }
}
