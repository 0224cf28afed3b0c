import assert from "node:assert/strict";
import {
  fragmentIPv4,
  icmpFragNeeded,
  internetChecksum,
  ipv4Addresses,
  ipv4DontFragment,
  ipv4HeaderLength,
} from "./ipv4.ts";

const hex = (s: string) =>
  Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!, (b) => parseInt(b, 16));

/** 10.32.0.1 → 10.32.0.2, total length 3028, id 0x1234, DF, ICMP; header checksum 0x08b3 by hand. */
const ORIGINAL_IP_HEADER = "45000bd4 12344000 400108b3 0a200001 0a200002";
const MAC_A = "0a0000000001";
const MAC_B = "0a0000000002";

function bigDfFrame(): Uint8Array {
  const frame = new Uint8Array(14 + 3028);
  frame.set(hex(MAC_B + MAC_A + "0800" + ORIGINAL_IP_HEADER + "0800000000010002"));
  return frame;
}

Deno.test("internetChecksum matches RFC 1071's example and handles odd lengths", () => {
  assert.equal(internetChecksum(hex("0001f203f4f5f6f7"), 0, 8), 0x220d);
  assert.equal(internetChecksum(hex("ff0001"), 1, 3), 0xfffe);
  assert.equal(internetChecksum(hex("01"), 0, 1), 0xfeff);
  assert.equal(internetChecksum(hex(ORIGINAL_IP_HEADER), 0, 20), 0, "valid header sums to 0");
});

Deno.test("ipv4HeaderLength and ipv4DontFragment look only at well-formed IPv4", () => {
  const frame = bigDfFrame();
  assert.equal(ipv4HeaderLength(frame), 20);
  assert.ok(ipv4DontFragment(frame));
  assert.deepEqual(ipv4Addresses(frame), ["10.32.0.1", "10.32.0.2"]);
  const noDf = frame.slice();
  noDf[20] = 0;
  assert.ok(!ipv4DontFragment(noDf));
  const arp = frame.slice();
  arp[13] = 0x06;
  assert.equal(ipv4HeaderLength(arp), 0);
  assert.ok(!ipv4DontFragment(arp));
  const v6 = frame.slice();
  v6[14] = 0x65;
  assert.equal(ipv4HeaderLength(v6), 0);
  const shortIhl = frame.slice();
  shortIhl[14] = 0x44;
  assert.equal(ipv4HeaderLength(shortIhl), 0);
  assert.equal(ipv4HeaderLength(frame.subarray(0, 33)), 0, "truncated");
  const options = frame.slice(0, 14 + 24);
  options[14] = 0x46;
  assert.equal(ipv4HeaderLength(options), 24);
  assert.equal(ipv4HeaderLength(options.subarray(0, 37)), 0, "options cut off");
});

Deno.test("icmpFragNeeded builds the hand-computed frame byte for byte", () => {
  const reply = icmpFragNeeded(bigDfFrame(), 1438)!;
  // IP header checksum: ~(4500+0038+4001+0a20+0002+0a20+0001) = ~997c = 6683.
  // ICMP checksum: ~(0304+059e + ffff (a valid quoted header) + 0800+0000+0001+0002) = ef5a.
  const expected = hex(
    MAC_A + MAC_B + "0800" +
      "45000038 00000000 40016683 0a200002 0a200001" +
      "0304ef5a 0000059e" + ORIGINAL_IP_HEADER + "0800000000010002",
  );
  assert.deepEqual(reply, expected);
  assert.equal(internetChecksum(reply, 14, 34), 0);
  assert.equal(internetChecksum(reply, 34, reply.length), 0);
});

