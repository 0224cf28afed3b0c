// Sleeve overlays in pairs over real UDP sockets. Where root and iproute2 are available the
// sockets live in a private network namespace whose loopback has MTU 1500, so the 60000-byte
// DF probe fails with EMSGSIZE and PMTU discovery runs as over a real 1500-byte underlay;
// tests that need that are ignored otherwise.
import assert from "node:assert/strict";
import { discardLogger, memoryLogger } from "../../lib/log.ts";
import type { OverlayConnection, OverlayConnectionParams } from "../../mesh/overlay.ts";
import { withNetns } from "../../sys/netns.ts";
import { UdpAddr, UdpSocket } from "../../sys/udp.ts";
import type { ForwardKey, FrameConsumer, OverlayForwarder } from "../datapath.ts";
import { OverlaySwitch } from "../overlay_switch.ts";
import { SleeveCipher } from "./crypto.ts";
import { internetChecksum } from "./ipv4.ts";
import { encodeFrames, fragTestFrame, heartbeatFrame, mtuTestFrame } from "./packet.ts";
import { SleeveOverlay, type SleeveOverlayOptions } from "./sleeve.ts";
import { FakeClock } from "../../lib/fake_clock.ts";
import { waitUntil } from "../../tests/harness/wait.ts";

const A = 0x0a0000000001n;
const B = 0x0b0000000002n;
const CONN_UID = 0x73d988f0c0478e53n;
const KEY = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);

function labSkip(): string | undefined {
  try {
    if (Deno.uid() !== 0) return "needs root";
    new Deno.Command("ip", { args: ["-V"] }).outputSync();
  } catch (e) {
    return `needs root and iproute2 (${e instanceof Error ? e.message : e})`;
  }
  return undefined;
}

const LAB_SKIP = labSkip();
/** A namespace whose loopback has MTU 1500, deleted when the test process ends. */
const LAB = LAB_SKIP ? undefined : (() => {
  const ns = `wt${crypto.getRandomValues(new Uint16Array(1))[0].toString(16).padStart(4, "0")}`;
  const ip = (...args: string[]) => new Deno.Command("ip", { args }).outputSync();
  ip("netns", "add", ns);
  ip("-n", ns, "link", "set", "lo", "mtu", "1500", "up");
  globalThis.addEventListener("unload", () => ip("netns", "del", ns));
  return ns;
})();

/** A socket on 127.0.0.1, in the lab namespace when there is one. */
function openSocket(): UdpSocket {
  const open = () => UdpSocket.open({ host: "127.0.0.1", port: 0 });
  return LAB ? withNetns(LAB, open) : open();
}

/** A test that needs the 1500-byte lab; ignored without it. */
function labTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name: LAB_SKIP ? `${name} (ignored: ${LAB_SKIP})` : name, ignore: !!LAB_SKIP, fn });
}

const waitFor = (what: string, ok: () => boolean, timeoutMs = 3000) =>
  waitUntil(what, ok, timeoutMs, 5);

/** Records what reaches a consumer (copies: frames are only valid during the call). */
class RecordingConsumer implements FrameConsumer {
  readonly frames: { src: bigint; dst: bigint; frame: Uint8Array }[] = [];
  consume(key: ForwardKey, frame: Uint8Array): void {
    this.frames.push({ src: key.srcPeer, dst: key.dstPeer, frame: frame.slice() });
  }
}

interface Side {
  overlay: SleeveOverlay;
  conn: OverlayConnection & OverlayForwarder;
  port: number;
  established: number;
  errors: Error[];
  sent: { tag: number; body: number[] }[];
  log: ReturnType<typeof memoryLogger>;
  consumer: RecordingConsumer;
}

interface PairOptions {
  keyA?: Uint8Array;
  keyB?: Uint8Array;
  opts?: Partial<SleeveOverlayOptions>;
  /** Return false to lose a control message from B to A. */
  deliverToA?: (tag: number, body: Uint8Array) => boolean;
}

