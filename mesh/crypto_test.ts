import assert from "node:assert/strict";
import { createHash, createPrivateKey, createPublicKey, diffieHellman } from "node:crypto";
import {
  deriveSessionKey,
  generateEphemeralKeyPair,
  KEY_LENGTH,
  NONCE_LENGTH,
  open,
  seal,
  SEAL_OVERHEAD,
  tcpNonce,
} from "./crypto.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => new Uint8Array(s.match(/../g)!.map((h) => parseInt(h, 16)));
const b64url = (b: Uint8Array) =>
  btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** X25519 through node:crypto (OpenSSL), not tweetnacl. */
function x25519(secret: Uint8Array, pub: Uint8Array): Uint8Array {
  const privateKey = createPrivateKey({
    key: { kty: "OKP", crv: "X25519", d: b64url(secret), x: b64url(pub) },
    format: "jwk",
  });
  const publicKey = createPublicKey({
    key: { kty: "OKP", crv: "X25519", x: b64url(pub) },
    format: "jwk",
  });
  return new Uint8Array(diffieHellman({ privateKey, publicKey }));
}

/** HSalsa20 with a zero nonce, written here from the Salsa20 paper. */
function hsalsa20ZeroNonce(key: Uint8Array): Uint8Array {
  const kv = new DataView(key.buffer, key.byteOffset, 32);
  const x = new Uint32Array(16);
  x[0] = 0x61707865, x[5] = 0x3320646e, x[10] = 0x79622d32, x[15] = 0x6b206574;
  for (let i = 0; i < 4; i++) {
    x[1 + i] = kv.getUint32(4 * i, true);
    x[11 + i] = kv.getUint32(16 + 4 * i, true);
  }
  const rotl = (v: number, c: number) => (v << c) | (v >>> (32 - c));
  const qr = (a: number, b: number, c: number, d: number) => {
    x[b] ^= rotl((x[a] + x[d]) | 0, 7);
    x[c] ^= rotl((x[b] + x[a]) | 0, 9);
    x[d] ^= rotl((x[c] + x[b]) | 0, 13);
    x[a] ^= rotl((x[d] + x[c]) | 0, 18);
  };
  for (let i = 0; i < 10; i++) {
    qr(0, 4, 8, 12), qr(5, 9, 13, 1), qr(10, 14, 2, 6), qr(15, 3, 7, 11);
    qr(0, 1, 2, 3), qr(5, 6, 7, 4), qr(10, 11, 8, 9), qr(15, 12, 13, 14);
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  [0, 5, 10, 15, 6, 7, 8, 9].forEach((w, i) => ov.setUint32(4 * i, x[w], true));
  return out;
}

function independentSessionKey(remotePub: Uint8Array, localSecret: Uint8Array, pw: Uint8Array) {
  const shared = hsalsa20ZeroNonce(x25519(localSecret, remotePub));
  return new Uint8Array(createHash("sha256").update(shared).update(pw).digest());
}

Deno.test("the independent box.before agrees with the NaCl paper's Alice/Bob vector", () => {
  const aliceSecret = unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const bobPublic = unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  assert.equal(
    hex(hsalsa20ZeroNonce(x25519(aliceSecret, bobPublic))),
    "1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389",
  );
});

Deno.test("deriveSessionKey is SHA-256(box.before || password), checked independently", async () => {
  const aliceSecret = unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const bobPublic = unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const pw = new TextEncoder().encode("golden-capture-pw-2.8.1");
  const key = await deriveSessionKey(bobPublic, aliceSecret, pw);
  assert.equal(key.length, KEY_LENGTH);
  assert.equal(hex(key), hex(independentSessionKey(bobPublic, aliceSecret, pw)));
  const expected = createHash("sha256")
    .update(unhex("1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389"))
    .update(pw).digest("hex");
  assert.equal(hex(key), expected);
});

Deno.test("deriveSessionKey gives both ends the same key for random key pairs", async () => {
  for (let i = 0; i < 5; i++) {
    const a = generateEphemeralKeyPair();
    const b = generateEphemeralKeyPair();
    const pw = crypto.getRandomValues(new Uint8Array(i * 7));
    const ka = await deriveSessionKey(b.publicKey, a.secretKey, pw);
    const kb = await deriveSessionKey(a.publicKey, b.secretKey, pw);
    assert.deepEqual(ka, kb);
    assert.equal(hex(ka), hex(independentSessionKey(b.publicKey, a.secretKey, pw)));
  }
});

Deno.test("deriveSessionKey depends on the password and rejects bad key lengths", async () => {
  const a = generateEphemeralKeyPair();
  const b = generateEphemeralKeyPair();
  const k1 = await deriveSessionKey(b.publicKey, a.secretKey, new TextEncoder().encode("x"));
  const k2 = await deriveSessionKey(b.publicKey, a.secretKey, new TextEncoder().encode("y"));
  assert.notDeepEqual(k1, k2);
  await assert.rejects(deriveSessionKey(new Uint8Array(31), a.secretKey, new Uint8Array()), {
    name: "RangeError",
  });
  await assert.rejects(deriveSessionKey(b.publicKey, new Uint8Array(33), new Uint8Array()), {
    name: "RangeError",
  });
});

Deno.test("generateEphemeralKeyPair makes distinct 32-byte pairs", () => {
  const a = generateEphemeralKeyPair();
  const b = generateEphemeralKeyPair();
  assert.equal(a.publicKey.length, 32);
  assert.equal(a.secretKey.length, 32);
  assert.notDeepEqual(a.publicKey, b.publicKey);
  // The public key is X25519(secret, 9) computed by OpenSSL as well.
  const base = new Uint8Array(32);
  base[0] = 9;
  assert.deepEqual(x25519(a.secretKey, base), a.publicKey);
});

Deno.test("tcpNonce lays out flag byte and big-endian sequence byte by byte", () => {
  const cases: [boolean, bigint, number, number[]][] = [
    [true, 0n, 0xc0, [0, 0, 0, 0, 0, 0, 0, 0]],
    [false, 0n, 0x40, [0, 0, 0, 0, 0, 0, 0, 0]],
    [true, 1n, 0xc0, [0, 0, 0, 0, 0, 0, 0, 1]],
    [false, 0x0102030405060708n, 0x40, [1, 2, 3, 4, 5, 6, 7, 8]],
    [true, (1n << 64n) - 1n, 0xc0, [255, 255, 255, 255, 255, 255, 255, 255]],
    [false, 256n, 0x40, [0, 0, 0, 0, 0, 0, 1, 0]],
  ];
  for (const [outbound, seq, flag, tail] of cases) {
    const n = tcpNonce(outbound, seq);
    assert.equal(n.length, NONCE_LENGTH);
    assert.equal(n[0], flag);
    for (let i = 1; i < 16; i++) assert.equal(n[i], 0, `byte ${i}`);
    assert.deepEqual(Array.from(n.subarray(16)), tail);
  }
});

Deno.test("tcpNonce overwrites a given buffer, including a view at an offset", () => {
  const backing = new Uint8Array(40).fill(0xaa);
  const view = backing.subarray(8, 32);
  const n = tcpNonce(true, 5n, view);
  assert.equal(n, view);
  assert.equal(backing[8], 0xc0);
  assert.equal(backing[31], 5);
  for (let i = 9; i < 31; i++) assert.equal(backing[i], 0, `byte ${i}`);
  assert.equal(backing[7], 0xaa);
  assert.equal(backing[32], 0xaa);
});

Deno.test("tcpNonce rejects sequence numbers outside uint64 and short buffers", () => {
  assert.throws(() => tcpNonce(true, -1n), RangeError);
  assert.throws(() => tcpNonce(true, 1n << 64n), RangeError);
  assert.throws(() => tcpNonce(true, 0n, new Uint8Array(23)), RangeError);
});

Deno.test("seal and open round-trip and fail on any change", () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const msg = new TextEncoder().encode("gossip payload");
  const box = seal(msg, tcpNonce(true, 3n), key);
  assert.equal(box.length, msg.length + SEAL_OVERHEAD);
  assert.deepEqual(open(box, tcpNonce(true, 3n), key), msg);
  assert.equal(open(box, tcpNonce(false, 3n), key), null);
  assert.equal(open(box, tcpNonce(true, 4n), key), null);
  const otherKey = key.slice();
  otherKey[0] ^= 1;
  assert.equal(open(box, tcpNonce(true, 3n), otherKey), null);
  for (const i of [0, 15, 16, box.length - 1]) {
    const bad = box.slice();
    bad[i] ^= 0x01;
    assert.equal(open(bad, tcpNonce(true, 3n), key), null, `flip at ${i}`);
  }
  assert.equal(open(box.subarray(0, 15), tcpNonce(true, 3n), key), null);
  assert.deepEqual(
    open(seal(new Uint8Array(), tcpNonce(false, 0n), key), tcpNonce(false, 0n), key),
    new Uint8Array(),
  );
});

Deno.test("seal and open reject wrong nonce and key sizes", () => {
  assert.throws(() => seal(new Uint8Array(1), new Uint8Array(23), new Uint8Array(32)), RangeError);
  assert.throws(() => seal(new Uint8Array(1), new Uint8Array(24), new Uint8Array(31)), RangeError);
  assert.throws(() => open(new Uint8Array(17), new Uint8Array(25), new Uint8Array(32)), RangeError);
});
