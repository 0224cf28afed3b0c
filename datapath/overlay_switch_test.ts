import assert from "node:assert/strict";
import { memoryLogger } from "../lib/log.ts";
import type { Overlay, OverlayConnection, OverlayConnectionParams } from "../mesh/overlay.ts";
import type { ForwardKey, FrameConsumer, NetworkOverlay, OverlayForwarder } from "./datapath.ts";
import { OverlaySwitch } from "./overlay_switch.ts";

/** A sub-overlay that records what the switch does to it and lets tests drive callbacks. */
class FakeOverlay implements Overlay {
  readonly conns: FakeConn[] = [];
  stopped = false;
  constructor(readonly name: string, readonly refuse = false) {}
  addFeaturesTo(features: Record<string, string>): void {
    features[`${this.name}-feature`] = "1";
  }
  prepareConnection(params: OverlayConnectionParams): OverlayConnection {
    if (this.refuse) throw new Error(`${this.name} is unavailable`);
    const conn = new FakeConn(params, this.name);
    this.conns.push(conn);
    return conn;
  }
  diagnostics(): Record<string, unknown> {
    return { fake: this.name };
  }
  stop(): void {
    this.stopped = true;
  }
}

class FakeConn implements OverlayConnection {
  confirmed = false;
  stopped = false;
  received: { tag: number; body: number[] }[] = [];
  constructor(readonly params: OverlayConnectionParams, readonly name: string) {}
  confirm(): void {
    this.confirmed = true;
  }
  controlMessage(tag: number, body: Uint8Array): void {
    this.received.push({ tag, body: Array.from(body) });
  }
  attrs(): Record<string, string | number | boolean> {
    return { name: `inner-${this.name}`, mtu: this.name.length };
  }
  stop(): void {
    this.stopped = true;
  }
}

interface Harness {
  sent: { tag: number; body: number[] }[];
  established: number;
  errors: Error[];
  params: OverlayConnectionParams;
}

function harness(remoteFeatures: Record<string, string>): Harness {
  const h: Harness = {
    sent: [],
    established: 0,
    errors: [],
    params: {
      localPeer: 1n,
      remotePeer: 0x020000000002n,
      remoteNickName: "h2",
      localAddr: { hostname: "192.0.2.1", port: 6783 },
      remoteAddr: { hostname: "192.0.2.2", port: 60141 },
      outbound: false,
      connUID: 5n,
      remoteFeatures,
      sendControlMessage: (tag, body) => h.sent.push({ tag, body: Array.from(body) }),
      onEstablished: () => h.established++,
      onError: (e) => h.errors.push(e),
    },
  };
  return h;
}

function makeSwitch(...overlays: FakeOverlay[]) {
  const log = memoryLogger();
  const sw = new OverlaySwitch(overlays.map((o) => ({ name: o.name, overlay: o })), { log });
  return { sw, log };
}

Deno.test("OverlaySwitch advertises its overlays in order and lets each add features", () => {
  const { sw } = makeSwitch(new FakeOverlay("fastdp"), new FakeOverlay("sleeve"));
  const features: Record<string, string> = { Name: "x" };
  sw.addFeaturesTo(features);
  assert.deepEqual(features, {
    Name: "x",
    "fastdp-feature": "1",
    "sleeve-feature": "1",
    Overlays: "fastdp sleeve",
  });
});

Deno.test("OverlaySwitch uses the common overlays in OUR order and indexes control messages", () => {
  const fastdp = new FakeOverlay("fastdp");
  const awsvpc = new FakeOverlay("awsvpc");
  const sleeve = new FakeOverlay("sleeve");
  const { sw } = makeSwitch(fastdp, awsvpc, sleeve);
  const h = harness({ Overlays: "sleeve fastdp" });
  const conn = sw.prepareConnection(h.params);
  assert.equal(awsvpc.conns.length, 0);
  conn.confirm();
  assert.ok(fastdp.conns[0].confirmed && sleeve.conns[0].confirmed);
  // Index 0 = fastdp, 1 = sleeve (our order), whatever order the remote listed.
  sleeve.conns[0].params.sendControlMessage(3, new Uint8Array([0x05, 0x9e]));
  fastdp.conns[0].params.sendControlMessage(1, new Uint8Array(0));
  assert.deepEqual(h.sent, [{ tag: 7, body: [1, 3, 0x05, 0x9e] }, { tag: 7, body: [0, 1] }]);
  conn.controlMessage(7, new Uint8Array([1, 2]));
  conn.controlMessage(7, new Uint8Array([0, 9, 0xaa, 0xbb]));
  assert.deepEqual(sleeve.conns[0].received, [{ tag: 2, body: [] }]);
  assert.deepEqual(fastdp.conns[0].received, [{ tag: 9, body: [0xaa, 0xbb] }]);
});

