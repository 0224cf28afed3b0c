import assert from "node:assert/strict";
import nacl from "tweetnacl";
import {
  secretboxOpen,
  secretboxSeal,
  SODIUM_LIBRARY,
  sodiumAvailable,
  sodiumLoadError,
} from "./sodium.ts";

const available = sodiumAvailable();
const test = (name: string, fn: () => void) =>
  Deno.test({
    name: available ? name : `${name} (ignored: ${SODIUM_LIBRARY}: ${sodiumLoadError()})`,
    ignore: !available,
    fn,
  });

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
const NONCE = Uint8Array.from({ length: 24 }, (_, i) => 200 - i);

test("secretboxSeal produces exactly tweetnacl's bytes for the same key and nonce", () => {
  for (const size of [0, 1, 15, 16, 17, 63, 64, 65, 1438, 9000]) {
    const message = Uint8Array.from({ length: size }, (_, i) => (i * 31 + size) & 255);
    const out = new Uint8Array(size + 16 + 5);
    assert.equal(secretboxSeal(out, message, NONCE, KEY), size + 16);
    assert.deepEqual(out.subarray(0, size + 16), nacl.secretbox(message, NONCE, KEY), `${size}`);
  }
});

test("secretboxOpen opens tweetnacl boxes, writes at the start of out, refuses tampering", () => {
  const message = Uint8Array.from({ length: 100 }, (_, i) => i);
  const box = nacl.secretbox(message, NONCE, KEY) as Uint8Array<ArrayBuffer>;
  const out = new Uint8Array(200).fill(0xee);
  assert.equal(secretboxOpen(out, box, NONCE, KEY), 100);
  assert.deepEqual(out.subarray(0, 100), message);
  assert.equal(out[100], 0xee, "nothing written past the plaintext");
  for (const i of [0, 15, 16, 115]) {
    const bad = box.slice();
    bad[i] ^= 1;
    assert.equal(secretboxOpen(out, bad, NONCE, KEY), -1, `flipped byte ${i}`);
  }
  const otherNonce = NONCE.slice();
  otherNonce[23] ^= 1;
  assert.equal(secretboxOpen(out, box, otherNonce, KEY), -1);
  assert.equal(secretboxOpen(out, box.subarray(0, 15), NONCE, KEY), -1, "shorter than a tag");
});

test("secretbox functions work on views at an offset and check sizes", () => {
  const backing = new Uint8Array(64);
  const message = backing.subarray(3, 13).fill(9);
  const out = new Uint8Array(40);
  const box = out.subarray(7, 33);
  assert.equal(secretboxSeal(box, message, NONCE, KEY), 26);
  assert.deepEqual(box, nacl.secretbox(message, NONCE, KEY));
  const plain = new Uint8Array(20).subarray(5);
  assert.equal(secretboxOpen(plain, box, NONCE, KEY), 10);
  assert.deepEqual(plain.subarray(0, 10), message);
  assert.throws(() => secretboxSeal(new Uint8Array(25), message, NONCE, KEY), RangeError);
  assert.throws(() => secretboxSeal(out, message, NONCE, KEY.subarray(1)), RangeError);
  assert.throws(() => secretboxOpen(new Uint8Array(9), box, NONCE, KEY), RangeError);
});
