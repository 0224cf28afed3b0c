import assert from "node:assert/strict";
import type { BpfInstruction } from "../../sys/packet_socket.ts";
import {
  decodeHeartbeat,
  encodeHeartbeat,
  HEARTBEAT_HEADER_SIZE,
  heartbeatFrame,
  heartbeatLength,
  heartbeatMismatch,
  heartbeatUID,
  isSpecialFrame,
  SPECIAL_FRAME_FILTER,
} from "./heartbeat.ts";

const UID = 0x0102030405060708n;

Deno.test("heartbeatFrame lays out zero header, UID, length and padding", () => {
  const frame = heartbeatFrame(UID, 1376);
  assert.equal(frame.length, 1390);
  assert.deepEqual([...frame.subarray(0, 14)], new Array(14).fill(0));
  assert.deepEqual([...frame.subarray(14, 22)], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual([...frame.subarray(22, 24)], [0x05, 0x6e]); // 1390
  assert.equal(frame.subarray(24).every((b) => b === 0), true);
});

Deno.test("heartbeat codec round-trips, also at an offset inside a larger buffer", () => {
  for (const offset of [0, 5]) {
    const bytes = new Uint8Array(offset + 200).fill(0xaa);
    const end = encodeHeartbeat({ connUID: UID, length: 100 }, bytes, offset);
    assert.equal(end, offset + 100);
    assert.equal(bytes[offset + 100], 0xaa, "writes nothing past its length");
    const { value, offset: next } = decodeHeartbeat(bytes, offset);
    assert.deepEqual(value, { connUID: UID, length: 100 });
    assert.equal(next, end);
    const again = new Uint8Array(100);
    encodeHeartbeat(value, again, 0);
    assert.deepEqual(again, bytes.subarray(offset, offset + 100));
  }
});

Deno.test("heartbeatLength and encodeHeartbeat reject impossible sizes", () => {
  assert.equal(heartbeatLength(10), HEARTBEAT_HEADER_SIZE);
  assert.throws(() => heartbeatLength(9), RangeError);
  assert.throws(() => heartbeatLength(65522), RangeError);
  assert.throws(() => heartbeatLength(1.5), RangeError);
  assert.throws(
    () => encodeHeartbeat({ connUID: 1n, length: 23 }, new Uint8Array(100)),
    RangeError,
  );
  assert.throws(
    () => encodeHeartbeat({ connUID: 1n, length: 100 }, new Uint8Array(99)),
    RangeError,
  );
  assert.throws(
    () => encodeHeartbeat({ connUID: -1n, length: 30 }, new Uint8Array(30)),
    RangeError,
  );
  assert.throws(() => encodeHeartbeat({ connUID: 2n ** 64n, length: 30 }, new Uint8Array(30)));
});

Deno.test("decodeHeartbeat rejects truncated and hostile input", () => {
  const frame = heartbeatFrame(UID, 100);
  assert.throws(() => decodeHeartbeat(frame.subarray(0, 23)), RangeError);
  assert.throws(() => decodeHeartbeat(frame, 100), RangeError);
  assert.throws(() => decodeHeartbeat(frame, -1), RangeError);
  assert.throws(() => decodeHeartbeat(frame.subarray(0, 60)), /length field 114/);
  const mac = frame.slice();
  mac[6] = 1;
  assert.throws(() => decodeHeartbeat(mac), SyntaxError);
  const short = frame.slice();
  short[22] = 0;
  short[23] = 10;
  assert.throws(() => decodeHeartbeat(short), RangeError);
  for (let i = 0; i < 200; i++) {
    const junk = crypto.getRandomValues(new Uint8Array(i % 64));
    junk.fill(0, 0, Math.min(14, junk.length));
    try {
      const { value, offset } = decodeHeartbeat(junk);
      assert.ok(value.length >= HEARTBEAT_HEADER_SIZE && offset <= junk.length);
    } catch (e) {
      assert.ok(e instanceof RangeError || e instanceof SyntaxError);
    }
  }
});

Deno.test("heartbeatMismatch accepts only our UID at the embedded length", () => {
  const frame = heartbeatFrame(UID, 1376);
  assert.equal(heartbeatMismatch(frame, UID), undefined);
  assert.match(heartbeatMismatch(frame, UID + 1n)!, /connection UID .* is not ours/);
  assert.match(heartbeatMismatch(frame.subarray(0, 1300), UID)!, /length field 1390 but 1300/);
  const longer = new Uint8Array(1400);
  longer.set(frame);
  assert.match(heartbeatMismatch(longer, UID)!, /1400 bytes arrived/);
  const data = frame.slice();
  data[0] = 0xff;
  assert.match(heartbeatMismatch(data, UID)!, /not all zero/);
  assert.match(heartbeatMismatch(new Uint8Array(10), UID)!, /shorter/);
  assert.equal(heartbeatUID(frame), UID);
  assert.equal(heartbeatUID(data), undefined);
  assert.equal(heartbeatUID(new Uint8Array(20)), undefined);
  assert.equal(isSpecialFrame(frame, 1380), false);
});

/** Runs the classic BPF subset the filter uses (ld w/h abs, jeq k, ret k). */
function runBpf(program: readonly BpfInstruction[], pkt: Uint8Array): number {
  const view = new DataView(pkt.buffer, pkt.byteOffset, pkt.byteLength);
  let a = 0;
  for (let pc = 0; pc < program.length; pc++) {
    const { code, jt, jf, k } = program[pc];
    if (code === 0x20 || code === 0x28) {
      const size = code === 0x20 ? 4 : 2;
      if (k + size > pkt.length) return 0;
      a = size === 4 ? view.getUint32(k) : view.getUint16(k);
    } else if (code === 0x15) pc += a === k ? jt : jf;
    else if (code === 0x06) return k;
    else throw new Error(`unexpected BPF opcode ${code}`);
  }
  throw new Error("BPF program fell off its end");
}

Deno.test("SPECIAL_FRAME_FILTER keeps only frames with an all-zero Ethernet header", () => {
  assert.ok(runBpf(SPECIAL_FRAME_FILTER, heartbeatFrame(UID, 1376)) >= 1390);
  for (let i = 0; i < 14; i++) {
    const frame = heartbeatFrame(UID, 100);
    frame[i] = 0x80;
    assert.equal(runBpf(SPECIAL_FRAME_FILTER, frame), 0, `byte ${i} set`);
  }
  assert.equal(runBpf(SPECIAL_FRAME_FILTER, new Uint8Array(13)), 0);
});