Deno.test("icmpFragNeeded keeps TOS, quotes IP options, refuses non-IPv4 and short packets", () => {
  const withOptions = new Uint8Array(14 + 24 + 8);
  withOptions.set(hex(MAC_B + MAC_A + "0800" + "46b8002c00004000"));
  const reply = icmpFragNeeded(withOptions, 1000)!;
  assert.equal(reply.length, 14 + 20 + 8 + 24 + 8);
  assert.equal(reply[15], 0xb8, "TOS kept");
  assert.equal(internetChecksum(reply, 34, reply.length), 0);
  const arp = bigDfFrame();
  arp[12] = 0x08;
  arp[13] = 0x06;
  assert.equal(icmpFragNeeded(arp, 1438), null);
  assert.equal(icmpFragNeeded(bigDfFrame().subarray(0, 14 + 20 + 7), 1438), null);
  assert.throws(() => icmpFragNeeded(bigDfFrame(), 70000), RangeError);
});

function packet(payload: number, flagsWord = 0): Uint8Array {
  const frame = new Uint8Array(14 + 20 + payload + 6); // + Ethernet padding, dropped
  frame.set(hex(MAC_B + MAC_A + "0800" + "4500"));
  const total = 20 + payload;
  frame[16] = total >> 8;
  frame[17] = total & 0xff;
  frame[18] = 0xab;
  frame[20] = flagsWord >> 8;
  frame[21] = flagsWord & 0xff;
  frame[22] = 64;
  frame[23] = 17;
  for (let i = 0; i < payload; i++) frame[34 + i] = (i * 13) & 255;
  return frame;
}

function fragments(frame: Uint8Array, mtu: number) {
  const out: { bytes: Uint8Array; mf: boolean; offset: number; length: number }[] = [];
  const n = fragmentIPv4(frame, mtu, new Uint8Array(2000), (f) => {
    const bytes = f.slice();
    out.push({
      bytes,
      mf: (bytes[20] & 0x20) !== 0,
      offset: ((bytes[20] & 0x1f) << 8 | bytes[21]) * 8,
      length: (bytes[16] << 8) | bytes[17],
    });
  });
  assert.equal(n, out.length);
  return out;
}

Deno.test("fragmentIPv4 splits at 8-byte multiples with MF, offsets and valid checksums", () => {
  const frame = packet(3000);
  const frags = fragments(frame, 1500);
  assert.deepEqual(frags.map((f) => [f.length, f.offset, f.mf]), [
    [1500, 0, true],
    [1500, 1480, true],
    [60, 2960, false],
  ]);
  const payload: number[] = [];
  for (const f of frags) {
    assert.equal(f.bytes.length, 14 + f.length, "padding dropped");
    assert.equal(internetChecksum(f.bytes, 14, 34), 0);
    assert.deepEqual(f.bytes.subarray(0, 14), frame.subarray(0, 14));
    assert.equal(f.bytes[18], 0xab, "ID kept");
    payload.push(...f.bytes.subarray(34));
  }
  assert.deepEqual(payload, [...frame.subarray(34, 34 + 3000)]);
  assert.deepEqual(fragments(frame, 1001).map((f) => f.length), [996, 996, 996, 92]);
});

Deno.test("fragmentIPv4 continues the offset of a fragment and keeps its MF on the last piece", () => {
  const frame = packet(1600, 0x2000 | 100); // MF, offset 800
  const frags = fragments(frame, 1000);
  assert.deepEqual(frags.map((f) => [f.offset, f.mf]), [[800, true], [1776, true]]);
  assert.deepEqual(fragments(packet(100), 1500).map((f) => f.length), [120], "fits: one piece");
});

Deno.test("fragmentIPv4 refuses non-IPv4, tiny MTUs and a small scratch buffer", () => {
  const arp = packet(100);
  arp[13] = 6;
  assert.equal(fragmentIPv4(arp, 1500, new Uint8Array(2000), () => {}), 0);
  assert.equal(fragmentIPv4(packet(100), 27, new Uint8Array(2000), () => {}), 0);
  assert.throws(() => fragmentIPv4(packet(3000), 1500, new Uint8Array(100), () => {}), RangeError);
});
