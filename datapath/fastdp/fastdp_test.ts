import assert from "node:assert/strict";
import { memoryLogger } from "../../lib/log.ts";
import type { PeerName } from "../../lib/peer_name.ts";
import type { OverlayConnectionParams } from "../../mesh/overlay.ts";
import { waitFor } from "../../tests/harness/wait.ts";
import { FakeHost, FakeWire } from "./fake_host.ts";
import { FastDatapath } from "./fastdp.ts";
import type { FastdpForwarder } from "./forwarder.ts";

const A = 0xa1n;
const B = 0xb2n;
const TIMING = { fastHeartbeatMs: 20, slowHeartbeatMs: 100, heartbeatTimeoutMs: 400 };

/** Two hosts with a FastDatapath each, sharing one table of short IDs. */
async function pair() {
  const wire = new FakeWire();
  const shortIDs = new Map<PeerName, number>([[A, 1], [B, 2]]);
  const make = (self: PeerName, ip: string) => {
    const host = new FakeHost(wire, ip);
    const log = memoryLogger();
    const dp = new FastDatapath({ localPeer: self, port: 6783, host, log, timing: TIMING });
    dp.register({ shortID: () => shortIDs.get(self)!, peerShortID: (p) => shortIDs.get(p) });
    return { host, log, dp };
  };
  const a = make(A, "192.0.2.1");
  const b = make(B, "192.0.2.2");
  await a.dp.start();
  await b.dp.start();
  return { wire, shortIDs, a, b };
}

interface Side {
  fwd: FastdpForwarder;
  established: number;
  errors: Error[];
}

/** Prepares both ends of one connection (a dialled b), control messages relayed in order. */
function connect(
  a: FastDatapath,
  b: FastDatapath,
  connUID = 0x1234n,
  exchangeFeatures = false,
): [Side, Side] {
  const sides: Side[] = [];
  const make = (dp: FastDatapath, outbound: boolean, other: () => Side): Side => {
    const side = { established: 0, errors: [] as Error[] } as Side;
    const params: OverlayConnectionParams = {
      localPeer: outbound ? A : B,
      remotePeer: outbound ? B : A,
      remoteNickName: outbound ? "b" : "a",
      localAddr: { hostname: outbound ? "192.0.2.1" : "::ffff:192.0.2.2", port: 6783 },
      remoteAddr: outbound
        ? { hostname: "192.0.2.2", port: 6783 }
        : { hostname: "::ffff:192.0.2.1", port: 41000 },
      outbound,
      connUID,
      remoteFeatures: featuresOf(exchangeFeatures ? (outbound ? b : a) : undefined),
      sendControlMessage: (tag, body) =>
        queueMicrotask(() => other().fwd.controlMessage(tag, body.slice())),
      onEstablished: () => side.established++,
      onError: (e) => side.errors.push(e),
    };
    side.fwd = dp.prepareConnection(params);
    return side;
  };
  sides.push(make(a, true, () => sides[1]));
  sides.push(make(b, false, () => sides[0]));
  sides[0].fwd.confirm();
  sides[1].fwd.confirm();
  return [sides[0], sides[1]];
}

/** What `dp` advertises in the handshake; nothing (a Go peer's view) without `dp`. */
function featuresOf(dp: FastDatapath | undefined): Record<string, string> {
  const features: Record<string, string> = {};
  dp?.addFeaturesTo(features);
  return features;
}

const bothHealthy = (x: Side, y: Side) => x.fwd.healthy() && y.fwd.healthy();