Deno.test("OverlaySwitch ignores malformed and misrouted control messages", () => {
  const sleeve = new FakeOverlay("sleeve");
  const { sw } = makeSwitch(sleeve);
  const conn = sw.prepareConnection(harness({ Overlays: "sleeve" }).params);
  conn.controlMessage(7, new Uint8Array([0]));
  conn.controlMessage(7, new Uint8Array([5, 1]));
  conn.controlMessage(1, new Uint8Array(0)); // bare tags are compat-only
  assert.deepEqual(sleeve.conns[0].received, []);
  conn.controlMessage(7, new Uint8Array([0, 3, 5, 158]));
  assert.deepEqual(sleeve.conns[0].received, [{ tag: 3, body: [5, 158] }]);
});

Deno.test("OverlaySwitch compat mode: plain sleeve with bare tags 1-3 for a peer without Overlays", () => {
  const fastdp = new FakeOverlay("fastdp");
  const sleeve = new FakeOverlay("sleeve");
  const { sw } = makeSwitch(fastdp, sleeve);
  const h = harness({});
  const conn = sw.prepareConnection(h.params);
  assert.equal(fastdp.conns.length, 0);
  sleeve.conns[0].params.sendControlMessage(3, new Uint8Array([5, 134]));
  assert.deepEqual(h.sent, [{ tag: 3, body: [5, 134] }]);
  conn.controlMessage(1, new Uint8Array(0));
  conn.controlMessage(7, new Uint8Array([0, 1]));
  assert.deepEqual(sleeve.conns[0].received, [{ tag: 1, body: [] }]);
});

Deno.test("OverlaySwitch refuses a connection with no overlay in common", () => {
  const { sw } = makeSwitch(new FakeOverlay("sleeve"));
  assert.throws(
    () => sw.prepareConnection(harness({ Overlays: "fastdp awsvpc" }).params),
    /no overlay in common \(ours "sleeve", theirs "fastdp awsvpc"\)/,
  );
  const { sw: fastOnly } = makeSwitch(new FakeOverlay("fastdp"));
  assert.throws(() => fastOnly.prepareConnection(harness({}).params), /compat needs sleeve/);
});

Deno.test("OverlaySwitch is established with its first sub-connection and reports the chosen attrs", () => {
  const fastdp = new FakeOverlay("fastdp");
  const sleeve = new FakeOverlay("sleeve");
  const { sw, log } = makeSwitch(fastdp, sleeve);
  const h = harness({ Overlays: "fastdp sleeve" });
  const conn = sw.prepareConnection(h.params);
  assert.deepEqual(conn.attrs(), { name: "fastdp", mtu: 6 }, "first working one before any");
  sleeve.conns[0].params.onEstablished();
  assert.equal(h.established, 1);
  assert.deepEqual(conn.attrs(), { name: "sleeve", mtu: 6, why: "fastdp pending" });
  fastdp.conns[0].params.onEstablished();
  assert.equal(h.established, 1, "established only once");
  assert.deepEqual(conn.attrs(), { name: "fastdp", mtu: 6 }, "preferred established one");
  assert.ok(
    log.lines.some((l) => l.endsWith("overlay_switch ->[02:00:00:00:00:02(h2)] using sleeve")),
  );
});

Deno.test("OverlaySwitch drops failed sub-connections and fails when none is left", () => {
  const fastdp = new FakeOverlay("fastdp");
  const sleeve = new FakeOverlay("sleeve");
  const { sw } = makeSwitch(fastdp, sleeve);
  const h = harness({ Overlays: "fastdp sleeve" });
  const conn = sw.prepareConnection(h.params);
  fastdp.conns[0].params.onEstablished();
  fastdp.conns[0].params.onError(new Error("fastdp heartbeat timeout"));
  assert.ok(fastdp.conns[0].stopped);
  assert.equal(h.errors.length, 0);
  assert.deepEqual(conn.attrs(), { name: "sleeve", mtu: 6, why: "fastdp failed" });
  conn.controlMessage(7, new Uint8Array([0, 1]));
  assert.deepEqual(fastdp.conns[0].received, [], "a dropped sub-connection gets nothing");
  const cause = new Error("timed out waiting for UDP heartbeat");
  sleeve.conns[0].params.onError(cause);
  assert.equal(h.errors.length, 1);
  assert.match(h.errors[0].message, /^no working forwarders to 02:00:00:00:00:02\(h2\)$/);
  assert.equal(h.errors[0].cause, cause);
  assert.ok(sleeve.conns[0].stopped);
  assert.equal(h.established, 1);
  sleeve.conns[0].params.onEstablished();
  sleeve.conns[0].params.onError(new Error("again"));
  assert.equal(h.established, 1, "no callbacks after failing");
  assert.equal(h.errors.length, 1, "fails once");
});

