import assert from "node:assert/strict";
import { memoryLogger } from "../../lib/log.ts";
import type { OverlayConnectionParams } from "../../mesh/overlay.ts";
import { FakeClock } from "../../lib/fake_clock.ts";
import {
  FASTDP_HEARTBEAT_FEATURE,
  FASTDP_TIMING,
  FastdpControlTag,
  FastdpForwarder,
  type FastdpTiming,
  heartbeatTimeoutFor,
} from "./forwarder.ts";
import { heartbeatFrame } from "./heartbeat.ts";

const UID = 0xabcdef0123456789n;
const KEY = { srcPeer: 1n, dstPeer: 2n };
/** Weave 2.8.1's timings: most tests below run the forwarder as a Go peer would. */
const WEAVE_TIMING: FastdpTiming = {
  fastHeartbeatMs: 500,
  slowHeartbeatMs: 10_000,
  heartbeatTimeoutMs: 60_000,
};

interface SetupOptions {
  failSend?: boolean;
  timing?: FastdpTiming;
  remoteFeatures?: Record<string, string>;
}

function setup(opts: SetupOptions = {}) {
  const clock = new FakeClock();
  const logger = memoryLogger();
  const lines = logger.lines;
  const sent: number[] = [];
  const controls: [number, number][] = [];
  const health: boolean[] = [];
  const misdirected: number[] = [];
  const events = { established: 0, errors: [] as Error[], stopped: 0 };
  const params: OverlayConnectionParams = {
    localPeer: 1n,
    remotePeer: 2n,
    remoteNickName: "h2",
    localAddr: { hostname: "192.0.2.1", port: 40000 },
    remoteAddr: { hostname: "192.0.2.2", port: 6783 },
    outbound: true,
    connUID: UID,
    remoteFeatures: opts.remoteFeatures ?? {},
    sendControlMessage: (tag, body) => controls.push([tag, body.length]),
    onEstablished: () => events.established++,
    onError: (e) => events.errors.push(e),
  };
  const fwd = new FastdpForwarder({
    params,
    port: {
      send: (frame) => {
        if (opts.failSend) throw new Error("Cannot send: Network is down");
        assert.equal(frame.length, 1390);
        sent.push(clock.now);
      },
      setHealthy: (f, h) => {
        assert.equal(f, fwd);
        health.push(h);
      },
      misdirected: (frame) => misdirected.push(frame[0]),
    },
    mtu: 1376,
    timing: opts.timing ?? WEAVE_TIMING,
    clock,
    log: logger.withPrefix("fastdp ->[192.0.2.2:6784|00:00:00:00:00:02(h2)]:"),
    onStop: () => events.stopped++,
  });
  return { clock, fwd, sent, controls, health, events, lines, misdirected };
}

const beat = () => heartbeatFrame(UID, 1376);

Deno.test("forwarder sends nothing before confirm and ignores heartbeats then", () => {
  const { clock, fwd, sent, controls } = setup();
  clock.advance(5000);
  assert.deepEqual(sent, []);
  assert.equal(fwd.receiveHeartbeat(beat()), false);
  assert.deepEqual(controls, []);
  assert.deepEqual(fwd.attrs(), { name: "fastdp", mtu: 1376 });
  fwd.stop();
});

Deno.test("forwarder beats every 500 ms until acked, then every 10 s", () => {
  const { clock, fwd, sent, events, health, lines } = setup();
  fwd.confirm();
  fwd.confirm();
  clock.advance(1600);
  assert.deepEqual(sent, [0, 500, 1000, 1500]);
  assert.equal(fwd.healthy(), false);
  assert.equal(fwd.forward(KEY, new Uint8Array(60), { fromBroadcast: true }), false);
  fwd.controlMessage(FastdpControlTag.HeartbeatAck, new Uint8Array());
  assert.equal(events.established, 1);
  assert.equal(fwd.healthy(), true);
  assert.deepEqual(health, [true]);
  assert.equal(fwd.forward(KEY, new Uint8Array(60), { fromBroadcast: true }), true);
  assert.equal(fwd.forward(KEY, new Uint8Array(60), { fromBroadcast: false }), true);
  sent.length = 0;
  fwd.receiveHeartbeat(beat()); // keep the timeout away
  clock.advance(25_000);
  assert.deepEqual(sent, [11_600, 21_600]);
  fwd.controlMessage(FastdpControlTag.HeartbeatAck, new Uint8Array());
  assert.equal(events.established, 1, "established only once");
  assert.ok(lines.some((l) => l.includes("fastdp established")));
  fwd.stop();
  assert.equal(events.stopped, 1);
  assert.equal(clock.pending, 0);
});

