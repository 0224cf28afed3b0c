import assert from "node:assert/strict";
import dgram from "node:dgram";
import { discardLogger, memoryLogger } from "../../lib/log.ts";
import type { OverlayConnection, OverlayConnectionParams } from "../../mesh/overlay.ts";
import { OverlaySwitch } from "../overlay_switch.ts";
import { SleeveCipher } from "./crypto.ts";
import { encodeFrames, heartbeatFrame } from "./packet.ts";
import { type SleeveClock, SleeveOverlay, type SleeveOverlayOptions } from "./sleeve.ts";

const A = 0x0a0000000001n;
const B = 0x0b0000000002n;
const CONN_UID = 0x73d988f0c0478e53n;
const KEY = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);

/** A port free for both TCP and UDP (the sleeve shares the mesh's TCP port number). */
async function freePort(): Promise<number> {
  for (;;) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = listener.addr as Deno.NetAddr;
    listener.close();
    const probe = dgram.createSocket("udp4");
    const ok = await new Promise<boolean>((resolve) => {
      probe.once("error", () => resolve(false));
      probe.bind(port, "127.0.0.1", () => resolve(true));
    });
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    if (ok) return port;
  }
}

async function waitFor(what: string, pred: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Side {
  overlay: SleeveOverlay;
  conn: OverlayConnection;
  port: number;
  established: number;
  errors: Error[];
  sent: { tag: number; body: number[] }[];
  log: ReturnType<typeof memoryLogger>;
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
    const port = await freePort();
    const log = memoryLogger("debug");
    const overlay = new SleeveOverlay({
      localPeer: peer,
      port,
      host: "127.0.0.1",
      log,
      ...options.opts,
    });
    await overlay.start();
    return { overlay, port, log, established: 0, errors: [], sent: [] } as unknown as Side;
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
  a.conn = a.overlay.prepareConnection(params(a, b, true));
  b.conn = b.overlay.prepareConnection(params(b, a, false));
  b.conn.confirm();
  a.conn.confirm();
  const pair = [a, b] as [Side, Side] & AsyncDisposable;
  pair[Symbol.asyncDispose] = async () => {
    await a.overlay.stop();
    await b.overlay.stop();
  };
  return pair;
}

Deno.test("SleeveOverlay pair establishes unencrypted and verifies MTU 1438 on loopback", async () => {
  await using pair = await makePair();
  const [a, b] = pair;
  await waitFor(
    "both established with MTU",
    () => a.conn.attrs().mtu !== undefined && b.conn.attrs().mtu !== undefined,
  );
  assert.equal(a.established, 1);
  assert.equal(b.established, 1);
  assert.deepEqual(a.conn.attrs(), { name: "sleeve", mtu: 1438 });
  assert.deepEqual(b.conn.attrs(), { name: "sleeve", mtu: 1438 });
  assert.ok(
    a.log.lines.some((l) =>
      l.endsWith(
        `sleeve ->[127.0.0.1:${b.port}|0b:00:00:00:00:02(b)]: Effective MTU verified at 1438`,
      )
    ),
  );
  // B learned A's UDP address from A's heartbeats.
  assert.ok(
    b.log.lines.some((l) => l.includes(`sleeve ->[127.0.0.1:${a.port}|0a:00:00:00:00:01(a)]:`)),
  );
  for (const side of [a, b]) {
    assert.equal(side.sent.filter((m) => m.tag === 1).length, 1, "one ConnectionEstablished");
    assert.ok(side.sent.some((m) => m.tag === 2), "acknowledges the frag test");
    assert.ok(side.sent.some((m) => m.tag === 3 && m.body.join() === "5,158"), "PMTUVerified 1438");
    assert.deepEqual(side.errors, []);
  }
  await waitFor("frag test acknowledged", () => a.overlay.diagnostics().stackFrag === 1);
  const diag = a.overlay.diagnostics();
  assert.equal(diag.established, 1);
  assert.equal(diag.confirmed, 1);
  assert.equal(diag.dropped.auth + diag.dropped.malformed + diag.dropped.unknownSender, 0);
});

Deno.test("SleeveOverlay pair establishes encrypted with one session key and verifies 1414", async () => {
  await using pair = await makePair({ keyA: KEY, keyB: KEY });
  const [a, b] = pair;
  await waitFor(
    "both verified",
    () => a.conn.attrs().mtu !== undefined && b.conn.attrs().mtu !== undefined,
  );
  assert.deepEqual(a.conn.attrs(), { name: "sleeve", mtu: 1414, encrypted: true });
  assert.deepEqual(b.conn.attrs(), { name: "sleeve", mtu: 1414, encrypted: true });
  assert.equal(a.established + b.established, 2);
  assert.ok(b.sent.some((m) => m.tag === 3 && m.body.join() === "5,134"), "PMTUVerified 1414");
  assert.equal(a.overlay.diagnostics().dropped.auth, 0);
});

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
});