Deno.test("fastdp pair establishes over the fake wire with Weave's VNIs", async () => {
  const { wire, a, b } = await pair();
  try {
    const [x, y] = connect(a.dp, b.dp);
    await waitFor(() => bothHealthy(x, y), { what: "both healthy", intervalMs: 10 });
    assert.equal(x.established, 1);
    assert.equal(y.established, 1);
    const devA = a.host.devices.get("vxw0000000000b2")!;
    const devB = b.host.devices.get("vxw0000000000a1")!;
    assert.deepEqual(
      [devA.spec.receiveVNI, devA.spec.sendVNI, devA.spec.port, devA.spec.remotePort],
      [0x001002, 0x002001, 6784, 6784],
    );
    assert.deepEqual([devB.spec.receiveVNI, devB.spec.sendVNI], [0x002001, 0x001002]);
    assert.equal(devB.spec.remoteIP, "192.0.2.1", "IPv4-mapped address unwrapped");
    assert.equal(devB.spec.local, "192.0.2.2");
    assert.equal(devA.active && devB.active, true);
    const fromA = wire.log.find((p) => p.from === "192.0.2.1")!;
    assert.deepEqual(fromA, {
      from: "192.0.2.1",
      to: "192.0.2.2",
      port: 6784,
      vni: 0x002001,
      length: 1390,
    });
    assert.equal(a.dp.forwarderTo(B), x.fwd);
    assert.equal(a.dp.forwarderTo(A), undefined);
    const diag = a.dp.diagnostics() as {
      Vports: { Name: string; VNI: number; Active: boolean }[];
      Flows: unknown[];
      Peers: { Peer: string; Healthy?: boolean; healthy: boolean; reason: string }[];
    };
    assert.deepEqual(diag.Vports.map((v) => [v.Name, v.VNI, v.Active]), [[
      "vxw0000000000b2",
      0x001002,
      true,
    ]]);
    assert.deepEqual(diag.Flows, []);
    assert.equal(diag.Peers[0].Peer, "00:00:00:00:00:b2");
    assert.equal(diag.Peers[0].healthy, true);
    assert.equal(diag.Peers[0].reason, "established");
  } finally {
    await a.dp.stop();
    await b.dp.stop();
  }
});

Deno.test("fastdp falls back when the wire is cut and returns by itself", async () => {
  const { wire, a, b } = await pair();
  try {
    const [x, y] = connect(a.dp, b.dp);
    await waitFor(() => bothHealthy(x, y), { what: "both healthy", intervalMs: 10 });
    wire.cut = true;
    await waitFor(() => !x.fwd.healthy() && !y.fwd.healthy(), {
      what: "both unhealthy",
      intervalMs: 10,
    });
    assert.equal(a.host.devices.get("vxw0000000000b2")!.active, false);
    assert.equal(b.host.devices.get("vxw0000000000a1")!.active, false);
    assert.ok(a.log.lines.some((l) =>
      l.includes(
        "fastdp ->[192.0.2.2:6784|00:00:00:00:00:b2(b)]: no heartbeat for 0.4s, falling back to sleeve",
      )
    ));
    assert.deepEqual(a.host.forgotten, ["vethwe-pcap"], "forgot sleeve's MACs on first activation");
    wire.cut = false;
    await waitFor(() => bothHealthy(x, y), { what: "healthy again", intervalMs: 10 });
    assert.equal(a.host.devices.get("vxw0000000000b2")!.active, true);
    assert.deepEqual(a.host.forgotten, ["vethwe-pcap", "vethwe-pcap"], "and on recovery");
    assert.ok(b.log.lines.some((l) => l.endsWith("heartbeats resumed, back to fastdp")));
    assert.equal(x.established, 1, "no second establishment");
    assert.equal(x.errors.length + y.errors.length, 0);
  } finally {
    await a.dp.stop();
    await b.dp.stop();
  }
});

