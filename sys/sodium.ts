/**
 * libsodium's secretbox (XSalsa20-Poly1305) over FFI, for sleeve encryption at native speed
 * (measured ~750 MB/s against tweetnacl's pure JS; see `bench/sleeve_codec.ts`).
 *
 * The library (`libsodium.so.23`, Debian package libsodium23) is opened on first use, with its
 * own `dlopen`; when it is absent {@link sodiumAvailable} says so and callers fall back to
 * tweetnacl (datapath/sleeve/crypto.ts). Both produce the same bytes: the "easy" layout is the
 * 16-byte Poly1305 tag followed by the ciphertext, as NaCl's `crypto_secretbox` output without
 * its 16 leading zero bytes.
 *
 * The functions write into caller-owned buffers, so the hot path allocates nothing.
 *
 * @module
 */

const SYMBOLS = {
  sodium_init: { parameters: [], result: "i32" },
  crypto_secretbox_easy: {
    parameters: ["buffer", "buffer", "u64", "buffer", "buffer"],
    result: "i32",
  },
  crypto_secretbox_open_easy: {
    parameters: ["buffer", "buffer", "u64", "buffer", "buffer"],
    result: "i32",
  },
} as const;

/** The library file name looked up through the dynamic linker. */
export const SODIUM_LIBRARY = "libsodium.so.23";
/** Authenticator bytes a secretbox adds. */
export const SECRETBOX_MAC_BYTES = 16;
const KEY_BYTES = 32;
const NONCE_BYTES = 24;

type Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let symbols: Symbols | null | undefined;
let loadError: string | undefined;

function load(): Symbols | null {
  if (symbols !== undefined) return symbols;
  try {
    const lib = Deno.dlopen(SODIUM_LIBRARY, SYMBOLS);
    if (lib.symbols.sodium_init() < 0) {
      lib.close();
      throw new Error("sodium_init failed");
    }
    symbols = lib.symbols;
  } catch (e) {
    loadError = e instanceof Error ? e.message : String(e);
    symbols = null;
  }
  return symbols;
}

/**
 * True when libsodium could be loaded (needs `--allow-ffi` and the library); the first call
 * tries to load it.
 *
 * @example
 * ```ts ignore
 * import { sodiumAvailable } from "./sodium.ts";
 * const native = sodiumAvailable();
 * ```
 */
export function sodiumAvailable(): boolean {
  return load() !== null;
}

/** Why libsodium could not be loaded, once {@link sodiumAvailable} returned false. */
export function sodiumLoadError(): string | undefined {
  return loadError;
}

function symbolsOrThrow(op: string): Symbols {
  const s = load();
  if (!s) throw new Error(`Cannot ${op}: ${SODIUM_LIBRARY} not loaded (${loadError})`);
  return s;
}

function checkSizes(op: string, key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== KEY_BYTES || nonce.length !== NONCE_BYTES) {
    throw new RangeError(
      `Cannot ${op}: key ${key.length} bytes and nonce ${nonce.length} bytes, need 32 and 24`,
    );
  }
}

/**
 * Encrypts and authenticates `message` into `out[0, message.length + 16)` (tag then
 * ciphertext) and returns that length. `out` may not overlap `message` at a different offset.
 *
 * @example
 * ```ts ignore
 * import { secretboxSeal } from "./sodium.ts";
 * const out = new Uint8Array(3 + 16);
 * secretboxSeal(out, new Uint8Array(3), new Uint8Array(24), new Uint8Array(32)); // 19
 * ```
 */
export function secretboxSeal(
  out: Uint8Array<ArrayBuffer>,
  message: Uint8Array<ArrayBuffer>,
  nonce: Uint8Array<ArrayBuffer>,
  key: Uint8Array<ArrayBuffer>,
): number {
  const s = symbolsOrThrow("seal secretbox");
  checkSizes("seal secretbox", key, nonce);
  const length = message.length + SECRETBOX_MAC_BYTES;
  if (out.length < length) {
    throw new RangeError(`Cannot seal secretbox: output has ${out.length} bytes, need ${length}`);
  }
  if (s.crypto_secretbox_easy(out, message, BigInt(message.length), nonce, key) !== 0) {
    throw new Error("Cannot seal secretbox: crypto_secretbox_easy failed");
  }
  return length;
}

/**
 * Verifies and decrypts `box` (tag then ciphertext) into `out[0, box.length - 16)`; returns
 * that length, or -1 when the box is too short or does not authenticate.
 *
 * @example
 * ```ts ignore
 * import { secretboxOpen, secretboxSeal } from "./sodium.ts";
 * const [k, n] = [new Uint8Array(32), new Uint8Array(24)];
 * const box = new Uint8Array(19);
 * secretboxSeal(box, Uint8Array.of(1, 2, 3), n, k);
 * secretboxOpen(new Uint8Array(3), box, n, k); // 3
 * ```
 */
export function secretboxOpen(
  out: Uint8Array<ArrayBuffer>,
  box: Uint8Array<ArrayBuffer>,
  nonce: Uint8Array<ArrayBuffer>,
  key: Uint8Array<ArrayBuffer>,
): number {
  const s = symbolsOrThrow("open secretbox");
  checkSizes("open secretbox", key, nonce);
  if (box.length < SECRETBOX_MAC_BYTES) return -1;
  const length = box.length - SECRETBOX_MAC_BYTES;
  if (out.length < length) {
    throw new RangeError(`Cannot open secretbox: output has ${out.length} bytes, need ${length}`);
  }
  return s.crypto_secretbox_open_easy(out, box, BigInt(box.length), nonce, key) === 0 ? length : -1;
}