Deno.test("SleeveOverlay lowers the MTU candidate when tests are not acknowledged", async () => {
  await using pair = await makePair({
    opts: { timing: { mtuVerifyTimeoutMs: 1, mtuVerifyAttempts: 2 } },
    deliverToA: (tag, body) => tag !== 3 || ((body[0] << 8) | body[1]) <= 1000,
  });
  const [a] = pair;
  await waitFor("A's MTU", () => a.conn.attrs().mtu !== undefined);
  assert.equal(a.conn.attrs().mtu, 1000);
  assert.ok(a.log.lines.some((l) => l.endsWith("Effective MTU verified at 1000")));
});

async function sendRaw(port: number, datagrams: Uint8Array[]): Promise<void> {
  const socket = dgram.createSocket("udp4");
  for (const d of datagrams) {
    await new Promise<void>((resolve, reject) =>
      socket.send(d, port, "127.0.0.1", (e) => e ? reject(e) : resolve())
    );
  }
  await new Promise<void>((resolve) => socket.close(() => resolve()));
}

Deno.test("SleeveOverlay counts and drops hostile unencrypted datagrams", async () => {
  await using pair = await makePair();
  const [a, b] = pair;
  await waitFor("established", () => a.established === 1 && b.established === 1);
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
    encodeFrames(B, [{ src: B, dst: A, frame: data }]), // data frame: no data plane yet
  ]);
  await waitFor(
    "drops counted",
    () => a.overlay.diagnostics().dropped.dataFrame > before.dataFrame,
  );
  const after = a.overlay.diagnostics().dropped;
  assert.equal(after.malformed - before.malformed, 2);
  assert.equal(after.unknownSender - before.unknownSender, 1);
  assert.equal(after.staleHeartbeat - before.staleHeartbeat, 1);
  assert.equal(after.misaddressed - before.misaddressed, 1);
  assert.equal(after.dataFrame - before.dataFrame, 1);
  assert.equal(a.errors.length, 0);
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

/** A clock that only moves when told to. */
class FakeClock implements SleeveClock {
  now = 0;
  #next = 1;
  readonly #timers = new Map<number, { at: number; fn: () => void; every?: number }>();
  setTimeout(fn: () => void, ms: number): number {
    this.#timers.set(this.#next, { at: this.now + ms, fn });
    return this.#next++;
  }
  setInterval(fn: () => void, ms: number): number {
    this.#timers.set(this.#next, { at: this.now + ms, fn, every: ms });
    return this.#next++;
  }
  clearTimeout(id: unknown): void {
    this.#timers.delete(id as number);
  }
  clearInterval(id: unknown): void {
    this.#timers.delete(id as number);
  }
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.#timers].filter(([, t]) =>
        t.at <= end
      ).sort((x, y) => x[1].at - y[1].at)[0];
      if (!due) break;
      const [id, timer] = due;
      this.now = timer.at;
      if (timer.every) timer.at += timer.every;
      else this.#timers.delete(id);
      timer.fn();
    }
    this.now = end;
  }
  get pending(): number {
    return this.#timers.size;
  }
}

Deno.test("SleeveOverlay heartbeats every 500 ms and times out after 60 s of silence", async () => {
  const clock = new FakeClock();
  const remotePort = await freePort();
  const received: Uint8Array[] = [];
  const remote = dgram.createSocket("udp4");
  remote.on("message", (m) => received.push(new Uint8Array(m)));
  await new Promise<void>((resolve) => remote.bind(remotePort, "127.0.0.1", () => resolve()));
  const overlay = new SleeveOverlay({
    localPeer: A,
    port: await freePort(),
    host: "127.0.0.1",
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
    remoteAddr: { hostname: "::ffff:127.0.0.1", port: remotePort },
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
  await new Promise<void>((resolve) => remote.close(() => resolve()));
});

Deno.test("SleeveOverlay refuses connections before start, after stop, and a taken port", async () => {
  const port = await freePort();
  const overlay = new SleeveOverlay({ localPeer: A, port, host: "127.0.0.1", log: discardLogger });
  const params = {} as OverlayConnectionParams;
  assert.throws(() => overlay.prepareConnection({ ...params, remotePeer: B }), /not running/);
  await overlay.start();
  const second = new SleeveOverlay({ localPeer: B, port, host: "127.0.0.1", log: discardLogger });
  await assert.rejects(second.start(), /Cannot bind sleeve UDP socket/);
  await overlay.stop();
  assert.throws(() => overlay.prepareConnection({ ...params, remotePeer: B }), /not running/);
  assert.throws(() => new SleeveOverlay({ localPeer: A, port: 0, log: discardLogger }), RangeError);
  assert.throws(
    () => new SleeveOverlay({ localPeer: A, port, mtu: 100, log: discardLogger }),
    RangeError,
  );
});

Deno.test("SleeveOverlay under OverlaySwitch establishes over tag-7 control messages", async () => {
  const sides = await Promise.all([A, B].map(async (peer) => {
    const port = await freePort();
    const sleeve = new SleeveOverlay({
      localPeer: peer,
      port,
      host: "127.0.0.1",
      log: discardLogger,
    });
    await sleeve.start();
    const features: Record<string, string> = {};
    const sw = new OverlaySwitch([{ name: "sleeve", overlay: sleeve }]);
    sw.addFeaturesTo(features);
    return { peer, port, sw, features, conn: null as OverlayConnection | null, established: 0 };
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