Deno.test("fastdp advertises its heartbeat interval and times out peers that do within 3.5 of them", async () => {
  const { wire, a, b } = await pair();
  try {
    assert.deepEqual(featuresOf(a.dp), { FastdpHeartbeatMs: "100" });
    const [x, y] = connect(a.dp, b.dp, 0x1234n, true);
    await waitFor(() => bothHealthy(x, y), { what: "both healthy", intervalMs: 10 });
    assert.equal(x.fwd.status().heartbeatTimeoutMs, 350);
    const peers = a.dp.diagnostics().Peers as { heartbeatTimeoutMs: number }[];
    assert.equal(peers[0].heartbeatTimeoutMs, 350);
    wire.cut = true;
    await waitFor(() => !x.fwd.healthy() && !y.fwd.healthy(), {
      what: "both unhealthy",
      intervalMs: 10,
    });
    assert.ok(
      a.log.lines.some((l) => l.endsWith("no heartbeat for 0.35s, falling back to sleeve")),
    );
    wire.cut = false;
    await waitFor(() => bothHealthy(x, y), { what: "healthy again", intervalMs: 10 });
  } finally {
    await a.dp.stop();
    await b.dp.stop();
  }
});

Deno.test("fastdp makes the bridge forget a MAC on sleeve's port at most once a second", async () => {
  const { a, b } = await pair();
  try {
    const [x, y] = connect(a.dp, b.dp);
    await waitFor(() => bothHealthy(x, y), { what: "both healthy", intervalMs: 10 });
    a.host.forgotten.length = 0;
    const frame = Uint8Array.of(0x0a, 0xbb, 0xcc, 0xdd, 0xee, 0x01, 0, 0, 0, 0, 0, 0, 8, 0);
    const key = { srcPeer: A, dstPeer: B };
    for (let i = 0; i < 5; i++) {
      assert.equal(x.fwd.forward(key, frame, { fromBroadcast: false }), true);
    }
    frame[5] = 0x02;
    x.fwd.forward(key, frame, { fromBroadcast: false });
    assert.deepEqual(a.host.forgotten, [
      "vethwe-pcap 0a:bb:cc:dd:ee:01",
      "vethwe-pcap 0a:bb:cc:dd:ee:02",
    ]);
  } finally {
    await a.dp.stop();
    await b.dp.stop();
  }
});

