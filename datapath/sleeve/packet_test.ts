import assert from "node:assert/strict";
import {
  classifySpecial,
  decodeDatagramSender,
  decodeFrames,
  encodedFramesLength,
  encodeEncryptedHeader,
  encodeFrames,
  fragTestFrame,
  heartbeatFrame,
  isAllZero,
  mtuTestFrame,
  peerNameBytes,
  PeerNameCache,
  peerNameKey,
  type SleeveFrame,
  splitEncrypted,
} from "./packet.ts";

const H1 = 0x020000000001n;
const H2 = 0x020000000002n;
const hex = (text: string) => Uint8Array.from(text.trim().split(/\s+/).map((b) => parseInt(b, 16)));
const toHex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");

// plain-udp-sleeve.txt, direction h1->h2, datagram #1 (heartbeat, connUID 0x73d988f0c0478e53).
const CAPTURED_HEARTBEAT = hex(`
  02 00 00 00 00 01 02 00 00 00 00 01 02 00 00 00 00 02 00 16 00 00 00 00 00 00 00 00 00 00 00 00
  00 00 73 d9 88 f0 c0 47 8e 53`);
// plain-udp-sleeve.txt, h1->h2 #3: the first 46 bytes of the 1472-byte MTU test datagram.
const CAPTURED_MTU_HEADER = hex(`
  02 00 00 00 00 01 02 00 00 00 00 02 05 ac 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00`);

Deno.test("encodeFrames reproduces the captured h1->h2 heartbeat datagram", () => {
  const bytes = encodeFrames(H1, [{
    src: H1,
    dst: H2,
    frame: heartbeatFrame(0x73d988f0c0478e53n),
  }]);
  assert.equal(toHex(bytes), toHex(CAPTURED_HEARTBEAT));
});

Deno.test("decodeFrames reads the captured heartbeat as a heartbeat with its connUID", () => {
  assert.equal(decodeDatagramSender(CAPTURED_HEARTBEAT), H1);
  const frames = decodeFrames(CAPTURED_HEARTBEAT, 6);
  assert.equal(frames.length, 1);
  assert.equal(frames[0].src, H1);
  assert.equal(frames[0].dst, H2);
  assert.deepEqual(classifySpecial(frames[0].frame), {
    kind: "heartbeat",
    connUID: 8347853951907368531n,
  });
});

Deno.test("encodeFrames reproduces the captured MTU test header (candidate 1438)", () => {
  const bytes = encodeFrames(H1, [{ src: H1, dst: H2, frame: mtuTestFrame(1438) }]);
  assert.equal(bytes.length, 1472);
  assert.equal(
    toHex(bytes.subarray(6, 6 + CAPTURED_MTU_HEADER.length)),
    toHex(CAPTURED_MTU_HEADER),
  );
  assert.ok(isAllZero(bytes, 20));
  const [frame] = decodeFrames(bytes, 6);
  assert.deepEqual(classifySpecial(frame.frame), { kind: "mtutest", mtu: 1438 });
});

Deno.test("fragTestFrame encodes to the captured 60021-byte datagram with length ea 61", () => {
  const bytes = encodeFrames(H1, [{ src: H1, dst: H2, frame: fragTestFrame() }]);
  assert.equal(bytes.length, 60021);
  assert.equal(toHex(bytes.subarray(18, 20)), "ea 61");
  assert.deepEqual(classifySpecial(decodeFrames(bytes, 6)[0].frame), { kind: "fragtest" });
});

function roundTrip(frames: SleeveFrame[], offset: number) {
  const length = encodedFramesLength(frames);
  const big = new Uint8Array(offset + length + 5).fill(0xaa);
  const written = encodeFrames(H2, frames, big.subarray(offset));
  assert.equal(written.length, length);
  assert.equal(big[offset + length], 0xaa, "must not write past the datagram");
  const again = encodeFrames(H2, frames);
  assert.deepEqual(written, again);
  const datagram = big.subarray(0, offset + length);
  assert.equal(decodeDatagramSender(datagram.subarray(offset)), H2);
  const decoded = decodeFrames(datagram, offset + 6);
  assert.equal(decoded.length, frames.length);
  decoded.forEach((f, i) => {
    assert.equal(f.src, frames[i].src);
    assert.equal(f.dst, frames[i].dst);
    assert.deepEqual(f.frame, frames[i].frame);
  });
}

Deno.test("encodeFrames/decodeFrames round trip several frames at offsets 0 and 7", () => {
  const frames: SleeveFrame[] = [
    { src: H1, dst: H2, frame: Uint8Array.from({ length: 60 }, (_, i) => i) },
    { src: 0xffffffffffffn, dst: 0n, frame: new Uint8Array(0) },
    { src: H2, dst: H1, frame: Uint8Array.from({ length: 300 }, (_, i) => 255 - (i & 0xff)) },
  ];
  roundTrip(frames, 0);
  roundTrip(frames, 7);
  roundTrip([], 3);
});

Deno.test("encodeFrames refuses a short buffer, oversized frames and names over 48 bits", () => {
  const frames = [{ src: H1, dst: H2, frame: new Uint8Array(10) }];
  assert.throws(() => encodeFrames(H1, frames, new Uint8Array(29)), RangeError);
  assert.throws(
    () => encodeFrames(H1, [{ src: H1, dst: H2, frame: new Uint8Array(65536) }]),
    RangeError,
  );
  assert.throws(() => encodeFrames(1n << 48n, []), RangeError);
});