/** Two sleeve overlays on loopback; A dialled B. Control messages cross as over TCP. */
async function makePair(options: PairOptions = {}): Promise<[Side, Side] & AsyncDisposable> {
  const make = async (peer: bigint): Promise<Side> => {
    const socket = openSocket();
    const log = memoryLogger("debug");
    const overlay = new SleeveOverlay({
      localPeer: peer,
      port: socket.port,
      socket,
      log,
      ...options.opts,
    });
    await overlay.start();
    const consumer = new RecordingConsumer();
    overlay.setConsumer(consumer);
    return {
      overlay,
      port: socket.port,
      log,
      consumer,
      established: 0,
      errors: [],
      sent: [],
    } as unknown as Side;
  };
  const a = await make(A);
  const b = await make(B);
  const params = (me: Side, other: Side, outbound: boolean): OverlayConnectionParams => ({
    localPeer: me === a ? A : B,
    remotePeer: me === a ? B : A,
    remoteNickName: me === a ? "b" : "a",
    localAddr: { hostname: "127.0.0.1", port: outbound ? 45678 : me.port },
    remoteAddr: { hostname: "127.0.0.1", port: outbound ? other.port : 45678 },
    outbound,
    connUID: CONN_UID,
    sessionKey: me === a ? options.keyA : options.keyB,
    remoteFeatures: {},
    sendControlMessage: (tag, body) => {
      me.sent.push({ tag, body: Array.from(body) });
      if (me === b && options.deliverToA && !options.deliverToA(tag, body)) return;
      const copy = body.slice();
      setTimeout(() => other.conn.controlMessage(tag, copy), 0);
    },
    onEstablished: () => me.established++,
    onError: (e) => me.errors.push(e),
  });
  a.conn = a.overlay.prepareConnection(params(a, b, true)) as Side["conn"];
  b.conn = b.overlay.prepareConnection(params(b, a, false)) as Side["conn"];
  b.conn.confirm();
  a.conn.confirm();
  const pair = [a, b] as [Side, Side] & AsyncDisposable;
  pair[Symbol.asyncDispose] = async () => {
    await a.overlay.stop();
    await b.overlay.stop();
  };
  return pair;
}

const NOT_BC = { fromBroadcast: false };
const verified = (s: Side) => s.conn.attrs().mtu !== undefined;

labTest(
  "SleeveOverlay pair establishes unencrypted and verifies MTU 1438 over a 1500 path",
  async () => {
    await using pair = await makePair();
    const [a, b] = pair;
    await waitFor("both established with MTU", () => verified(a) && verified(b));
    assert.equal(a.established, 1);
    assert.equal(b.established, 1);
    assert.deepEqual(a.conn.attrs(), { name: "sleeve", mtu: 1438 });
    assert.deepEqual(b.conn.attrs(), { name: "sleeve", mtu: 1438 });
    const prefix = `sleeve ->[127.0.0.1:${b.port}|0b:00:00:00:00:02(b)]:`;
    assert.ok(a.log.lines.some((l) => l.endsWith(`${prefix} Effective MTU verified at 1438`)));
    assert.ok(
      a.log.lines.some((l) => l.includes(`${prefix} EMSGSIZE on send, expecting PMTU update`)),
      "the 60000-byte probe provoked EMSGSIZE",
    );
    // B learned A's UDP address from A's heartbeats.
    assert.ok(
      b.log.lines.some((l) => l.includes(`sleeve ->[127.0.0.1:${a.port}|0a:00:00:00:00:01(a)]:`)),
    );
    for (const side of [a, b]) {
      assert.equal(side.sent.filter((m) => m.tag === 1).length, 1, "one ConnectionEstablished");
      assert.ok(side.sent.some((m) => m.tag === 2), "acknowledges the frag test");
      assert.ok(
        side.sent.some((m) => m.tag === 3 && m.body.join() === "5,158"),
        "PMTUVerified 1438",
      );
      assert.deepEqual(side.errors, []);
      assert.ok(side.conn.healthy());
    }
    await waitFor("frag test acknowledged", () => a.overlay.diagnostics().stackFrag === 1);
    const diag = a.overlay.diagnostics();
    assert.equal(diag.established, 1);
    assert.equal(diag.confirmed, 1);
    assert.equal(diag.dropped.auth + diag.dropped.malformed + diag.dropped.unknownSender, 0);
  },
);

