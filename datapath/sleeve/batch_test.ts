import assert from "node:assert/strict";
import { choosePath, FrameBatch, MAX_BATCH_FRAMES, Path } from "./batch.ts";
import { decodeFrames } from "./packet.ts";

const N1 = Uint8Array.of(2, 0, 0, 0, 0, 1);
const N2 = Uint8Array.of(2, 0, 0, 0, 0, 2);

/** An IPv4 frame of `length` bytes (Ethernet included), DF as asked. */
function ipFrame(length: number, df: boolean): Uint8Array {
  const f = new Uint8Array(length);
  f[12] = 0x08;
  f[14] = 0x45;
  f[16] = (length - 14) >> 8;
  f[17] = (length - 14) & 0xff;
  if (df) f[20] = 0x40;
  return f;
}

Deno.test("choosePath follows spec §4.4 step 6 for every kind of frame", () => {
  const base = { mtu: 1438, stackFrag: false, fromBroadcast: false };
  const cases: [string, Uint8Array, Partial<typeof base>, Path][] = [
    ["DF that fits (mtu + 14)", ipFrame(1452, true), {}, Path.DF],
    ["DF one byte too big, unicast", ipFrame(1453, true), {}, Path.FragNeeded],
    ["DF too big, broadcast", ipFrame(1453, true), { fromBroadcast: true }, Path.Drop],
    ["DF too big even with stackFrag", ipFrame(3000, true), { stackFrag: true }, Path.FragNeeded],
    ["non-DF IPv4 with stackFrag", ipFrame(3000, false), { stackFrag: true }, Path.NonDF],
    ["non-DF IPv4 that fits, no stackFrag", ipFrame(1452, false), {}, Path.DF],
    ["non-DF IPv4 too big, no stackFrag", ipFrame(1453, false), {}, Path.Fragment],
    [
      "ARP",
      Uint8Array.of(...new Array(12).fill(0xff), 0x08, 0x06, ...new Array(28)),
      {},
      Path.NonDF,
    ],
    ["big non-IP", new Uint8Array(9000), {}, Path.NonDF],
  ];
  for (const [what, frame, opts, want] of cases) {
    assert.equal(choosePath(frame, { ...base, ...opts }), want, what);
  }
});

Deno.test("FrameBatch packs frames while size + 14 + len fits the limit, encodes like encodeFrames", () => {
  const b = new FrameBatch(2000, 6);
  assert.equal(b.size, 6);
  assert.ok(b.fits(1452, 1472), "6 + 14 + 1452 = 1472");
  assert.ok(!b.fits(1453, 1472));
  b.append(N1, N2, new Uint8Array(100).fill(7));
  assert.equal(b.size, 120);
  assert.ok(b.fits(1338, 1472) && !b.fits(1339, 1472));
  b.append(N1, N1, Uint8Array.of(1, 2, 3));
  const frames = decodeFrames(b.bytes.subarray(0, b.end), 6);
  assert.deepEqual(frames.map((f) => [f.src, f.dst, f.frame.length]), [
    [0x020000000001n, 0x020000000002n, 100],
    [0x020000000001n, 0x020000000001n, 3],
  ]);
  assert.deepEqual([...frames[1].frame], [1, 2, 3]);
  b.clear();
  assert.deepEqual([b.count, b.end, b.size], [0, 6, 6]);
});

Deno.test("FrameBatch counts the encryption overhead, stops at 100 frames and at its capacity", () => {
  const enc = new FrameBatch(2000, 30);
  assert.ok(enc.fits(1428, 1472) && !enc.fits(1429, 1472), "30 + 14 + 1428 = 1472");
  const b = new FrameBatch(65536, 6);
  for (let i = 0; i < MAX_BATCH_FRAMES; i++) {
    assert.ok(b.fits(1, 65507));
    b.append(N1, N2, Uint8Array.of(i));
  }
  assert.ok(!b.fits(1, 65507), "101st frame");
  const small = new FrameBatch(40, 6);
  assert.ok(!small.fits(30, 65507), "capacity");
  assert.throws(() => new FrameBatch(10, 6), RangeError);
});
