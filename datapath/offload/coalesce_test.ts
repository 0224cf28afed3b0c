import assert from "node:assert/strict";
import { pattern, tcpChecksumValid, tcpFields, tcpFrame } from "./_frames_test_utils.ts";
import { MAX_COALESCED, TcpCoalescer } from "./coalesce.ts";
import { GSO_TCPV4, GSO_TCPV6, segmentRead, VNET_F_NEEDS_CSUM } from "./segment.ts";

function setUp(accept = true) {
  const writes: Uint8Array[] = [];
  const glue = new TcpCoalescer((bytes) => {
    writes.push(bytes.slice());
    return accept;
  });
  return { glue, writes };
}

/** A stream of `n` frames of `size` payload bytes each, from sequence `seq`. */
function stream(n: number, size: number, opts: { v6?: boolean; seq?: number; last?: number } = {}) {
  const frames: Uint8Array[] = [];
  let seq = opts.seq ?? 5000;
  for (let i = 0; i < n; i++) {
    const len = i === n - 1 && opts.last !== undefined ? opts.last : size;
    frames.push(
      tcpFrame({
        v6: opts.v6,
        seq,
        payload: pattern(len, seq),
        options: [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2],
      }),
    );
    seq += len;
  }
  return frames;
}

/** What the kernel would make of a write: the frames segmentRead cuts it into. */
function cut(write: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const n = segmentRead(write.slice(), write.length, (f) => frames.push(f.slice()));
  assert.ok(n > 0, `write refused: ${n}`);
  return frames;
}

for (const v6 of [false, true]) {
  Deno.test(`TcpCoalescer glues one TCP${v6 ? "v6" : "v4"} stream into one write the kernel cuts back`, () => {
    const { glue, writes } = setUp();
    const frames = stream(5, 1000, { v6, last: 300 });
    for (const f of frames) glue.add(f);
    assert.equal(writes.length, 1, "the shorter last frame ends the segment");
    const w = writes[0];
    assert.equal(w[0], VNET_F_NEEDS_CSUM);
    assert.equal(w[1], v6 ? GSO_TCPV6 : GSO_TCPV4);
    const tcp = 14 + (v6 ? 40 : 20);
    const v = new DataView(w.buffer);
    assert.deepEqual([
      v.getUint16(2, true),
      v.getUint16(4, true),
      v.getUint16(6, true),
      v.getUint16(8, true),
    ], [tcp + 32, 1000, tcp, 16]);
    assert.equal(w.length, 10 + tcp + 32 + 4300);
    const back = cut(w);
    assert.deepEqual(back.map((f) => tcpFields(f).seq), frames.map((f) => tcpFields(f).seq));
    assert.deepEqual(
      back.map((f) => tcpFields(f).payload),
      frames.map((f) => tcpFields(f).payload),
    );
    assert.ok(back.every(tcpChecksumValid));
    assert.deepEqual(glue.stats(), { glued: 5, segments: 1, writeErrors: 0 });
  });
}

Deno.test("TcpCoalescer writes a lone frame unchanged behind an empty vnet header", () => {
  const { glue, writes } = setUp();
  const [f] = stream(1, 1000);
  glue.add(f);
  assert.equal(writes.length, 0, "waits for more");
  glue.flush();
  assert.deepEqual(writes, [Uint8Array.from([...new Uint8Array(10), ...f])]);
  glue.flush();
  assert.equal(writes.length, 1, "nothing pending: no write");
});

Deno.test("TcpCoalescer keeps order: other frames flush the pending segment first", () => {
  const { glue, writes } = setUp();
  const [a, b, c] = stream(3, 1000);
  const arp = new Uint8Array(42);
  arp[12] = 0x08;
  arp[13] = 0x06;
  glue.add(a);
  glue.add(b);
  glue.add(arp);
  glue.add(c);
  glue.flush();
  assert.equal(writes.length, 3);
  assert.equal(writes[0][1], GSO_TCPV4);
  assert.deepEqual(cut(writes[0]).map((f) => tcpFields(f).seq), [5000, 6000]);
  assert.deepEqual(writes[1].subarray(10), arp);
  assert.deepEqual(writes[2].subarray(10), c, "alone: written as it came");
});

