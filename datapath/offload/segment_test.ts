import assert from "node:assert/strict";
import {
  ipChecksumValid,
  pattern,
  tcpChecksumValid,
  tcpFields,
  tcpFrame,
  withVnetHeader,
} from "./_frames_test_utils.ts";
import { finish, put16, sumWords } from "./checksum.ts";
import {
  GSO_ECN,
  GSO_TCPV4,
  GSO_TCPV6,
  segmentRead,
  SegmentRefused,
  VNET_F_NEEDS_CSUM,
} from "./segment.ts";

function collect(buf: Uint8Array, length = buf.length) {
  const frames: Uint8Array[] = [];
  const result = segmentRead(buf, length, (f) => frames.push(f.slice()));
  return { result, frames };
}

Deno.test("segmentRead hands on a plain frame as it is", () => {
  const frame = tcpFrame({ payload: pattern(100) });
  const { result, frames } = collect(withVnetHeader(frame, {}));
  assert.equal(result, 1);
  assert.deepEqual(frames, [frame]);
});

Deno.test("segmentRead completes a checksum the kernel left to the device (UDP)", () => {
  // An IPv4 UDP frame whose checksum field holds only the pseudo-header sum.
  const f = new Uint8Array(14 + 20 + 8 + 33);
  put16(f, 12, 0x0800);
  f.set([0x45, 0, 0, 61, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 32, 0, 1, 10, 32, 0, 2], 14);
  put16(f, 34, 5353);
  put16(f, 36, 53);
  put16(f, 38, 41);
  f.set(pattern(33), 42);
  const pseudo = 10 * 256 + 32 + 1 + 10 * 256 + 32 + 2 + 17 + 41;
  put16(f, 40, pseudo);
  const { result, frames } = collect(
    withVnetHeader(f, { flags: VNET_F_NEEDS_CSUM, csumStart: 34, csumOffset: 6 }),
  );
  assert.equal(result, 1);
  const out = frames[0];
  put16(f, 40, 0);
  const expected = finish(pseudo + sumWords(f, 34, f.length));
  assert.equal((out[40] << 8) | out[41], expected);
  assert.deepEqual(out.subarray(42), pattern(33), "payload untouched");
});

for (const v6 of [false, true]) {
  Deno.test(`segmentRead cuts a large TCP${v6 ? "v6" : "v4"} segment as the kernel would`, () => {
    const payload = pattern(3 * 1000 + 417);
    const options = [1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9]; // NOP NOP timestamps
    const big = tcpFrame({
      v6,
      seq: 0xffff_fc00,
      flags: 0x10 | 0x08 | 0x01 | 0x80,
      id: 0xfffe,
      options,
      payload,
      partial: true,
    });
    const tcpStart = 14 + (v6 ? 40 : 20);
    const read = withVnetHeader(big, {
      flags: VNET_F_NEEDS_CSUM,
      gsoType: (v6 ? GSO_TCPV6 : GSO_TCPV4) | GSO_ECN,
      hdrLen: tcpStart + 32,
      gsoSize: 1000,
      csumStart: tcpStart,
      csumOffset: 16,
    });
    const { result, frames } = collect(read);
    assert.equal(result, 4);
    assert.deepEqual(
      frames.map((f) => f.length),
      [1000, 1000, 1000, 417].map((n) => tcpStart + 32 + n),
    );
    const fields = frames.map(tcpFields);
    assert.deepEqual(
      fields.map((f) => f.seq),
      [0xffff_fc00, 0xffff_ffe8, 976, 1976],
      "wraps at 2^32",
    );
    assert.deepEqual(
      fields.map((f) => f.flags),
      [0x90, 0x10, 0x10, 0x19],
      "CWR first, PSH|FIN last",
    );
    if (!v6) assert.deepEqual(fields.map((f) => f.id), [0xfffe, 0xffff, 0, 1]);
    const glued = new Uint8Array(payload.length);
    let at = 0;
    for (const f of fields) {
      glued.set(f.payload, at);
      at += f.payload.length;
    }
    assert.deepEqual(glued, payload, "payload in order, nothing lost");
    for (const f of frames) {
      assert.ok(tcpChecksumValid(f), "TCP checksum");
      assert.ok(ipChecksumValid(f), "IPv4 header checksum");
      assert.deepEqual(
        f.subarray(tcpStart + 20, tcpStart + 32),
        Uint8Array.from(options),
        "options kept",
      );
      const ipLen = v6 ? (f[18] << 8 | f[19]) + 40 : f[16] << 8 | f[17];
      assert.equal(ipLen, f.length - 14, "IP length");
    }
  });
}

Deno.test("segmentRead handles a VLAN tag and a segment that is one frame", () => {
  const inner = tcpFrame({ payload: pattern(500), partial: true });
  const tagged = new Uint8Array(inner.length + 4);
  tagged.set(inner.subarray(0, 12));
  tagged.set([0x81, 0x00, 0x00, 0x05], 12);
  tagged.set(inner.subarray(12), 16);
  const { result, frames } = collect(withVnetHeader(tagged, {
    flags: VNET_F_NEEDS_CSUM,
    gsoType: GSO_TCPV4,
    gsoSize: 1400,
    csumStart: 38,
    csumOffset: 16,
  }));
  assert.equal(result, 1);
  assert.ok(tcpChecksumValid(frames[0]));
  assert.deepEqual(tcpFields(frames[0]).payload, pattern(500));
});

Deno.test("segmentRead refuses hostile reads without handing anything on", () => {
  const tcp = tcpFrame({ payload: pattern(3000), partial: true });
  const gso = {
    flags: VNET_F_NEEDS_CSUM,
    gsoType: GSO_TCPV4,
    gsoSize: 1000,
    csumStart: 34,
    csumOffset: 16,
  };
  const udp = new Uint8Array(60);
  put16(udp, 12, 0x0800);
  udp.set([0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17], 14);
  const cases: [string, Uint8Array, number, number][] = [
    ["short", new Uint8Array(20), 20, SegmentRefused.short],
    ["length below the header", withVnetHeader(tcp, {}), 23, SegmentRefused.short],
    [
      "checksum field past the end",
      withVnetHeader(tcp, { flags: 1, csumStart: 30, csumOffset: 6000 }),
      0,
      SegmentRefused.checksumOffset,
    ],
    [
      "checksum start past the end",
      withVnetHeader(tcp, { flags: 1, csumStart: 60000, csumOffset: 0 }),
      0,
      SegmentRefused.checksumOffset,
    ],
    ["UDP segmentation", withVnetHeader(tcp, { ...gso, gsoType: 3 }), 0, SegmentRefused.gsoType],
    ["TCP segmentation of UDP", withVnetHeader(udp, gso), 0, SegmentRefused.notTcp],
    ["no segment size", withVnetHeader(tcp, { ...gso, gsoSize: 0 }), 0, SegmentRefused.tcpHeader],
    ["truncated TCP header", withVnetHeader(tcp.subarray(0, 40), gso), 0, SegmentRefused.notTcp],
    ["not IP", withVnetHeader(new Uint8Array(64), gso), 0, SegmentRefused.notTcp],
  ];
  for (const [what, buf, length, expected] of cases) {
    const { result, frames } = collect(buf, length || buf.length);
    assert.equal(result, expected, what);
    assert.equal(frames.length, 0, what);
  }
});