Deno.test("decodeFrames throws RangeError on truncated headers and overlong lengths", () => {
  for (let cut = 7; cut < CAPTURED_HEARTBEAT.length; cut++) {
    assert.throws(
      () => decodeFrames(CAPTURED_HEARTBEAT.subarray(0, cut), 6),
      RangeError,
      `cut ${cut}`,
    );
  }
  const overlong = CAPTURED_HEARTBEAT.slice();
  overlong[19] = 0x17; // claims 23 bytes, 22 present
  assert.throws(() => decodeFrames(overlong, 6), /length 23, only 22 bytes left/);
  const huge = CAPTURED_HEARTBEAT.slice();
  huge[18] = 0xff;
  assert.throws(() => decodeFrames(huge, 6), RangeError);
  assert.throws(() => decodeFrames(CAPTURED_HEARTBEAT, 43), RangeError);
  assert.throws(() => decodeFrames(CAPTURED_HEARTBEAT, -1), RangeError);
  assert.deepEqual(decodeFrames(CAPTURED_HEARTBEAT, 42), []);
});

Deno.test("decodeFrames survives random garbage by decoding or throwing RangeError", () => {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
  for (let n = 0; n < 500; n++) {
    const bytes = Uint8Array.from({ length: rand() % 64 }, rand);
    try {
      for (const f of decodeFrames(bytes, 0)) assert.ok(f.frame.length <= bytes.length);
    } catch (e) {
      assert.ok(e instanceof RangeError);
    }
  }
});

Deno.test("decodeDatagramSender needs six bytes", () => {
  assert.throws(() => decodeDatagramSender(new Uint8Array(5)), RangeError);
});

Deno.test("encodeEncryptedHeader/splitEncrypted handle the captured DF seq 2 header", () => {
  const header = encodeEncryptedHeader(H1, 0x8000000000000002n);
  assert.equal(toHex(header), "02 00 00 00 00 01 80 00 00 00 00 00 00 02");
  const datagram = new Uint8Array(1472);
  datagram.set(header);
  datagram[14] = 0x70;
  const split = splitEncrypted(datagram);
  assert.equal(split.sender, H1);
  assert.equal(split.seqNoAndDF, 0x8000000000000002n);
  assert.equal(split.df, true);
  assert.equal(split.seq, 2n);
  assert.equal(split.ciphertext.length, 1458);
  assert.equal(split.ciphertext[0], 0x70);
});

Deno.test("encodeEncryptedHeader writes into a view at an offset and splitEncrypted reads non-DF", () => {
  const big = new Uint8Array(40);
  encodeEncryptedHeader(H2, 1n, big.subarray(3));
  const split = splitEncrypted(big.subarray(3, 3 + 30));
  assert.equal(split.sender, H2);
  assert.equal(split.df, false);
  assert.equal(split.seq, 1n);
  assert.equal(split.ciphertext.length, 16);
});

Deno.test("encrypted helpers refuse short input and values outside 64 bits", () => {
  assert.throws(() => splitEncrypted(new Uint8Array(29)), RangeError);
  assert.throws(() => encodeEncryptedHeader(H1, 1n << 64n), RangeError);
  assert.throws(() => encodeEncryptedHeader(H1, -1n), RangeError);
  assert.throws(() => encodeEncryptedHeader(H1, 0n, new Uint8Array(13)), RangeError);
});

Deno.test("special frame builders have the spec lengths and contents", () => {
  const hb = heartbeatFrame(0x0102030405060708n);
  assert.equal(toHex(hb.subarray(14)), "01 02 03 04 05 06 07 08");
  assert.ok(isAllZero(hb, 0, 14));
  assert.equal(fragTestFrame().length, 60001);
  assert.ok(isAllZero(fragTestFrame()));
  assert.equal(mtuTestFrame(552).length, 566);
  assert.throws(() => heartbeatFrame(1n << 64n), RangeError);
  assert.throws(() => mtuTestFrame(8), RangeError); // would read as a heartbeat
  assert.throws(() => mtuTestFrame(59987), RangeError); // would read as a frag test
  assert.throws(() => mtuTestFrame(65522), RangeError);
  assert.throws(() => mtuTestFrame(1.5), RangeError);
});

Deno.test("classifySpecial returns null for data frames and short frames", () => {
  const arp = new Uint8Array(42);
  arp.fill(0xff, 0, 6);
  assert.equal(classifySpecial(arp), null);
  assert.equal(classifySpecial(new Uint8Array(13)), null);
  const notQuite = new Uint8Array(22);
  notQuite[13] = 1;
  assert.equal(classifySpecial(notQuite), null);
  assert.deepEqual(classifySpecial(new Uint8Array(14)), { kind: "mtutest", mtu: 0 });
});

Deno.test("classifySpecial reads a heartbeat inside a larger buffer", () => {
  const big = new Uint8Array(30);
  big.set(heartbeatFrame(42n), 5);
  assert.deepEqual(classifySpecial(big.subarray(5, 27)), { kind: "heartbeat", connUID: 42n });
});

Deno.test("peerNameKey, PeerNameCache and peerNameBytes agree with the bigint codec", () => {
  const bytes = encodeFrames(0xfedcba987654n, [{ src: H1, dst: H2, frame: new Uint8Array(1) }]);
  assert.equal(peerNameKey(bytes, 0), 0xfedcba987654);
  assert.equal(peerNameKey(bytes, 6), Number(H1));
  const cache = new PeerNameCache(2);
  const first = cache.read(bytes, 0);
  assert.equal(first, 0xfedcba987654n);
  assert.equal(cache.read(bytes, 0), first);
  assert.equal(cache.read(bytes, 12), H2);
  assert.equal(cache.read(bytes, 6), H1, "still right after the bound clears the cache");
  assert.deepEqual(peerNameBytes(H2), bytes.subarray(12, 18));
  assert.throws(() => peerNameBytes(1n << 48n), RangeError);
});