Deno.test("forwarder reports unicast frames that reached sleeve while healthy as misdirected", () => {
  const { fwd, misdirected } = setup();
  const frame = (dst0: number) => Uint8Array.of(dst0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 8, 0);
  fwd.confirm();
  assert.equal(fwd.forward(KEY, frame(0x02), { fromBroadcast: false }), false);
  assert.deepEqual(misdirected, [], "nothing while unhealthy: sleeve carries it");
  fwd.controlMessage(FastdpControlTag.HeartbeatAck, new Uint8Array());
  assert.equal(fwd.forward(KEY, frame(0x02), { fromBroadcast: false }), true);
  assert.equal(fwd.forward(KEY, frame(0xff), { fromBroadcast: true }), true);
  assert.equal(fwd.forward(KEY, frame(0x01), { fromBroadcast: true }), true);
  assert.equal(fwd.forward(KEY, new Uint8Array(3), { fromBroadcast: false }), true);
  assert.deepEqual(misdirected, [0x02], "only the unicast frame");
  fwd.stop();
});

Deno.test("forwarder acks the first valid heartbeat once and rejects others", () => {
  const { fwd, controls } = setup();
  fwd.confirm();
  assert.equal(fwd.receiveHeartbeat(heartbeatFrame(UID + 1n, 1376)), false);
  assert.equal(fwd.receiveHeartbeat(beat().subarray(0, 1000)), false);
  assert.deepEqual(controls, []);
  assert.match(fwd.status().reason, /last heartbeat rejected: length field 1390 but 1000/);
  assert.equal(fwd.receiveHeartbeat(beat()), true);
  assert.equal(fwd.receiveHeartbeat(beat()), true);
  assert.deepEqual(controls, [[FastdpControlTag.HeartbeatAck, 0]]);
  const s = fwd.status();
  assert.equal(s.heartbeatsReceived, 2);
  assert.equal(s.heartbeatsRejected, 2);
  assert.equal(s.established, false, "our own ack does not establish us");
  fwd.stop();
});

Deno.test("forwarder falls back on silence and comes back when heartbeats resume", () => {
  const { clock, fwd, sent, health, lines } = setup();
  fwd.confirm();
  fwd.receiveHeartbeat(beat());
  fwd.controlMessage(FastdpControlTag.HeartbeatAck, new Uint8Array());
  assert.equal(fwd.healthy(), true);
  clock.advance(59_999);
  assert.equal(fwd.healthy(), true);
  clock.advance(1);
  assert.equal(fwd.healthy(), false);
  assert.equal(fwd.forward(KEY, new Uint8Array(60), { fromBroadcast: false }), false);
  assert.deepEqual(health, [true, false]);
  assert.equal(fwd.status().reason, "no heartbeat for 60s");
  assert.ok(lines.some((l) =>
    l.includes(
      "fastdp ->[192.0.2.2:6784|00:00:00:00:00:02(h2)]: no heartbeat for 60s, falling back to sleeve",
    )
  ));
  sent.length = 0;
  clock.advance(30_000);
  assert.equal(sent.length, 3, "keeps probing every 10 s while down");
  assert.equal(fwd.receiveHeartbeat(beat()), true);
  assert.equal(fwd.healthy(), true);
  assert.deepEqual(health, [true, false, true]);
  assert.ok(lines.some((l) => l.endsWith("heartbeats resumed, back to fastdp")));
  // A second outage and recovery work the same way.
  clock.advance(60_000);
  assert.equal(fwd.healthy(), false);
  fwd.receiveHeartbeat(beat());
  assert.equal(fwd.healthy(), true);
  assert.deepEqual(health, [true, false, true, false, true]);
  fwd.stop();
});

Deno.test("forwarder that never hears the remote times out before being established", () => {
  const { clock, fwd, sent, lines, health } = setup();
  fwd.confirm();
  clock.advance(60_000);
  assert.equal(sent.length, 120, "500 ms beats (0 … 59.5 s) until the timeout");
  assert.ok(lines.some((l) => l.includes("no heartbeat for 60s, fastdp not established")));
  sent.length = 0;
  clock.advance(20_000);
  assert.equal(sent.length, 2);
  fwd.receiveHeartbeat(beat());
  assert.equal(fwd.healthy(), false);
  assert.equal(fwd.status().reason, "waiting for heartbeat ack");
  clock.advance(1000);
  assert.equal(sent.length, 4, "back to 500 ms beats until acked");
  fwd.controlMessage(FastdpControlTag.HeartbeatAck, new Uint8Array());
  assert.equal(fwd.healthy(), true);
  assert.deepEqual(health, [true]);
  fwd.stop();
});

