import assert from "node:assert/strict";
import { concatBytes } from "../lib/bytes.ts";
import { seal, SEAL_OVERHEAD, tcpNonce } from "./crypto.ts";
import { FrameReader, FrameWriter, LENGTH_PREFIX_SIZE, MAX_TCP_MESSAGE_SIZE } from "./framing.ts";

const key = crypto.getRandomValues(new Uint8Array(32));

function drain(reader: FrameReader): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let m = reader.next(); m !== null; m = reader.next()) out.push(m);
  return out;
}

function sampleMessages(): Uint8Array[] {
  const sizes = [0, 1, 3, 17, 100, 4095, 4096, 4097, 20000];
  return sizes.map((n, i) => Uint8Array.from({ length: n }, (_, j) => (i * 31 + j) & 0xff));
}

Deno.test("FrameWriter writes a u32 BE length and the plain body", () => {
  const w = new FrameWriter({ outbound: true });
  assert.deepEqual(w.frame(new Uint8Array([4, 9])), new Uint8Array([0, 0, 0, 2, 4, 9]));
  assert.deepEqual(w.frame(new Uint8Array()), new Uint8Array([0, 0, 0, 0]));
  const big = w.frame(new Uint8Array(0x010203));
  assert.deepEqual(Array.from(big.subarray(0, 4)), [0, 0x01, 0x02, 0x03]);
});

Deno.test("FrameWriter seals with nonces counting from 0 and its own polarity", () => {
  for (const outbound of [true, false]) {
    const w = new FrameWriter({ key, outbound });
    const msgs = [new Uint8Array([4, 1]), new Uint8Array([0]), new Uint8Array([7, 0, 3, 5, 0x9e])];
    msgs.forEach((m, i) => {
      const framed = w.frame(m);
      const expectBody = seal(m, tcpNonce(outbound, BigInt(i)), key);
      assert.equal(new DataView(framed.buffer).getUint32(0), m.length + SEAL_OVERHEAD);
      assert.deepEqual(framed.subarray(LENGTH_PREFIX_SIZE), expectBody);
    });
  }
});

Deno.test("FrameWriter refuses bodies above 10 MiB, counting the seal overhead", () => {
  const plain = new FrameWriter({ outbound: true });
  assert.equal(plain.frame(new Uint8Array(MAX_TCP_MESSAGE_SIZE)).length, MAX_TCP_MESSAGE_SIZE + 4);
  assert.throws(() => plain.frame(new Uint8Array(MAX_TCP_MESSAGE_SIZE + 1)), RangeError);
  const sealed = new FrameWriter({ key, outbound: true });
  assert.throws(() => sealed.frame(new Uint8Array(MAX_TCP_MESSAGE_SIZE - 15)), RangeError);
  // The refused message did not consume a sequence number.
  const first = sealed.frame(new Uint8Array([1]));
  assert.deepEqual(first.subarray(4), seal(new Uint8Array([1]), tcpNonce(true, 0n), key));
});

Deno.test("writer and reader round-trip with and without a key, in both directions", () => {
  for (const k of [undefined, key]) {
    for (const outbound of [true, false]) {
      const w = new FrameWriter({ key: k, outbound });
      const r = new FrameReader({ key: k, outbound: !outbound });
      const msgs = sampleMessages();
      r.push(concatBytes(msgs.map((m) => w.frame(m))));
      assert.deepEqual(drain(r), msgs);
      assert.equal(r.buffered, 0);
      assert.equal(r.next(), null);
    }
  }
});

Deno.test("FrameReader gives the same messages for byte-by-byte and random chunking", () => {
  for (const k of [undefined, key]) {
    const msgs = sampleMessages();
    const w = new FrameWriter({ key: k, outbound: true });
    const stream = concatBytes(msgs.map((m) => w.frame(m)));
    const oneByOne = new FrameReader({ key: k, outbound: false });
    const got: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++) {
      oneByOne.push(stream.subarray(i, i + 1));
      got.push(...drain(oneByOne));
    }
    assert.deepEqual(got, msgs);
    for (let trial = 0; trial < 20; trial++) {
      const r = new FrameReader({ key: k, outbound: false });
      const out: Uint8Array[] = [];
      for (let off = 0; off < stream.length;) {
        const n = 1 + Math.floor(Math.random() * 9000);
        r.push(stream.subarray(off, off + n));
        off += n;
        out.push(...drain(r));
      }
      assert.deepEqual(out, msgs, `trial ${trial}`);
    }
  }
});

Deno.test("FrameReader copies pushed bytes and returns messages that stay valid", () => {
  const r = new FrameReader({ outbound: false });
  const chunk = new Uint8Array([0, 0, 0, 2, 7, 8, 0, 0, 0, 1, 9]);
  r.push(chunk);
  chunk.fill(0xff);
  const a = r.next();
  r.push(new Uint8Array(10000).fill(0)); // forces the buffer to move
  assert.deepEqual(a, new Uint8Array([7, 8]));
  assert.deepEqual(r.next(), new Uint8Array([9]));
});

Deno.test("FrameReader refuses an oversized length prefix as soon as it arrives", () => {
  const r = new FrameReader({ outbound: false });
  r.push(new Uint8Array([0, 0xa0, 0x00]));
  assert.equal(r.next(), null);
  r.push(new Uint8Array([0x01])); // 0x00a00001 = 10 MiB + 1, no body yet
  assert.throws(() => r.next(), RangeError);
  assert.throws(() => r.next(), RangeError, "the error sticks");
  const ok = new FrameReader({ outbound: false });
  ok.push(new Uint8Array([0, 0xa0, 0, 0])); // exactly 10 MiB: allowed, waits for the body
  assert.equal(ok.next(), null);
  const worst = new FrameReader({ outbound: false });
  worst.push(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
  assert.throws(() => worst.next(), /4294967295/);
});

Deno.test("FrameReader with the wrong key, polarity or order fails to decrypt", () => {
  const w = new FrameWriter({ key, outbound: true });
  const frames = [w.frame(new Uint8Array([4, 1, 2])), w.frame(new Uint8Array([0]))];
  const otherKey = key.slice();
  otherKey[31] ^= 0x80;
  const cases = [
    { reader: new FrameReader({ key: otherKey, outbound: false }), stream: concatBytes(frames) },
    { reader: new FrameReader({ key, outbound: true }), stream: concatBytes(frames) },
    {
      reader: new FrameReader({ key, outbound: false }),
      stream: concatBytes([frames[1], frames[0]]),
    },
  ];
  for (const { reader, stream } of cases) {
    reader.push(stream);
    assert.throws(
      () => reader.next(),
      (e: unknown) => e instanceof Error && /^Cannot decrypt message 0/.test(e.message),
    );
    assert.throws(() => reader.next(), /Cannot decrypt message/);
  }
});

Deno.test("FrameReader rejects tampered and too-short sealed bodies", () => {
  const w = new FrameWriter({ key, outbound: false });
  const framed = w.frame(new Uint8Array([6, 6, 6]));
  framed[framed.length - 1] ^= 1;
  const r = new FrameReader({ key, outbound: true });
  r.push(framed);
  assert.throws(() => r.next(), /Cannot decrypt message/);
  const short = new FrameReader({ key, outbound: true });
  short.push(new Uint8Array([0, 0, 0, 3, 1, 2, 3]));
  assert.throws(() => short.next(), /Cannot decrypt message/);
  const empty = new FrameReader({ key, outbound: true });
  empty.push(new Uint8Array([0, 0, 0, 0]));
  assert.throws(() => empty.next(), /Cannot decrypt message/);
});
