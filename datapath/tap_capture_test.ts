// TapCapture against a real TAP in a private network namespace (needs root, iproute2 and
// /dev/net/tun; ignored otherwise): the kernel answers an injected ping, and the answer is
// captured; with offloads, the kernel takes glued TCP segments and hands over large ones.
import assert from "node:assert/strict";
import { memoryLogger } from "../lib/log.ts";
import { withNetns } from "../sys/netns.ts";
import { openTap, TAP_TX_QUEUE_LENGTH } from "../sys/tap.ts";
import { internetChecksum } from "./sleeve/ipv4.ts";
import { TAP_POLL_MS, TapCapture } from "./tap_capture.ts";
import { pattern, tcpChecksumValid, tcpFields, tcpFrame } from "./offload/_frames_test_utils.ts";
import { finish, pseudoHeaderSum, sumWords } from "./offload/checksum.ts";
import { UdpAddr, UdpSocket } from "../sys/udp.ts";
import { waitUntil } from "../tests/harness/wait.ts";

function skipReason(): string | undefined {
  try {
    if (Deno.uid() !== 0) return "needs root";
    Deno.statSync("/dev/net/tun");
    new Deno.Command("ip", { args: ["-V"] }).outputSync();
  } catch (e) {
    return `needs root, iproute2 and /dev/net/tun (${e instanceof Error ? e.message : e})`;
  }
  return undefined;
}