labTest(
  "SleeveOverlay pair establishes encrypted with one session key and verifies 1414",
  async () => {
    await using pair = await makePair({ keyA: KEY, keyB: KEY });
    const [a, b] = pair;
    await waitFor("both verified", () => verified(a) && verified(b));
    assert.deepEqual(a.conn.attrs(), { name: "sleeve", mtu: 1414, encrypted: true });
    assert.deepEqual(b.conn.attrs(), { name: "sleeve", mtu: 1414, encrypted: true });
    assert.equal(a.established + b.established, 2);
    assert.ok(b.sent.some((m) => m.tag === 3 && m.body.join() === "5,134"), "PMTUVerified 1414");
    assert.equal(a.overlay.diagnostics().dropped.auth, 0);
  },
);

Deno.test("SleeveOverlay pair with different keys never establishes and counts bad MACs", async () => {
  await using pair = await makePair({
    keyA: KEY,
    keyB: KEY.map((x) => x ^ 0x55),
    opts: { timing: { fastHeartbeatMs: 20 } },
  });
  const [a, b] = pair;
  await waitFor("bad MACs", () => b.overlay.diagnostics().dropped.auth >= 2);
  assert.equal(a.established + b.established, 0);
  assert.deepEqual(b.sent, []);
  assert.ok(!a.conn.healthy());
});

Deno.test("SleeveOverlay fails the connection when the remote stops heartbeating", async () => {
  await using pair = await makePair({
    opts: { timing: { fastHeartbeatMs: 20, slowHeartbeatMs: 20, heartbeatTimeoutMs: 250 } },
  });
  const [a, b] = pair;
  await waitFor("established", () => a.established === 1 && b.established === 1);
  await new Promise((r) => setTimeout(r, 300)); // heartbeats keep it alive past the timeout
  assert.equal(a.errors.length, 0);
  b.conn.stop();
  await waitFor("A's heartbeat timeout", () => a.errors.length > 0, 1000);
  assert.equal(a.errors[0].message, "timed out waiting for UDP heartbeat");
  assert.equal(a.overlay.diagnostics().forwarders, 0);
  assert.deepEqual(b.errors, [], "a stopped forwarder fires no callbacks");
  assert.ok(!a.conn.healthy());
});

labTest("SleeveOverlay lowers the MTU candidate when tests are not acknowledged", async () => {
  await using pair = await makePair({
    opts: { timing: { mtuVerifyTimeoutMs: 25, mtuVerifyAttempts: 2 } },
    deliverToA: (tag, body) => tag !== 3 || ((body[0] << 8) | body[1]) <= 1000,
  });
  const [a] = pair;
  await waitFor("A's MTU", () => verified(a));
  assert.equal(a.conn.attrs().mtu, 1000);
  assert.ok(a.log.lines.some((l) => l.endsWith("Effective MTU verified at 1000")));
});

