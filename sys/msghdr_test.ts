import assert from "node:assert/strict";
import { MessageHeader, SOL_UDP, UDP_GRO, UDP_SEGMENT } from "./msghdr.ts";

const BASE = 0x7f00_1234_5000n;
const fixedBase = () => BASE;

function u64(bytes: Uint8Array, at: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(at, true);
}

Deno.test("MessageHeader lays out a segmented send: name, one iovec, a UDP_SEGMENT cmsg", () => {
  const msg = new MessageHeader(fixedBase);
  const sockaddr = new Uint8Array([2, 0, 0x1a, 0x7f, 192, 0, 2, 7, 0, 0, 0, 0, 0, 0, 0, 0]);
  msg.prepareSend(0xdead_beef_0000n, 4206, sockaddr, 1402);
  const h = msg.header;
  assert.equal(h.length, 56);
  assert.equal(u64(h, 0), BASE + 80n, "msg_name");
  assert.equal(new DataView(h.buffer).getUint32(8, true), 16, "msg_namelen");
  assert.equal(u64(h, 16), BASE + 64n, "msg_iov");
  assert.equal(u64(h, 24), 1n, "msg_iovlen");
  assert.equal(u64(h, 32), BASE + 96n, "msg_control");
  assert.equal(u64(h, 40), 24n, "msg_controllen = CMSG_SPACE(2)");
  const memory = new Uint8Array(h.buffer);
  assert.equal(u64(memory, 64), 0xdead_beef_0000n, "iov_base");
  assert.equal(u64(memory, 72), 4206n, "iov_len");
  assert.deepEqual([...msg.name], [...sockaddr]);
  const c = new DataView(h.buffer, 96);
  assert.equal(c.getBigUint64(0, true), 18n, "cmsg_len = CMSG_LEN(2)");
  assert.equal(c.getInt32(8, true), SOL_UDP);
  assert.equal(c.getInt32(12, true), UDP_SEGMENT);
  assert.equal(c.getUint16(16, true), 1402);
});

Deno.test("MessageHeader without a segment size sends no control message", () => {
  const msg = new MessageHeader(fixedBase);
  msg.prepareSend(0x1000n, 1402, new Uint8Array(16), 1402);
  msg.prepareSend(0x1000n, 60, new Uint8Array(16), 0);
  assert.equal(u64(msg.header, 32), 0n);
  assert.equal(u64(msg.header, 40), 0n);
});

/** Writes what the kernel writes after recvmsg: controllen, one cmsg, flags, sender. */
function playKernel(msg: MessageHeader, cmsg: { level: number; type: number; value: number }[]) {
  const c = new DataView(msg.control.buffer, msg.control.byteOffset, msg.control.length);
  let at = 0;
  for (const m of cmsg) {
    c.setBigUint64(at, 20n, true);
    c.setInt32(at + 8, m.level, true);
    c.setInt32(at + 12, m.type, true);
    c.setInt32(at + 16, m.value, true);
    at += 24;
  }
  new DataView(msg.header.buffer).setBigUint64(40, BigInt(at), true);
}

Deno.test("MessageHeader reads the UDP_GRO segment size, skipping other control messages", () => {
  const msg = new MessageHeader(fixedBase);
  msg.prepareReceive(0x2000n, 65536);
  assert.equal(u64(msg.header, 40), 64n, "room for control messages");
  assert.equal(u64(new Uint8Array(msg.header.buffer), 72), 65536n);
  playKernel(msg, [{ level: 0, type: 8, value: 99 }, {
    level: SOL_UDP,
    type: UDP_GRO,
    value: 1402,
  }]);
  assert.equal(msg.receivedSegmentSize(), 1402);
  playKernel(msg, []);
  assert.equal(msg.receivedSegmentSize(), 0, "no cmsg: one datagram");
});

Deno.test("MessageHeader reads hostile control data as no segmentation", () => {
  const msg = new MessageHeader(fixedBase);
  msg.prepareReceive(0x2000n, 65536);
  playKernel(msg, [{ level: SOL_UDP, type: UDP_GRO, value: -5 }]);
  assert.equal(msg.receivedSegmentSize(), 0, "negative size");
  const c = new DataView(msg.control.buffer, msg.control.byteOffset);
  c.setBigUint64(0, 4n, true); // cmsg_len shorter than its own header
  assert.equal(msg.receivedSegmentSize(), 0);
  c.setBigUint64(0, 1000n, true); // longer than the control buffer
  assert.equal(msg.receivedSegmentSize(), 0);
  new DataView(msg.header.buffer).setBigUint64(40, 1n << 40n, true); // absurd controllen
  c.setBigUint64(0, 20n, true);
  c.setInt32(8, 0, true);
  assert.equal(msg.receivedSegmentSize(), 0, "walk stops at the buffer's end");
});

Deno.test("MessageHeader reports the sender and truncation after a receive", () => {
  const msg = new MessageHeader(fixedBase);
  msg.prepareReceive(0x2000n, 100);
  msg.name.set([2, 0, 0x1a, 0x7f, 192, 0, 2, 9]);
  assert.equal(msg.fromPort, 6783);
  assert.equal(msg.fromIp, 0xc0000209);
  assert.equal(msg.truncated, false);
  new DataView(msg.header.buffer).setInt32(48, 0x20, true);
  assert.equal(msg.truncated, true);
  msg.prepareReceive(0x2000n, 100);
  assert.equal(msg.truncated, false, "flags reset per receive");
});
