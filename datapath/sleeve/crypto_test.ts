import assert from "node:assert/strict";
import nacl from "tweetnacl";
import { sodiumAvailable } from "../../sys/sodium.ts";
import {
  defaultSecretBox,
  libsodiumBox,
  ReplayWindow,
  type SecretBox,
  SleeveCipher,
  sleeveNonce,
  tweetnaclBox,
} from "./crypto.ts";
import { splitEncrypted } from "./packet.ts";

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
const H1 = 0x020000000001n;
const H2 = 0x020000000002n;
const pair = (key = KEY) => ({
  dialler: new SleeveCipher({ sessionKey: KEY, outbound: true, localPeer: H2 }),
  acceptor: new SleeveCipher({ sessionKey: key, outbound: false, localPeer: H1 }),
});

Deno.test("sleeveNonce sets bit 7 for an outbound sender, never bit 6, and seqNoAndDF at 16..23", () => {
  const n = sleeveNonce(true, 0x8000000000000002n);
  assert.deepEqual(
    Array.from(n),
    [0x80, ...new Array(15).fill(0), 0x80, 0, 0, 0, 0, 0, 0, 2],
  );
  assert.equal(sleeveNonce(false, 0n).every((b) => b === 0), true);
  assert.throws(() => sleeveNonce(true, 0n, new Uint8Array(23)), RangeError);
});

Deno.test("SleeveCipher seals with the sender's polarity and opens in both directions", () => {
  const { dialler, acceptor } = pair();
  const msg = Uint8Array.from({ length: 40 }, (_, i) => i);
  const fromDialler = dialler.seal(msg, true);
  const split = splitEncrypted(fromDialler);
  assert.equal(split.sender, H2);
  assert.equal(split.seqNoAndDF, 0x8000000000000000n);
  assert.equal(fromDialler.length, 14 + 16 + msg.length);
  // The raw secretbox opens only with nonce bit 7 set (the dialler sent it).
  assert.ok(nacl.secretbox.open(split.ciphertext, sleeveNonce(true, split.seqNoAndDF), KEY));
  assert.equal(
    nacl.secretbox.open(split.ciphertext, sleeveNonce(false, split.seqNoAndDF), KEY),
    null,
  );
  assert.deepEqual(acceptor.open(fromDialler), msg);

  const fromAcceptor = acceptor.seal(msg, false);
  const back = splitEncrypted(fromAcceptor);
  assert.ok(nacl.secretbox.open(back.ciphertext, sleeveNonce(false, back.seqNoAndDF), KEY));
  assert.deepEqual(dialler.open(fromAcceptor), msg);
});

Deno.test("SleeveCipher refuses its own datagrams reflected back (wrong polarity)", () => {
  const { dialler } = pair();
  const datagram = dialler.seal(new Uint8Array(5), false);
  assert.equal(dialler.open(datagram), null);
  assert.equal(dialler.drops.auth, 1);
});

Deno.test("SleeveCipher keeps independent DF and non-DF counters", () => {
  const { dialler, acceptor } = pair();
  const seqs = [
    dialler.seal(new Uint8Array(1), true),
    dialler.seal(new Uint8Array(1), false),
    dialler.seal(new Uint8Array(1), false),
    dialler.seal(new Uint8Array(1), true),
  ].map((d) => splitEncrypted(d).seqNoAndDF);
  assert.deepEqual(seqs, [1n << 63n, 0n, 1n, (1n << 63n) | 1n]);
  assert.equal(dialler.consumeSeq(true), 2n);
  assert.equal(splitEncrypted(dialler.seal(new Uint8Array(1), true)).seqNoAndDF, (1n << 63n) | 3n);
  // DF seq 0 and non-DF seq 0 are different numbers to the receiver.
  const df0 = new SleeveCipher({ sessionKey: KEY, outbound: true, localPeer: H2 });
  assert.ok(acceptor.open(df0.seal(new Uint8Array(1), true)));
  assert.ok(acceptor.open(df0.seal(new Uint8Array(1), false)));
});

Deno.test("SleeveCipher drops replays and tolerates gaps like the captured DF seq 0 then 2", () => {
  const { dialler, acceptor } = pair();
  const hb = dialler.seal(new Uint8Array(22), true);
  dialler.consumeSeq(true); // the PMTU probe that never left the host
  const mtu = dialler.seal(new Uint8Array(1452), true);
  assert.equal(splitEncrypted(mtu).seq, 2n);
  assert.ok(acceptor.open(hb));
  assert.ok(acceptor.open(mtu));
  assert.equal(acceptor.open(hb), null);
  assert.equal(acceptor.open(mtu), null);
  assert.deepEqual(acceptor.drops, { auth: 0, replay: 2 });
});