Deno.test("TcpCoalescer glues only what continues the stream", () => {
  const base = stream(2, 1000);
  const cases: [string, Uint8Array][] = [
    ["a gap in sequence", tcpFrame({ seq: 7001, payload: pattern(1000) })],
    ["another window", tcpFrame({ seq: 7000, window: 600, payload: pattern(1000) })],
    [
      "other options",
      tcpFrame({
        seq: 7000,
        options: [1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 2],
        payload: pattern(1000),
      }),
    ],
    [
      "a longer payload",
      tcpFrame({
        seq: 7000,
        options: [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2],
        payload: pattern(1001),
      }),
    ],
    [
      "FIN",
      tcpFrame({
        seq: 7000,
        flags: 0x11,
        options: [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2],
        payload: pattern(1000),
      }),
    ],
    [
      "no payload",
      tcpFrame({
        seq: 7000,
        options: [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2],
        payload: new Uint8Array(0),
      }),
    ],
  ];
  for (const [what, frame] of cases) {
    const { glue, writes } = setUp();
    glue.add(base[0]);
    glue.add(base[1]);
    glue.add(frame);
    glue.flush();
    assert.equal(writes.length, 2, what);
    assert.equal(cut(writes[0]).length, 2, what);
    assert.deepEqual(writes[1].subarray(10), frame, what);
  }
});

Deno.test("TcpCoalescer never glues a frame with a bad checksum (the kernel must see it)", () => {
  const { glue, writes } = setUp();
  const [a, b, c] = stream(3, 1000);
  b[b.length - 1] ^= 0xff; // damaged payload
  glue.add(a);
  glue.add(b);
  glue.add(c);
  glue.flush();
  assert.equal(writes.length, 3);
  assert.deepEqual(writes[1].subarray(10), b, "as it came, for the kernel to drop");
  assert.ok(!tcpChecksumValid(writes[1].subarray(10)));
});

Deno.test("TcpCoalescer: PSH ends a segment and rides in it", () => {
  const { glue, writes } = setUp();
  const frames = stream(3, 1000);
  const pushed = tcpFrame({
    seq: 8000,
    flags: 0x18,
    options: [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2],
    payload: pattern(1000, 8000),
  });
  for (const f of frames) glue.add(f);
  glue.add(pushed);
  assert.equal(writes.length, 1, "written at once");
  const back = cut(writes[0]);
  assert.deepEqual(back.map((f) => tcpFields(f).flags), [0x10, 0x10, 0x10, 0x18]);
});

Deno.test("TcpCoalescer stops at 64 frames and at 64 KiB", () => {
  const { glue, writes } = setUp();
  for (const f of stream(MAX_COALESCED + 1, 100)) glue.add(f);
  assert.equal(writes.length, 1);
  assert.equal(cut(writes[0]).length, MAX_COALESCED);
  glue.flush();
  assert.equal(writes.length, 2);
  const big = setUp();
  for (const f of stream(50, 1400)) big.glue.add(f);
  big.glue.flush();
  const sizes = big.writes.map((w) => cut(w).length);
  assert.deepEqual(sizes, [46, 4], "46 × 1400 + headers fits 65535, 47 does not");
  assert.ok(big.writes.every((w) => w.length - 10 - 14 <= 65535));
});

Deno.test("TcpCoalescer counts writes the device refused", () => {
  const { glue } = setUp(false);
  for (const f of stream(3, 1000)) glue.add(f);
  glue.flush();
  glue.add(new Uint8Array(60));
  assert.deepEqual(glue.stats(), { glued: 3, segments: 1, writeErrors: 2 });
});