Deno.test("fastdp re-creates devices with new VNIs when short IDs change", async () => {
  const { wire, shortIDs, a, b } = await pair();
  try {
    const [x, y] = connect(a.dp, b.dp);
    await waitFor(() => bothHealthy(x, y), { what: "both healthy", intervalMs: 10 });
    const before = a.host.devices.get("vxw0000000000b2")!.ifindex;
    a.dp.invalidateRoutes();
    assert.equal(a.host.devices.get("vxw0000000000b2")!.ifindex, before, "unchanged IDs: kept");
    shortIDs.set(B, 0x7ff);
    a.dp.invalidateRoutes();
    b.dp.invalidateRoutes();
    const devA = a.host.devices.get("vxw0000000000b2")!;
    assert.notEqual(devA.ifindex, before);
    assert.deepEqual([devA.spec.receiveVNI, devA.spec.sendVNI], [0x0017ff, 0x7ff001]);
    assert.equal(devA.active, true, "a healthy peer's port stays active");
    const mark = wire.log.length;
    await waitFor(
      () =>
        wire.log.slice(mark).some((p) => p.vni === 0x7ff001) &&
        x.fwd.status().heartbeatsReceived > 3,
      { what: "heartbeats on the new VNIs", intervalMs: 10 },
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(bothHealthy(x, y), true, "health survives the re-creation");
    assert.ok(a.log.lines.some((l) => l.includes("re-creating vxw0000000000b2 with VNI 6143")));
    assert.equal(a.host.closed, 1, "the old socket was closed");
  } finally {
    await a.dp.stop();
    await b.dp.stop();
  }
});

Deno.test("fastdp shares a peer's device between connections and deletes it with the last", async () => {
  const { a, b } = await pair();
  try {
    const [x1] = connect(a.dp, b.dp, 1n);
    const [x2, y2] = connect(a.dp, b.dp, 2n);
    assert.equal(a.host.devices.size, 1);
    await waitFor(() => x1.fwd.healthy() && bothHealthy(x2, y2), {
      what: "all healthy",
      intervalMs: 10,
    });
    x1.fwd.stop();
    assert.equal(a.host.devices.size, 1);
    assert.equal(a.host.devices.get("vxw0000000000b2")!.active, true);
    x2.fwd.stop();
    assert.equal(a.host.devices.size, 0);
    await waitFor(() => a.host.closed === a.host.opened, { what: "socket closed", intervalMs: 10 });
    const diag = a.dp.diagnostics() as { Vports: unknown[]; Peers: unknown[] };
    assert.deepEqual([diag.Vports, diag.Peers], [[], []]);
  } finally {
    await a.dp.stop();
    await b.dp.stop();
  }
  assert.equal(b.host.devices.size, 0, "stop() removed every device");
  assert.equal(b.host.closed, b.host.opened, "stop() closed every socket");
});

Deno.test("fastdp refuses connections it cannot carry, with the reason", async () => {
  const wire = new FakeWire();
  const host = new FakeHost(wire, "192.0.2.1");
  host.devices.set("vxw00000000beef", {
    spec: { name: "vxw00000000beef" } as never,
    ifindex: 3,
    active: false,
    socket: null,
  });
  const log = memoryLogger();
  const dp = new FastDatapath({ localPeer: A, port: 6783, host, log });
  dp.register({ shortID: () => 1, peerShortID: (p) => p === B ? 2 : undefined });
  const params = (remotePeer: PeerName, hostname: string) =>
    ({
      localPeer: A,
      remotePeer,
      remoteNickName: "r",
      localAddr: { hostname: "192.0.2.1", port: 6783 },
      remoteAddr: { hostname, port: 6783 },
      outbound: true,
      connUID: 1n,
      remoteFeatures: {},
      sendControlMessage: () => {},
      onEstablished: () => {},
      onError: () => {},
    }) satisfies OverlayConnectionParams;
  assert.throws(() => dp.prepareConnection(params(B, "192.0.2.2")), /fastdp is new/);
  await dp.start();
  try {
    assert.equal(host.devices.size, 0, "stale device removed at start");
    assert.ok(log.lines.some((l) => l.includes("removed stale devices vxw00000000beef")));
    assert.throws(
      () => dp.prepareConnection(params(0xc3n, "192.0.2.3")),
      /Cannot use fastdp to 00:00:00:00:00:c3\(r\): the peer has no short ID/,
    );
    assert.throws(() => dp.prepareConnection(params(B, "2001:db8::2")), /not IPv4/);
    assert.equal(host.devices.size, 0);
    // A peer known only as a placeholder: the handshake's ShortID gives its VNIs.
    for (const bad of ["4096", "-1", "x", ""]) {
      assert.throws(
        () =>
          dp.prepareConnection({ ...params(0xc3n, "192.0.2.3"), remoteFeatures: { ShortID: bad } }),
        /no short ID/,
        bad,
      );
    }
    const fwd = dp.prepareConnection({
      ...params(0xc3n, "192.0.2.3"),
      remoteFeatures: { ShortID: "3" },
    });
    const dev = host.devices.get("vxw0000000000c3");
    // Frames from us (short ID 1) to it carry 1 | 3 << 12; from it to us 3 | 1 << 12.
    assert.deepEqual([dev?.spec.sendVNI, dev?.spec.receiveVNI], [1 | 3 << 12, 3 | 1 << 12]);
    fwd.stop();
    assert.equal(host.devices.size, 0);
    await assert.rejects(() => dp.start(), /running/);
  } finally {
    await dp.stop();
  }
  assert.throws(() => dp.prepareConnection(params(B, "192.0.2.2")), /fastdp is stopped/);
  const bare = new FakeHost(new FakeWire(), "192.0.2.9");
  bare.bridges.clear();
  const noBridge = new FastDatapath({ localPeer: A, port: 6783, host: bare, log });
  await assert.rejects(() => noBridge.start(), /weave/);
  assert.throws(
    () =>
      new FastDatapath({
        localPeer: A,
        port: 6783,
        host,
        log,
        mtu: 5,
      }),
    RangeError,
  );
});