/** Ethernet + IPv4 frame of `length` bytes from 10.32.0.1 to 10.32.0.2, DF as asked. */
function ipFrame(length: number, df: boolean, fill = 0x5a): Uint8Array {
  const f = new Uint8Array(length).fill(fill);
  f.set([0x0a, 0, 0, 0, 0, 2, 0x0a, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
  const ipLength = length - 14;
  f.set([0x45, 0, ipLength >> 8, ipLength & 0xff, 0, 1, df ? 0x40 : 0, 0, 64, 17, 0, 0], 14);
  f.set([10, 32, 0, 1, 10, 32, 0, 2], 26);
  return f;
}

for (const encrypted of [false, true]) {
  const label = encrypted ? "encrypted" : "unencrypted";
  Deno.test(`SleeveOverlay carries a burst of frames in one aggregated datagram (${label})`, async () => {
    await using pair = await makePair(encrypted ? { keyA: KEY, keyB: KEY } : {});
    const [a, b] = pair;
    await waitFor("established", () => a.established === 1 && b.established === 1);
    await new Promise((r) => setTimeout(r, 50)); // let the probes and tests settle
    const before = a.overlay.diagnostics();
    const key = { srcPeer: A, dstPeer: B };
    for (let i = 0; i < 5; i++) {
      const frame = ipFrame(100 + i, true, i + 1);
      assert.equal(a.conn.forward(key, frame, { fromBroadcast: false }), true);
    }
    // A relayed frame keeps its original source, and a broadcast copy names the next hop.
    assert.ok(a.conn.forward({ srcPeer: 0x0c0000000003n, dstPeer: B }, ipFrame(60, true, 9), {
      fromBroadcast: true,
    }));
    await waitFor("six frames at B", () => b.consumer.frames.length === 6);
    const after = a.overlay.diagnostics();
    assert.equal(after.datagramsSent - before.datagramsSent, 1, "one datagram for the burst");
    assert.equal(after.framesSent - before.framesSent, 6);
    assert.deepEqual(
      b.consumer.frames.map((f) => [f.src, f.dst, f.frame.length, f.frame[40]]),
      [
        [A, B, 100, 1],
        [A, B, 101, 2],
        [A, B, 102, 3],
        [A, B, 103, 4],
        [A, B, 104, 5],
        [0x0c0000000003n, B, 60, 9],
      ],
    );
    assert.deepEqual(b.consumer.frames[0].frame, ipFrame(100, true, 1));
  });
}

labTest(
  "SleeveOverlay answers a too-big DF frame with ICMP frag-needed and drops broadcast ones",
  async () => {
    await using pair = await makePair();
    const [a, b] = pair;
    await waitFor("verified", () => verified(a));
    const big = ipFrame(1453, true);
    assert.equal(a.conn.forward({ srcPeer: A, dstPeer: B }, big, { fromBroadcast: true }), false);
    assert.equal(a.consumer.frames.length, 0, "no ICMP for a broadcast");
    assert.equal(a.conn.forward({ srcPeer: A, dstPeer: B }, big, { fromBroadcast: false }), false);
    assert.equal(a.consumer.frames.length, 1);
    const icmp = a.consumer.frames[0];
    assert.deepEqual([icmp.src, icmp.dst], [B, A], "as if from the destination peer");
    assert.deepEqual([...icmp.frame.subarray(0, 12)], [
      ...big.subarray(6, 12),
      ...big.subarray(0, 6),
    ]);
    assert.deepEqual([...icmp.frame.subarray(26, 34)], [10, 32, 0, 2, 10, 32, 0, 1]);
    assert.deepEqual([icmp.frame[34], icmp.frame[35]], [3, 4]);
    assert.equal((icmp.frame[40] << 8) | icmp.frame[41], 1438);
    assert.equal(internetChecksum(icmp.frame, 34, icmp.frame.length), 0);
    assert.ok(
      a.log.lines.some((l) => l.endsWith("Sending ICMP 3,4 (10.32.0.2 -> 10.32.0.1): PMTU=1438")),
    );
    assert.ok(a.log.lines.some((l) => l.includes("dropping too big DF broadcast frame")));
    assert.ok(
      a.conn.forward({ srcPeer: A, dstPeer: B }, ipFrame(1452, true), { fromBroadcast: false }),
    );
    await waitFor("the fitting frame", () => b.consumer.frames.length === 1);
  },
);

labTest(
  "SleeveOverlay fragments big non-DF IPv4 in software until the stack is trusted",
  async () => {
    let deliverFragAck = false;
    await using pair = await makePair({ deliverToA: (tag) => tag !== 2 || deliverFragAck });
    const [a, b] = pair;
    await waitFor("verified", () => verified(a));
    const frame = ipFrame(3014, false);
    assert.ok(a.conn.forward({ srcPeer: A, dstPeer: B }, frame, { fromBroadcast: false }));
    await waitFor("three fragments", () => b.consumer.frames.length === 3);
    assert.deepEqual(b.consumer.frames.map((f) => f.frame.length), [
      14 + 1436,
      14 + 1436,
      14 + 168,
    ]);
    for (const f of b.consumer.frames) assert.equal(internetChecksum(f.frame, 14, 34), 0);
    // Once the frag test is acknowledged, the stack fragments: one frame, non-DF path.
    deliverFragAck = true;
    (a.conn as unknown as { controlMessage(t: number, b: Uint8Array): void }).controlMessage(
      2,
      new Uint8Array(0),
    );
    assert.ok(a.conn.forward({ srcPeer: A, dstPeer: B }, frame, { fromBroadcast: false }));
    await waitFor("whole frame", () => b.consumer.frames.length === 4);
    assert.deepEqual(b.consumer.frames[3].frame, frame);
  },
);

Deno.test("SleeveOverlay refuses to forward before it has the remote's address", async () => {
  await using pair = await makePair({ opts: { timing: { fastHeartbeatMs: 60_000 } } });
  const [, b] = pair;
  // B accepted the connection and has not heard a heartbeat yet only if A's first one is lost;
  // force that state with a fresh, unconfirmed inbound forwarder.
  const lonely = b.overlay.prepareConnection({
    localPeer: B,
    remotePeer: 0x0c0000000003n,
    remoteNickName: "c",
    localAddr: { hostname: "127.0.0.1", port: b.port },
    remoteAddr: { hostname: "127.0.0.1", port: 1 },
    outbound: false,
    connUID: 1n,
    remoteFeatures: {},
    sendControlMessage: () => {},
    onEstablished: () => {},
    onError: () => {},
  }) as OverlayConnection & OverlayForwarder;
  assert.equal(
    lonely.forward({ srcPeer: B, dstPeer: 0x0c0000000003n }, ipFrame(60, true), {
      fromBroadcast: false,
    }),
    false,
  );
  assert.equal(b.overlay.diagnostics().dropped.noContact, 1);
  assert.equal(b.overlay.forwarderTo(0x0c0000000003n), lonely);
  assert.equal(b.overlay.forwarderTo(A), b.conn);
  lonely.stop();
});

async function sendRaw(port: number, datagrams: Uint8Array[]): Promise<void> {
  const socket = openSocket();
  const to = new UdpAddr("127.0.0.1", port);
  for (const d of datagrams) socket.sendTo(d.slice(), d.length, to, false);
  await socket.close();
}

Deno.test("SleeveOverlay counts and drops hostile unencrypted datagrams", async () => {
  await using pair = await makePair();
  const [a, b] = pair;
  await waitFor("established", () => a.established === 1 && b.established === 1);
  a.overlay.setConsumer(null as unknown as FrameConsumer); // as before the router is wired
  const before = a.overlay.diagnostics().dropped;
  const hb = (src: bigint, dst: bigint, uid: bigint) =>
    encodeFrames(B, [{ src, dst, frame: heartbeatFrame(uid) }]);
  const data = new Uint8Array(42).fill(0xff);
  await sendRaw(a.port, [
    new Uint8Array([1, 2, 3]), // shorter than a name
    hb(0x0c0000000003n, A, CONN_UID).map((x, i) => i === 0 ? 0x0c : x), // unknown sender
    hb(B, A, CONN_UID).subarray(0, 30), // truncated frame
    hb(B, A, CONN_UID + 1n), // stale connUID
    hb(B, 0x0c0000000003n, CONN_UID), // not addressed to us
    encodeFrames(B, [{ src: B, dst: A, frame: data }]), // data frame, not from B's address
    encodeFrames(B, [{ src: B, dst: A, frame: new Uint8Array(13) }]), // shorter than Ethernet
  ]);
  await waitFor(
    "drops counted",
    () => a.overlay.diagnostics().dropped.malformed - before.malformed === 3,
  );
  const after = a.overlay.diagnostics().dropped;
  assert.equal(after.unknownSender - before.unknownSender, 1);
  assert.equal(after.staleHeartbeat - before.staleHeartbeat, 1);
  assert.equal(after.misaddressed - before.misaddressed, 1);
  assert.equal(after.foreignSource - before.foreignSource, 1);
  assert.equal(a.errors.length, 0);
  assert.equal(a.established, 1);
});

Deno.test("SleeveOverlay takes unencrypted frames with a peer's name only from that peer's address", async () => {
  await using pair = await makePair();
  const [a, b] = pair;
  await waitFor("established", () => a.established === 1 && b.established === 1);
  await new Promise((r) => setTimeout(r, 50)); // let the probes and tests settle
  const before = a.overlay.diagnostics().dropped;
  const sentBefore = a.sent.length;
  // A third party (another address) writes B's name on data frames, a fragmentation test and
  // an MTU probe: none is delivered or answered.
  const forged = ipFrame(100, false, 0x66);
  await sendRaw(a.port, [
    encodeFrames(B, [{ src: B, dst: A, frame: forged }]),
    encodeFrames(B, [{ src: B, dst: A, frame: forged }, { src: B, dst: A, frame: forged }]),
    encodeFrames(B, [{ src: B, dst: A, frame: fragTestFrame() }]),
    encodeFrames(B, [{ src: B, dst: A, frame: mtuTestFrame(1000) }]),
  ]);
  await waitFor("forgeries counted", () => {
    return a.overlay.diagnostics().dropped.foreignSource - before.foreignSource === 5;
  });
  assert.equal(a.consumer.frames.length, 0, "no forged frame delivered");
  assert.equal(a.sent.length, sentBefore, "no FragmentationReceived or PMTUVerified sent");
  // B itself still gets through.
  assert.equal(b.conn.forward({ srcPeer: B, dstPeer: A }, ipFrame(100, false, 0x77), NOT_BC), true);
  await waitFor("B's frame delivered", () => a.consumer.frames.length === 1);
  assert.equal(a.consumer.frames[0].frame[99], 0x77);
  assert.equal(a.established, 1);
});

Deno.test("SleeveOverlay counts and drops forged and replayed encrypted datagrams", async () => {
  await using pair = await makePair({ keyA: KEY, keyB: KEY });
  const [a, b] = pair;
  await waitFor("established", () => a.established === 1 && b.established === 1);
  const before = a.overlay.diagnostics().dropped;
  // A datagram as B would seal it, far ahead in B's non-DF sequence, sent twice.
  const forger = new SleeveCipher({ sessionKey: KEY, outbound: false, localPeer: B });
  for (let i = 0; i < 1000; i++) forger.consumeSeq(false);
  const frames = encodeFrames(B, [{ src: B, dst: A, frame: heartbeatFrame(CONN_UID) }]);
  const valid = forger.seal(frames.subarray(6), false);
  const tampered = valid.slice();
  tampered[40] ^= 1;
  await sendRaw(a.port, [valid, valid, tampered, frames]);
  await waitFor("drops counted", () => {
    const d = a.overlay.diagnostics().dropped;
    return d.replay > before.replay && d.auth >= before.auth + 2;
  });
  const after = a.overlay.diagnostics().dropped;
  assert.equal(after.replay - before.replay, 1);
  assert.equal(after.auth - before.auth, 2);
  assert.equal(a.errors.length, 0);
});

Deno.test("SleeveOverlay heartbeats every 500 ms and times out after 60 s of silence", async () => {
  const clock = new FakeClock();
  const remote = openSocket();
  const received: Uint8Array[] = [];
  remote.startReceiving((m) => received.push(m.slice()));
  const socket = openSocket();
  const overlay = new SleeveOverlay({
    localPeer: A,
    port: socket.port,
    socket,
    log: discardLogger,
    clock,
  });
  await overlay.start();
  const errors: Error[] = [];
  const conn = overlay.prepareConnection({
    localPeer: A,
    remotePeer: B,
    remoteNickName: "b",
    localAddr: { hostname: "127.0.0.1", port: 50000 },
    remoteAddr: { hostname: "::ffff:127.0.0.1", port: remote.port },
    outbound: true,
    connUID: CONN_UID,
    remoteFeatures: {},
    sendControlMessage: () => {},
    onEstablished: () => assert.fail("must not establish"),
    onError: (e) => errors.push(e),
  });
  conn.confirm();
  clock.advance(499);
  await waitFor("first heartbeat", () => received.length === 1);
  assert.deepEqual(
    received[0],
    encodeFrames(A, [{ src: A, dst: B, frame: heartbeatFrame(CONN_UID) }]),
  );
  clock.advance(1); // 500 ms
  clock.advance(1000); // 1000, 1500 ms
  await waitFor("three more heartbeats", () => received.length === 4);
  clock.advance(60_000 - 1501);
  assert.equal(errors.length, 0);
  clock.advance(1);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].message, "timed out waiting for UDP heartbeat");
  assert.equal(clock.pending, 0, "all timers cleared");
  await overlay.stop();
  await remote.close();
});