Deno.test("SleeveCipher with the wrong key or a tampered datagram returns null", () => {
  const other = Uint8Array.from(KEY, (b) => b ^ 1);
  const { dialler, acceptor } = pair(other);
  assert.equal(acceptor.open(dialler.seal(new Uint8Array(10), false)), null);
  const right = new SleeveCipher({ sessionKey: KEY, outbound: false, localPeer: H1 });
  for (const index of [5, 13, 14, 20, 39]) {
    const datagram = dialler.seal(new Uint8Array(10), false);
    datagram[index] ^= 0x01;
    const opened = right.open(datagram);
    // Flipping the sender name (index 5) is not authenticated: the name only picks the forwarder.
    if (index === 5) assert.ok(opened);
    else assert.equal(opened, null, `tampered byte ${index}`);
  }
  assert.equal(right.open(new Uint8Array(29)), null);
  assert.equal(right.drops.auth, 5);
});

Deno.test("SleeveCipher refuses a session key of the wrong length", () => {
  assert.throws(
    () => new SleeveCipher({ sessionKey: new Uint8Array(31), outbound: true, localPeer: H1 }),
    RangeError,
  );
});

Deno.test("ReplayWindow drops duplicates in the current and previous windows", () => {
  const w = new ReplayWindow();
  assert.equal(w.accept(5n), true);
  assert.equal(w.accept(5n), false);
  assert.equal(w.accept(4n), true);
  assert.equal(w.accept((1n << 20n) + 1n), true); // next window: shift
  assert.equal(w.accept(5n), false); // previous window remembers
  assert.equal(w.accept(6n), true); // previous window, unseen
  assert.equal(w.accept((1n << 20n) + 1n), false);
});

Deno.test("ReplayWindow drops numbers older than the previous window", () => {
  const w = new ReplayWindow();
  assert.equal(w.accept(1n), true);
  assert.equal(w.accept((1n << 20n) | 1n), true);
  assert.equal(w.accept((2n << 20n) | 1n), true); // shifts again: window 0 is now too old
  assert.equal(w.accept(2n), false);
  assert.equal(w.accept((1n << 20n) | 2n), true);
});

Deno.test("ReplayWindow clears both sets on a far-future window", () => {
  const w = new ReplayWindow();
  assert.equal(w.accept(7n), true);
  assert.equal(w.accept((1n << 20n) | 7n), true);
  assert.equal(w.accept((5n << 20n) | 7n), true); // far future: everything forgotten
  assert.equal(w.accept((4n << 20n) | 7n), true); // the new previous window starts empty
  assert.equal(w.accept((4n << 20n) | 7n), false);
  assert.equal(w.accept((1n << 20n) | 7n), false); // now older than the previous window
  assert.equal(w.accept((5n << 20n) | 7n), false);
});

Deno.test("ReplayWindow accepts offsets at the edges of a window and refuses out-of-range numbers", () => {
  const w = new ReplayWindow();
  assert.equal(w.accept(0xfffffn), true);
  assert.equal(w.accept(0n), true);
  assert.equal(w.accept(0xfffffn), false);
  assert.equal(w.accept(1n << 63n), false);
  assert.equal(w.accept(-1n), false);
});

Deno.test("ReplayWindow handles numbers above 2^32 exactly through acceptParts", () => {
  const w = new ReplayWindow();
  const big = (5n << 32n) | 0xfff00007n;
  assert.equal(w.accept(big), true);
  assert.equal(w.acceptParts(5, 0xfff00007), false, "same number as parts");
  assert.equal(w.acceptParts(5, 0xfff00008), true);
  assert.equal(w.acceptParts(0x80000000, 0), false, "DF bit is not part of the number");
});

const sodium = sodiumAvailable();
Deno.test({
  name: `SleeveCipher with libsodium and with tweetnacl produce identical datagrams${
    sodium ? "" : " (ignored: libsodium not loadable)"
  }`,
  ignore: !sodium,
  fn() {
    const make = (box: SecretBox, outbound: boolean) =>
      new SleeveCipher({ sessionKey: KEY, outbound, localPeer: outbound ? H2 : H1, box });
    const native = make(libsodiumBox, true);
    const js = make(tweetnaclBox, true);
    const acceptor = make(libsodiumBox, false);
    const out = new Uint8Array(3000);
    const plain = new Uint8Array(3000);
    for (const [size, df] of [[0, false], [22, true], [1452, true], [2000, false]] as const) {
      const msg = Uint8Array.from({ length: size }, (_, i) => (i * 5 + size) & 255);
      const n = native.sealInto(msg, df, out);
      assert.deepEqual(out.subarray(0, n), js.seal(msg, df), `size ${size}`);
      assert.equal(acceptor.openInto(out.subarray(0, n), plain), size);
      assert.deepEqual(plain.subarray(0, size), msg);
    }
    assert.equal(acceptor.openInto(out.subarray(0, 29), plain), -1);
    assert.throws(() => native.sealInto(new Uint8Array(10), false, new Uint8Array(39)), RangeError);
    assert.equal(defaultSecretBox().name, "libsodium");
  },
});
