import assert from "node:assert/strict";
import {
  finish,
  fold,
  pseudoHeaderSum,
  setIPv4HeaderChecksum,
  sumBytewise,
  sumWords,
} from "./checksum.ts";

Deno.test("sumWords and fold: RFC 1071's worked example, odd lengths and offsets", () => {
  const bytes = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
  assert.equal(fold(sumWords(bytes, 0, 8)), 0xddf2);
  assert.equal(finish(sumWords(bytes, 0, 8)), 0x220d);
  assert.equal(
    sumWords(Uint8Array.from([9, 0x12, 0x34, 0x56]), 1, 4),
    0x1234 + 0x5600,
    "odd tail padded",
  );
  const long = new Uint8Array(65534).fill(0xff);
  assert.equal(fold(sumWords(long, 0, long.length)), 0xffff, "~64 KiB of ones folds to ones");
  assert.equal(sumWords(long, 10, 10, 7), 7, "empty range keeps the sum");
});

Deno.test("setIPv4HeaderChecksum matches a real header's checksum", () => {
  // 192.168.0.1 -> 192.168.0.199, UDP, checksum 0xb861 (a widely quoted example header).
  const frame = new Uint8Array(14 + 20);
  frame.set([
    0x45,
    0x00,
    0x00,
    0x73,
    0x00,
    0x00,
    0x40,
    0x00,
    0x40,
    0x11,
    0,
    0,
    0xc0,
    0xa8,
    0x00,
    0x01,
    0xc0,
    0xa8,
    0x00,
    0xc7,
  ], 14);
  setIPv4HeaderChecksum(frame, 14);
  assert.deepEqual([frame[24], frame[25]], [0xb8, 0x61]);
});

Deno.test("pseudoHeaderSum covers addresses, protocol and length for IPv4 and IPv6", () => {
  const v4 = new Uint8Array(20);
  v4[0] = 0x45;
  v4.set([10, 32, 0, 1, 10, 32, 0, 2], 12);
  assert.equal(pseudoHeaderSum(v4, 0, 6, 1400), 0x0a20 + 0x0001 + 0x0a20 + 0x0002 + 6 + 1400);
  const v6 = new Uint8Array(40);
  v6[0] = 0x60;
  v6[8] = 0xfd;
  v6[39] = 2;
  assert.equal(pseudoHeaderSum(v6, 0, 6, 70000), 0xfd00 + 2 + 6 + 1 + (70000 - 65536));
});

Deno.test("sumWords (word loop) folds to what the byte loop folds to, at every alignment", () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  const memory = new Uint8Array(70_000).map(random);
  for (const length of [0, 1, 63, 64, 65, 66, 67, 100, 1379, 1514, 9001, 65535]) {
    for (let offset = 0; offset < 8; offset++) {
      const view = memory.subarray(offset + 3, offset + 3 + length + 9);
      for (let start = 0; start < 4; start++) {
        const end = start + length;
        const got = fold(sumWords(view, start, end, 0x1234));
        assert.equal(
          got,
          fold(sumBytewise(view, start, end, 0x1234)),
          `${length}@${offset}+${start}`,
        );
      }
    }
  }
  const ones = new Uint8Array(65534).fill(0xff);
  assert.equal(fold(sumWords(ones, 0, ones.length)), 0xffff);
});