Deno.test("SleeveOverlay refuses connections before start, after stop, and a taken port", async () => {
  const taken = UdpSocket.open({ host: "127.0.0.1", port: 0 });
  const port = taken.port;
  const overlay = new SleeveOverlay({ localPeer: A, port, log: discardLogger, socket: taken });
  const params = {} as OverlayConnectionParams;
  assert.throws(() => overlay.prepareConnection({ ...params, remotePeer: B }), /not running/);
  await overlay.start();
  await assert.rejects(overlay.start(), /already started/);
  const second = new SleeveOverlay({ localPeer: B, port, host: "127.0.0.1", log: discardLogger });
  await assert.rejects(second.start(), /Cannot bind sleeve UDP socket to 127.0.0.1:\d+/);
  await overlay.stop();
  assert.throws(() => overlay.prepareConnection({ ...params, remotePeer: B }), /not running/);
  assert.throws(() => new SleeveOverlay({ localPeer: A, port: 0, log: discardLogger }), RangeError);
});

labTest("SleeveOverlay under OverlaySwitch establishes over tag-7 control messages", async () => {
  const sides = await Promise.all([A, B].map(async (peer) => {
    const socket = openSocket();
    const sleeve = new SleeveOverlay({
      localPeer: peer,
      port: socket.port,
      socket,
      log: discardLogger,
    });
    await sleeve.start();
    const features: Record<string, string> = {};
    const sw = new OverlaySwitch([{ name: "sleeve", overlay: sleeve }]);
    sw.addFeaturesTo(features);
    return {
      peer,
      port: socket.port,
      sw,
      features,
      conn: null as OverlayConnection | null,
      established: 0,
    };
  }));
  const tcp: string[] = [];
  for (const [me, other] of [[sides[0], sides[1]], [sides[1], sides[0]]]) {
    const outbound = me.peer === A;
    me.conn = me.sw.prepareConnection({
      localPeer: me.peer,
      remotePeer: other.peer,
      remoteNickName: "x",
      localAddr: { hostname: "127.0.0.1", port: me.port },
      remoteAddr: { hostname: "127.0.0.1", port: outbound ? other.port : 45678 },
      outbound,
      connUID: CONN_UID,
      remoteFeatures: other.features,
      sendControlMessage: (tag, body) => {
        tcp.push(`${tag}:${Array.from(body).join(",")}`);
        const copy = body.slice();
        setTimeout(() => other.conn!.controlMessage(tag, copy), 0);
      },
      onEstablished: () => me.established++,
      onError: (e) => assert.fail(e),
    });
  }
  sides.forEach((s) => s.conn!.confirm());
  await waitFor("verified MTU", () => sides.every((s) => s.conn!.attrs().mtu === 1438));
  assert.deepEqual(sides.map((s) => s.established), [1, 1]);
  assert.deepEqual(sides[0].conn!.attrs(), { name: "sleeve", mtu: 1438 });
  assert.ok(tcp.includes("7:0,1"), "ConnectionEstablished as [00][01]");
  assert.ok(tcp.includes("7:0,2"), "FragmentationReceived as [00][02]");
  assert.ok(tcp.includes("7:0,3,5,158"), "PMTUVerified 1438 as [00][03][05 9e], as captured");
  await Promise.all(sides.map((s) => s.sw.stop()));
});