Deno.test("OverlaySwitch survives a refusing sub-overlay and throws when all refuse", () => {
  const broken = new FakeOverlay("fastdp", true);
  const sleeve = new FakeOverlay("sleeve");
  const { sw } = makeSwitch(broken, sleeve);
  const h = harness({ Overlays: "fastdp sleeve" });
  const conn = sw.prepareConnection(h.params);
  sleeve.conns[0].params.sendControlMessage(1, new Uint8Array(0));
  assert.deepEqual(h.sent, [{ tag: 7, body: [1, 1] }], "indices still follow the common list");
  assert.deepEqual(conn.attrs(), { name: "sleeve", mtu: 6, why: "fastdp refused" });
  const { sw: allBroken } = makeSwitch(new FakeOverlay("sleeve", true));
  assert.throws(
    () => allBroken.prepareConnection(harness({ Overlays: "sleeve" }).params),
    /no working forwarders \(sleeve: sleeve is unavailable\)/,
  );
});

Deno.test("OverlaySwitch says why a preferred overlay is not used: off here, or not offered", () => {
  const sleeve = new FakeOverlay("sleeve");
  const off = new OverlaySwitch([{ name: "sleeve", overlay: sleeve }], {
    unavailable: { fastdp: "off: kernel lacks IPsec ESP" },
  });
  const a = off.prepareConnection(harness({ Overlays: "fastdp sleeve" }).params);
  assert.deepEqual(a.attrs(), {
    name: "sleeve",
    mtu: 6,
    why: "fastdp off: kernel lacks IPsec ESP",
  });
  const { sw } = makeSwitch(new FakeOverlay("fastdp"), new FakeOverlay("sleeve"));
  const b = sw.prepareConnection(harness({ Overlays: "sleeve" }).params);
  assert.deepEqual(b.attrs(), { name: "sleeve", mtu: 6, why: "fastdp not offered by peer" });
  const c = sw.prepareConnection(harness({ Overlays: "fastdp" }).params);
  assert.deepEqual(c.attrs(), { name: "fastdp", mtu: 6 }, "a less preferred one is not mentioned");
});

Deno.test("OverlaySwitch stop stops sub-connections and silences them; overlay stop reaches all", async () => {
  const fastdp = new FakeOverlay("fastdp");
  const sleeve = new FakeOverlay("sleeve");
  const { sw } = makeSwitch(fastdp, sleeve);
  const h = harness({ Overlays: "fastdp sleeve" });
  const conn = sw.prepareConnection(h.params);
  conn.stop();
  assert.ok(fastdp.conns[0].stopped && sleeve.conns[0].stopped);
  sleeve.conns[0].params.onEstablished();
  sleeve.conns[0].params.sendControlMessage(1, new Uint8Array(0));
  sleeve.conns[0].params.onError(new Error("late"));
  assert.deepEqual([h.established, h.sent.length, h.errors.length], [0, 0, 0]);
  assert.deepEqual(sw.diagnostics(), { fastdp: { fake: "fastdp" }, sleeve: { fake: "sleeve" } });
  await sw.stop();
  assert.ok(fastdp.stopped && sleeve.stopped);
});

Deno.test("OverlaySwitch refuses empty, duplicate or spaced overlay names", () => {
  assert.throws(() => new OverlaySwitch([]), TypeError);
  const s = new FakeOverlay("sleeve");
  assert.throws(
    () => new OverlaySwitch([{ name: "sleeve", overlay: s }, { name: "sleeve", overlay: s }]),
    TypeError,
  );
  assert.throws(() => new OverlaySwitch([{ name: "a b", overlay: s }]), TypeError);
});