function ip(...args: string[]): void {
  const out = new Deno.Command("ip", { args, stderr: "piped" }).outputSync();
  if (!out.success) {
    throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

const waitFor = (what: string, ok: () => boolean, timeoutMs = 3000) =>
  waitUntil(what, ok, timeoutMs, 5);

const TAP_MAC = [0x02, 0, 0, 0, 0xaa, 1];
const PEER_MAC = [0x02, 0, 0, 0, 0xbb, 2];

/** ICMP echo request 10.9.0.2 → 10.9.0.1, id 0x4242, seq 7. */
function echoRequest(): Uint8Array {
  const f = new Uint8Array(14 + 20 + 8 + 16);
  f.set([...TAP_MAC, ...PEER_MAC, 0x08, 0x00]);
  f.set([0x45, 0, 0, 44, 0, 1, 0x40, 0, 64, 1, 0, 0, 10, 9, 0, 2, 10, 9, 0, 1], 14);
  const ipSum = internetChecksum(f, 14, 34);
  f.set([ipSum >> 8, ipSum & 0xff], 24);
  f.set([8, 0, 0, 0, 0x42, 0x42, 0, 7], 34);
  f.fill(0x61, 42);
  const icmpSum = internetChecksum(f, 34, f.length);
  f.set([icmpSum >> 8, icmpSum & 0xff], 36);
  return f;
}

const skip = skipReason();
Deno.test({
  name: `TapCapture injects a ping the kernel answers and captures the reply${
    skip ? ` (ignored: ${skip})` : ""
  }`,
  ignore: skip !== undefined,
  async fn() {
    const ns = `wt${crypto.getRandomValues(new Uint16Array(1))[0].toString(16).padStart(4, "0")}`;
    ip("netns", "add", ns);
    try {
      const tap = withNetns(ns, () => openTap("wttap0"));
      ip("-n", ns, "link", "set", "wttap0", "address", "02:00:00:00:aa:01", "up");
      ip("-n", ns, "addr", "add", "10.9.0.1/24", "dev", "wttap0");
      ip("-n", ns, "neigh", "add", "10.9.0.2", "lladdr", "02:00:00:00:bb:02", "dev", "wttap0");
      const captured: Uint8Array[] = [];
      const log = memoryLogger("debug");
      const capture = new TapCapture({ tap, log });
      capture.start((f) => captured.push(f.slice()));
      assert.throws(() => capture.start(() => {}), /already running/);
      assert.equal(capture.inject(echoRequest()), true);
      const isReply = (f: Uint8Array) =>
        f[12] === 0x08 && f[13] === 0 && f[23] === 1 && f[34] === 0;
      await waitFor("the echo reply", () => captured.some(isReply));
      const reply = captured.find(isReply)!;
      assert.deepEqual([...reply.subarray(0, 12)], [...PEER_MAC, ...TAP_MAC]);
      assert.deepEqual([...reply.subarray(26, 34)], [10, 9, 0, 1, 10, 9, 0, 2]);
      assert.deepEqual([...reply.subarray(38, 42)], [0x42, 0x42, 0, 7], "same id and seq");
      const stats = capture.stats();
      assert.equal(stats.injected, 1);
      assert.ok(stats.captured >= 1);
      const t0 = performance.now();
      await capture.stop();
      assert.ok(performance.now() - t0 <= TAP_POLL_MS + 200, "stops within one poll");
      assert.equal(capture.inject(echoRequest()), false, "closed");
      await capture.stop();
    } finally {
      ip("netns", "del", ns);
    }
  },
});

/**
 * Runs `fn` with a namespace holding an offloading TAP "wttap0" (10.9.0.1/24, with 10.9.0.2 at
 * {@link PEER_MAC}) and a running capture of it; removes both afterwards.
 */
async function withOffloadTap(
  fn: (t: { ns: string; captured: Uint8Array[]; capture: TapCapture }) => Promise<void>,
): Promise<void> {
  const ns = `wt${crypto.getRandomValues(new Uint16Array(1))[0].toString(16).padStart(4, "0")}`;
  ip("netns", "add", ns);
  try {
    const tap = withNetns(ns, () => openTap("wttap0", { offload: true }));
    const captured: Uint8Array[] = [];
    const capture = new TapCapture({ tap, log: memoryLogger("debug") });
    try {
      assert.ok(tap.vnetHeader && tap.offloads, "this kernel takes TAP offloads");
      ip("-n", ns, "link", "set", "wttap0", "address", "02:00:00:00:aa:01", "up");
      ip("-n", ns, "addr", "add", "10.9.0.1/24", "dev", "wttap0");
      ip("-n", ns, "neigh", "add", "10.9.0.2", "lladdr", "02:00:00:00:bb:02", "dev", "wttap0");
      capture.start((f) => captured.push(f.slice()));
      await fn({ ns, captured, capture });
    } finally {
      await capture.stop();
    }
  } finally {
    ip("netns", "del", ns);
  }
}

Deno.test({
  name: `TapCapture with offloads: a TCP peer played at frame level talks to the kernel${
    skip ? ` (ignored: ${skip})` : ""
  }`,
  ignore: skip !== undefined,
  fn: () =>
    withOffloadTap(async ({ ns, captured, capture }) => {
      using listener = withNetns(ns, () => Deno.listen({ hostname: "10.9.0.1", port: 5555 }));
      // We are 10.9.0.2:40000; every frame we send uses these fields.
      const us = {
        src: [10, 9, 0, 2],
        dst: [10, 9, 0, 1],
        srcPort: 40000,
        dstPort: 5555,
        srcMac: PEER_MAC,
        dstMac: TAP_MAC,
        window: 65535,
      };
      const fromServer = (f: Uint8Array) =>
        f.length >= 54 && f[12] === 0x08 && f[23] === 6 && f[34] === 0x15 && f[35] === 0xb3;
      const mss = [2, 4, 0x05, 0xb4]; // MSS 1460
      capture.inject(
        tcpFrame({
          ...us,
          seq: 1000,
          ack: 0,
          flags: 0x02,
          options: mss,
          payload: new Uint8Array(0),
        }),
      );
      await waitFor("SYN-ACK", () => captured.some((f) => fromServer(f) && f[47] === 0x12));
      const synAck = tcpFields(captured.find((f) => fromServer(f) && f[47] === 0x12)!);
      const ack = (synAck.seq + 1) >>> 0;
      capture.inject(tcpFrame({ ...us, seq: 1001, ack, payload: new Uint8Array(0) }));
      const conn = await listener.accept();
      try {
        // In: 20 segments injected in one burst are glued into one write the kernel accepts.
        const sent = pattern(20 * 1000, 3);
        for (let i = 0; i < 20; i++) {
          const payload = sent.subarray(i * 1000, (i + 1) * 1000);
          capture.inject(tcpFrame({ ...us, seq: 1001 + i * 1000, ack, payload }));
        }
        const got = new Uint8Array(sent.length);
        const guard = setTimeout(() => conn.close(), 5000); // a lost segment must not hang us
        try {
          for (let n = 0; n < got.length;) {
            const r = await conn.read(got.subarray(n));
            if (r === null) throw new Error(`connection closed after ${n} bytes`);
            n += r;
          }
        } finally {
          clearTimeout(guard);
        }
        assert.deepEqual(got, sent, "the glued segment arrives intact");
        const glued = capture.stats();
        assert.equal(glued.glued, 20);
        assert.equal(glued.gluedWrites, 1);
        // Out: the kernel's send reaches us as large segments, cut into valid frames.
        const reply = pattern(14_000, 7);
        await conn.write(reply);
        const payloadOf = () =>
          captured.filter(fromServer).map((f) => tcpFields(f)).filter((f) => f.payload.length > 0);
        await waitFor(
          "the reply",
          () => payloadOf().reduce((n, f) => n + f.payload.length, 0) >= 14_000,
        );
        const frames = payloadOf();
        const joined = new Uint8Array(14_000);
        for (const f of frames) joined.set(f.payload, (f.seq - ack) >>> 0);
        assert.deepEqual(joined, reply);
        assert.ok(frames.every((f) => f.payload.length <= 1460), "no frame above the MSS");
        assert.ok(captured.filter(fromServer).every(tcpChecksumValid), "every checksum completed");
        const stats = capture.stats();
        assert.ok(
          stats.reads < stats.captured,
          `some read held several frames: ${JSON.stringify(stats)}`,
        );
      } finally {
        try {
          conn.close();
        } catch { /* closed by the guard */ }
      }
    }),
});

Deno.test({
  name: `TapCapture with offloads: a UDP send made with UDP_SEGMENT is cut into datagrams${
    skip ? ` (ignored: ${skip})` : ""
  }`,
  ignore: skip !== undefined,
  fn: () =>
    withOffloadTap(async ({ ns, captured, capture }) => {
      const socket = withNetns(ns, () => UdpSocket.open({ host: "10.9.0.1", port: 0 }));
      try {
        const train = new Uint8Array(pattern(5 * 1000 + 300, 11));
        const to = new UdpAddr("10.9.0.2", 4433);
        assert.equal(socket.sendSegments(train, train.length, 1000, to, false), train.length);
        const isOurs = (f: Uint8Array) => f[23] === 17 && f[36] === 0x11 && f[37] === 0x51;
        await waitFor("six datagrams", () => captured.filter(isOurs).length === 6);
        const datagrams = captured.filter(isOurs);
        assert.deepEqual(datagrams.map((f) => f.length - 42), [1000, 1000, 1000, 1000, 1000, 300]);
        const joined = new Uint8Array(train.length);
        datagrams.forEach((f, i) => joined.set(f.subarray(42), i * 1000));
        assert.deepEqual(joined, train);
        for (const f of datagrams) {
          assert.equal(
            finish(pseudoHeaderSum(f, 14, 17, f.length - 34) + sumWords(f, 34, f.length)),
            0,
          );
        }
        const stats = capture.stats();
        assert.ok(stats.reads < stats.captured, `one read for the send: ${JSON.stringify(stats)}`);
      } finally {
        await socket.close();
      }
    }),
});

Deno.test({
  name: `openTap sets the queue length (default and asked) and refuses a bad one${
    skip ? ` (ignored: ${skip})` : ""
  }`,
  ignore: skip !== undefined,
  fn() {
    const ns = `wt${crypto.getRandomValues(new Uint16Array(1))[0].toString(16).padStart(4, "0")}`;
    ip("netns", "add", ns);
    const queueLength = (name: string) => {
      const out = new Deno.Command("ip", { args: ["-n", ns, "-j", "link", "show", name] })
        .outputSync();
      return JSON.parse(new TextDecoder().decode(out.stdout))[0].txqlen as number;
    };
    try {
      withNetns(ns, () => {
        using a = openTap("wttap0", { mtu: 9000 });
        using b = openTap("wttap1", { txQueueLength: 1234 });
        assert.equal(queueLength(a.name), TAP_TX_QUEUE_LENGTH);
        assert.equal(queueLength(b.name), 1234);
        assert.notEqual(TAP_TX_QUEUE_LENGTH, 1000, "not the kernel's default");
        for (const bad of [0, -1, 2.5]) {
          assert.throws(() => openTap("wttap2", { txQueueLength: bad }), RangeError);
        }
      });
    } finally {
      ip("netns", "del", ns);
    }
  },
});
