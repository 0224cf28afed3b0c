import assert from "node:assert/strict";
import { Errno, SysError } from "./libc.ts";
import { withNetns } from "./netns.ts";
import { formatIPv4, parseIPv4, UdpAddr, UdpSocket } from "./udp.ts";
import { waitUntil } from "../tests/harness/wait.ts";

function netnsSkip(): string | undefined {
  try {
    if (Deno.uid() !== 0) return "needs root";
    new Deno.Command("ip", { args: ["-V"] }).outputSync();
  } catch (e) {
    return `needs root and iproute2 (${e instanceof Error ? e.message : e})`;
  }
  return undefined;
}

function ip(...args: string[]): void {
  const out = new Deno.Command("ip", { args, stderr: "piped" }).outputSync();
  if (!out.success) {
    throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

const waitFor = (what: string, ok: () => boolean, timeoutMs = 2000) =>
  waitUntil(what, ok, timeoutMs, 5);

Deno.test("parseIPv4 and formatIPv4 round trip and refuse non-IPv4 text", () => {
  assert.equal(parseIPv4("192.0.2.1"), 0xc0000201);
  assert.equal(parseIPv4("::ffff:10.0.0.1"), 0x0a000001);
  assert.equal(formatIPv4(0xffffffff), "255.255.255.255");
  assert.equal(formatIPv4(parseIPv4("10.32.0.7")!), "10.32.0.7");
  for (const bad of ["", "1.2.3", "1.2.3.256", "a.b.c.d", "::1", "1.2.3.4.5", "1..2.3"]) {
    assert.equal(parseIPv4(bad), undefined, bad);
  }
});

Deno.test("UdpAddr encodes sockaddr_in and refuses bad input", () => {
  const a = new UdpAddr("192.0.2.9", 6783);
  assert.deepEqual([...a.sockaddr.subarray(0, 8)], [2, 0, 0x1a, 0x7f, 192, 0, 2, 9]);
  assert.ok(a.is(0xc0000209, 6783) && !a.is(0xc0000209, 6784));
  assert.equal(String(UdpAddr.fromNumbers(0x7f000001, 1)), "127.0.0.1:1");
  assert.throws(() => new UdpAddr("::1", 1), TypeError);
  assert.throws(() => new UdpAddr("1.2.3.4", 65536), RangeError);
});

Deno.test("UdpSocket sends and receives on loopback with the sender address", async () => {
  const a = UdpSocket.open({ host: "127.0.0.1", port: 0 });
  const b = UdpSocket.open({ host: "127.0.0.1", port: 0 });
  try {
    assert.ok(a.port > 0 && b.port > 0 && a.port !== b.port);
    const got: { bytes: number[]; ip: number; port: number }[] = [];
    b.startReceiving((bytes, ip, port) => got.push({ bytes: [...bytes], ip, port }));
    const to = new UdpAddr("127.0.0.1", b.port);
    assert.equal(a.sendTo(Uint8Array.of(1, 2, 3, 4), 3, to, false), 3);
    assert.equal(a.sendTo(Uint8Array.of(9), 1, to, true), 1, "DF path, same socket");
    assert.equal(a.sendTo(new Uint8Array(20000), 20000, to, false), 20000);
    await waitFor("three datagrams", () => got.length === 3);
    assert.deepEqual(got[0], { bytes: [1, 2, 3], ip: 0x7f000001, port: a.port });
    assert.deepEqual(got[1].bytes, [9]);
    assert.equal(got[2].bytes.length, 20000);
    const loMtu = Number(Deno.readTextFileSync("/sys/class/net/lo/mtu").trim());
    assert.equal(a.pathMtu(to), Math.min(loMtu, 65535), "loopback MTU, capped at IP_MAX_MTU");
    assert.throws(() => b.startReceiving(() => {}), /already running/);
  } finally {
    await a.close();
    await b.close();
  }
  assert.equal(a.sendTo(new Uint8Array(1), 1, new UdpAddr("127.0.0.1", 9), false), -Errno.EBADF);
  await a.close();
});

Deno.test("UdpSocket sends a train of datagrams in one call; a coalescing socket splits it", async () => {
  const a = UdpSocket.open({ host: "127.0.0.1", port: 0 });
  const plain = UdpSocket.open({ host: "127.0.0.1", port: 0 });
  const glued = UdpSocket.open({ host: "127.0.0.1", port: 0, coalesce: true });
  try {
    assert.equal(plain.coalescing, false);
    assert.equal(glued.coalescing, true, "this kernel has UDP_GRO");
    const train = new Uint8Array(3 * 1000 + 400);
    for (let i = 0; i < train.length; i++) train[i] = Math.floor(i / 1000) + 1;
    const got = new Map<UdpSocket, { bytes: number[]; ip: number; port: number }[]>();
    for (const s of [plain, glued]) {
      got.set(s, []);
      s.startReceiving((bytes, ip, port) => got.get(s)!.push({ bytes: [...bytes], ip, port }));
      const to = new UdpAddr("127.0.0.1", s.port);
      assert.equal(a.sendSegments(train, train.length, 1000, to, true), train.length);
    }
    for (const s of [plain, glued]) {
      await waitFor("four datagrams", () => got.get(s)!.length === 4);
      const d = got.get(s)!;
      assert.deepEqual(d.map((x) => x.bytes.length), [1000, 1000, 1000, 400]);
      assert.deepEqual(d.map((x) => x.bytes[0]), [1, 2, 3, 4]);
      assert.ok(d.every((x) => x.bytes.every((b) => b === x.bytes[0])), "no bytes mixed up");
      assert.ok(d.every((x) => x.ip === 0x7f000001 && x.port === a.port), "sender of each");
    }
    assert.equal(plain.receiveCalls, 4);
    assert.equal(glued.receiveCalls, 1, "one recvmsg for the whole train");
    const to = new UdpAddr("127.0.0.1", plain.port);
    assert.equal(a.sendSegments(train, train.length, 10, to, false), -Errno.EINVAL, "> 64");
    assert.equal(a.sendSegments(train, 10, 0, to, false), -Errno.EINVAL);
  } finally {
    await a.close();
    await plain.close();
    await glued.close();
  }
  assert.equal(a.sendSegments(new Uint8Array(2), 2, 1, new UdpAddr("127.0.0.1", 9), false), -9);
});

Deno.test("UdpSocket receive loop survives a throwing handler and stops promptly on close", async () => {
  const s = UdpSocket.open({ host: "127.0.0.1", port: 0 });
  const errors: unknown[] = [];
  let calls = 0;
  s.startReceiving(() => {
    calls++;
    throw new Error("boom");
  }, { onError: (e) => errors.push(e) });
  const to = new UdpAddr("127.0.0.1", s.port);
  s.sendTo(new Uint8Array(1), 1, to, false);
  s.sendTo(new Uint8Array(1), 1, to, false);
  await waitFor("two calls", () => calls === 2);
  assert.equal(errors.length, 2);
  const t0 = performance.now();
  await s.close();
  assert.ok(performance.now() - t0 < 500, "shutdown wakes the poll");
  assert.equal(s.fd, -1);
});

Deno.test("UdpSocket refuses a taken port with a SysError naming the address", () => {
  using a = UdpSocket.open({ host: "127.0.0.1", port: 0 });
  assert.throws(
    () => UdpSocket.open({ host: "127.0.0.1", port: a.port }),
    (e) => e instanceof SysError && e.code === "EADDRINUSE" && e.message.includes(`:${a.port}`),
  );
});

Deno.test("UdpSocket sets the buffers it is asked for and refuses sizes out of range", () => {
  using plain = UdpSocket.open({ host: "127.0.0.1", port: 0 });
  using big = UdpSocket.open({
    host: "127.0.0.1",
    port: 0,
    receiveBufferBytes: 3 << 20,
    sendBufferBytes: 1 << 20,
  });
  const before = plain.bufferSizes();
  const after = big.bufferSizes();
  let root = false;
  try {
    root = Deno.uid() === 0;
  } catch {
    // no --allow-sys: treat as unprivileged
  }
  if (root) {
    // SO_*BUFFORCE ignores net.core.[rw]mem_max; the kernel reports twice the request.
    assert.deepEqual(after, { receive: 6 << 20, send: 2 << 20 });
  } else {
    assert.ok(after.receive >= before.receive && after.send >= before.send, JSON.stringify(after));
  }
  assert.ok(after.receive > before.receive, `${after.receive} > ${before.receive}`);
  for (const bad of [0, 1023, 1.5, 2 ** 30]) {
    assert.throws(
      () => UdpSocket.open({ host: "127.0.0.1", port: 0, receiveBufferBytes: bad }),
      (e) => e instanceof RangeError && e.message.includes(`receive buffer to ${bad} bytes`),
    );
  }
  assert.throws(
    () => UdpSocket.open({ host: "127.0.0.1", port: 0, sendBufferBytes: -1 }),
    /Cannot set UDP send buffer to -1 bytes/,
  );
  big[Symbol.dispose]();
  assert.throws(() => big.bufferSizes(), (e) => e instanceof SysError && e.code === "EBADF");
});

const skip = netnsSkip();
Deno.test({
  name: `UdpSocket DF send over a 1500-byte path fails with EMSGSIZE and IP_MTU reads 1500${
    skip ? ` (ignored: ${skip})` : ""
  }`,
  ignore: skip !== undefined,
  async fn() {
    const ns = `wt${crypto.getRandomValues(new Uint16Array(1))[0].toString(16).padStart(4, "0")}`;
    ip("netns", "add", ns);
    try {
      ip("-n", ns, "link", "set", "lo", "mtu", "1500", "up");
      const [a, b] = withNetns(ns, () => [
        UdpSocket.open({ host: "127.0.0.1", port: 0 }),
        UdpSocket.open({ host: "127.0.0.1", port: 0 }),
      ]);
      try {
        const sizes: number[] = [];
        b.startReceiving((bytes) => sizes.push(bytes.length));
        const to = new UdpAddr("127.0.0.1", b.port);
        const big = new Uint8Array(3000);
        assert.equal(a.sendTo(big, 3000, to, true), -Errno.EMSGSIZE);
        assert.equal(a.pathMtu(to), 1500);
        assert.equal(a.sendTo(big, 1472, to, true), 1472, "exactly the MTU fits with DF");
        assert.equal(a.sendTo(big, 1473, to, true), -Errno.EMSGSIZE);
        assert.equal(a.sendTo(big, 3000, to, false), 3000, "non-DF is fragmented");
        assert.equal(
          a.sendSegments(big, 3000, 1500, to, false),
          -Errno.EMSGSIZE,
          "a train is never fragmented: its datagrams must fit the MTU, even without DF",
        );
        assert.equal(a.sendSegments(big, 2944, 1472, to, true), 2944, "two that fit");
        await waitFor("four datagrams", () => sizes.length === 4);
        assert.deepEqual(sizes, [1472, 3000, 1472, 1472]);
      } finally {
        await a.close();
        await b.close();
      }
    } finally {
      ip("netns", "del", ns);
    }
  },
});