/** A sub-overlay that carries frames: its connections are forwarders with a health switch. */
class FakeNetworkOverlay extends FakeOverlay implements NetworkOverlay {
  consumer: FrameConsumer | null = null;
  invalidations = 0;
  override prepareConnection(params: OverlayConnectionParams): OverlayConnection {
    const conn = new FakeForwarderConn(params, this.name);
    this.conns.push(conn);
    return conn;
  }
  setConsumer(consumer: FrameConsumer): void {
    this.consumer = consumer;
  }
  forwarderTo(): OverlayForwarder | undefined {
    return undefined;
  }
  invalidateRoutes(): void {
    this.invalidations++;
  }
}

class FakeForwarderConn extends FakeConn implements OverlayForwarder {
  isHealthy = true;
  readonly frames: number[] = [];
  forward(_key: ForwardKey, frame: Uint8Array): boolean {
    this.frames.push(frame[0]);
    return true;
  }
  healthy(): boolean {
    return this.isHealthy;
  }
}

Deno.test("OverlaySwitch forwards over the preferred established and healthy sub-forwarder", () => {
  const fastdp = new FakeNetworkOverlay("fastdp");
  const sleeve = new FakeNetworkOverlay("sleeve");
  const { sw, log } = makeSwitch(fastdp, sleeve);
  const h = harness({ Overlays: "fastdp sleeve" });
  const conn = sw.prepareConnection(h.params) as OverlayConnection & OverlayForwarder;
  assert.equal(sw.forwarderTo(0x020000000002n), conn);
  assert.equal(sw.forwarderTo(0x030000000003n), undefined);
  const [f, s] = [fastdp.conns[0], sleeve.conns[0]] as FakeForwarderConn[];
  const key = { srcPeer: 1n, dstPeer: 0x020000000002n };
  const send = (n: number) => conn.forward(key, Uint8Array.of(n), { fromBroadcast: false });
  assert.ok(send(1), "nothing established: the first working one (fastdp)");
  assert.ok(!conn.healthy());
  s.params.onEstablished();
  assert.ok(send(2), "sleeve is established");
  assert.ok(conn.healthy());
  f.params.onEstablished();
  assert.ok(send(3));
  f.isHealthy = false; // fastdp heartbeats time out
  assert.ok(send(4));
  assert.equal(conn.attrs().name, "sleeve");
  f.isHealthy = true; // and resume
  assert.ok(send(5));
  assert.deepEqual([f.frames, s.frames], [[1, 3, 5], [2, 4]]);
  const prefix = "overlay_switch ->[02:00:00:00:00:02(h2)]";
  assert.deepEqual(
    log.lines.filter((l) => l.includes(`${prefix} using`)).map((l) => l.split(" using ")[1]),
    ["fastdp", "sleeve", "fastdp", "sleeve", "fastdp"],
  );
  f.params.onError(new Error("gone"));
  assert.ok(send(6));
  assert.deepEqual(s.frames, [2, 4, 6], "fastdp failed: sleeve carries on");
  conn.stop();
  assert.equal(sw.forwarderTo(0x020000000002n), undefined, "stopped connections are forgotten");
});

Deno.test("OverlaySwitch hands the consumer and route invalidations to frame-carrying overlays", () => {
  const fastdp = new FakeNetworkOverlay("fastdp");
  const plain = new FakeOverlay("sleeve");
  const { sw } = makeSwitch(fastdp, plain);
  const consumer: FrameConsumer = { consume() {} };
  sw.setConsumer(consumer);
  sw.invalidateRoutes();
  assert.equal(fastdp.consumer, consumer);
  assert.equal(fastdp.invalidations, 1);
  // A sub-connection that is not a forwarder establishes but carries nothing.
  const h = harness({ Overlays: "sleeve" });
  const conn = sw.prepareConnection(h.params) as OverlayConnection & OverlayForwarder;
  plain.conns[0].params.onEstablished();
  assert.equal(h.established, 1);
  assert.equal(
    conn.forward({ srcPeer: 1n, dstPeer: 2n }, new Uint8Array(1), { fromBroadcast: true }),
    false,
  );
  assert.ok(conn.healthy(), "no health signal: established counts as healthy");
});

Deno.test("OverlaySwitch keeps the newest connection per peer when an old one stops", () => {
  const sleeve = new FakeNetworkOverlay("sleeve");
  const { sw } = makeSwitch(sleeve);
  const first = sw.prepareConnection(harness({ Overlays: "sleeve" }).params);
  const second = sw.prepareConnection(harness({ Overlays: "sleeve" }).params);
  first.stop();
  assert.equal(sw.forwarderTo(0x020000000002n), second);
});