Deno.test("forwarder refuses IPsec set-up and survives send errors", () => {
  const { clock, fwd, events, lines } = setup({ failSend: true });
  fwd.confirm();
  clock.advance(2000);
  assert.equal(fwd.status().sendErrors, 5);
  assert.equal(lines.filter((l) => l.includes("cannot send heartbeat")).length, 1);
  fwd.controlMessage(9, new Uint8Array(1));
  assert.equal(events.errors.length, 0);
  fwd.controlMessage(FastdpControlTag.CryptoInitSARemote, new Uint8Array(64));
  assert.match(events.errors[0].message, /IPsec/);
  fwd.stop();
  fwd.stop();
  assert.equal(events.stopped, 1);
  fwd.controlMessage(FastdpControlTag.HeartbeatAck, new Uint8Array());
  assert.equal(events.established, 0, "no callbacks after stop");
});

Deno.test("heartbeatTimeoutFor uses 3.5 intervals of an advertising remote, else Weave's", () => {
  const f = (v?: string) =>
    heartbeatTimeoutFor(v === undefined ? {} : { FastdpHeartbeatMs: v }, FASTDP_TIMING);
  assert.equal(FASTDP_HEARTBEAT_FEATURE, "FastdpHeartbeatMs");
  assert.equal(f("1000"), 3500);
  assert.equal(f("200"), 700);
  assert.equal(f("10000"), 35_000);
  assert.equal(f("30000"), 60_000, "never longer than Weave's timeout");
  assert.equal(f(), 60_000, "a Go peer advertises nothing");
  for (
    const hostile of ["", "0", "9", "60001", "1e3", "-1000", " 1000", "1000ms", "0x10", "9999999"]
  ) {
    assert.equal(f(hostile), 60_000, `advertised ${JSON.stringify(hostile)}`);
  }
  const short = { fastHeartbeatMs: 20, slowHeartbeatMs: 50, heartbeatTimeoutMs: 400 };
  assert.equal(heartbeatTimeoutFor({ FastdpHeartbeatMs: "50" }, short), 175);
  assert.equal(heartbeatTimeoutFor({ FastdpHeartbeatMs: "500" }, short), 400);
});

Deno.test("forwarder with our timing beats every second and falls back 3.5 s after an advertising remote goes silent", () => {
  const { clock, fwd, sent, health, lines } = setup({
    timing: FASTDP_TIMING,
    remoteFeatures: { [FASTDP_HEARTBEAT_FEATURE]: "1000" },
  });
  fwd.confirm();
  fwd.receiveHeartbeat(beat());
  fwd.controlMessage(FastdpControlTag.HeartbeatAck, new Uint8Array());
  sent.length = 0;
  for (let t = 0; t < 10; t++) {
    clock.advance(1000);
    fwd.receiveHeartbeat(beat());
  }
  assert.equal(sent.length, 10, "one heartbeat a second once established");
  assert.equal(fwd.healthy(), true);
  assert.equal(fwd.status().heartbeatTimeoutMs, 3500);
  clock.advance(3499);
  assert.equal(fwd.healthy(), true);
  clock.advance(1);
  assert.equal(fwd.healthy(), false);
  assert.equal(fwd.status().reason, "no heartbeat for 3.5s");
  assert.ok(lines.some((l) => l.endsWith("no heartbeat for 3.5s, falling back to sleeve")));
  sent.length = 0;
  clock.advance(3000);
  assert.equal(sent.length, 3, "keeps probing every second while down");
  fwd.receiveHeartbeat(beat());
  assert.equal(fwd.healthy(), true);
  assert.deepEqual(health, [true, false, true]);
  fwd.stop();
  assert.equal(clock.pending, 0);
});

Deno.test("forwarder with our timing keeps Weave's 60 s timeout for a remote that advertises nothing", () => {
  const { clock, fwd } = setup({ timing: FASTDP_TIMING });
  fwd.confirm();
  fwd.receiveHeartbeat(beat());
  fwd.controlMessage(FastdpControlTag.HeartbeatAck, new Uint8Array());
  assert.equal(fwd.status().heartbeatTimeoutMs, 60_000);
  clock.advance(59_999);
  assert.equal(fwd.healthy(), true, "a Go peer beating every 10 s is not failed early");
  clock.advance(1);
  assert.equal(fwd.healthy(), false);
  assert.equal(fwd.status().reason, "no heartbeat for 60s");
  fwd.stop();
});
