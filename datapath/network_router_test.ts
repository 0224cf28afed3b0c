import assert from "node:assert/strict";
import { memoryLogger } from "../lib/log.ts";
import type { PeerName } from "../lib/peer_name.ts";
import type { OverlayConnection, OverlayConnectionParams } from "../mesh/overlay.ts";
import type { ForwardKey, FrameConsumer, NetworkOverlay, OverlayForwarder } from "./datapath.ts";
import { NetworkRouter, type NetworkRouterMesh } from "./network_router.ts";

// Peers: us (A), B and C neighbours, D behind B.
const A = 0x0a0000000001n;
const B = 0x0b0000000002n;
const C = 0x0c0000000003n;
const D = 0x0d0000000004n;
const NICKS = new Map([[A, "a"], [B, "b"], [C, "c"], [D, "d"]]);

const MAC_LOCAL = "02:aa:00:00:00:01";
const MAC_AT_B = "02:bb:00:00:00:02";
const MAC_AT_D = "02:dd:00:00:00:04";
const BROADCAST_MAC = "ff:ff:ff:ff:ff:ff";

function frame(dst: string, src: string, fill = 0): Uint8Array {
  const f = new Uint8Array(60).fill(fill);
  const mac = (m: string) => m.split(":").map((x) => parseInt(x, 16));
  f.set(mac(dst), 0);
  f.set(mac(src), 6);
  f.set([0x08, 0x00], 12);
  return f;
}

class FakeForwarder implements OverlayForwarder {
  readonly sent: { src: PeerName; dst: PeerName; broadcast: boolean; fill: number }[] = [];
  constructor(readonly to: PeerName) {}
  forward(key: ForwardKey, f: Uint8Array, opts: { fromBroadcast: boolean }): boolean {
    this.sent.push({
      src: key.srcPeer,
      dst: key.dstPeer,
      broadcast: opts.fromBroadcast,
      fill: f[20],
    });
    return true;
  }
  healthy = () => true;
  confirm() {}
  controlMessage() {}
  attrs = () => ({});
  stop() {}
}

class FakeOverlay implements NetworkOverlay {
  readonly forwarders = new Map<PeerName, FakeForwarder>();
  invalidations = 0;
  constructor(neighbours: PeerName[]) {
    for (const n of neighbours) this.forwarders.set(n, new FakeForwarder(n));
  }
  setConsumer(_c: FrameConsumer) {}
  forwarderTo = (p: PeerName) => this.forwarders.get(p);
  invalidateRoutes() {
    this.invalidations++;
  }
  addFeaturesTo() {}
  prepareConnection(_p: OverlayConnectionParams): OverlayConnection {
    throw new Error("unused");
  }
  diagnostics = () => ({});
  stop() {}
  sent(p: PeerName) {
    return this.forwarders.get(p)!.sent;
  }
  all() {
    return [...this.forwarders.values()].flatMap((f) => f.sent.map((s) => ({ to: f.to, ...s })));
  }
}

function setup(opts: { broadcast?: Map<PeerName, PeerName[]> } = {}) {
  const unicast = new Map([[B, B], [C, C], [D, B]]);
  const broadcast = opts.broadcast ?? new Map<PeerName, PeerName[]>([
    [A, [B, C]], // our own broadcasts reach both neighbours
    [B, [C]], // from B we continue to C only
    [D, [C]],
    [C, []],
  ]);
  const mesh: NetworkRouterMesh = {
    ourName: A,
    unicastNextHop: (dst) => unicast.get(dst),
    broadcastNextHops: (origin) => broadcast.get(origin) ?? [],
    peerNick: (n) => NICKS.get(n),
  };
  const overlay = new FakeOverlay([B, C]);
  const injected: Uint8Array[] = [];
  const log = memoryLogger("debug");
  const clock = { t: 1_700_000_000_000 };
  const router = new NetworkRouter({
    mesh,
    overlay,
    inject: (f) => injected.push(f.slice()),
    log,
    now: () => clock.t,
  });
  return { router, overlay, injected, log, clock };
}

Deno.test("NetworkRouter floods a captured frame with an unknown destination to the broadcast hops", () => {
  const { router, overlay, log } = setup();
  router.handleCaptured(frame(MAC_AT_B, MAC_LOCAL, 1));
  assert.deepEqual(overlay.all(), [
    { to: B, src: A, dst: B, broadcast: true, fill: 1 },
    { to: C, src: A, dst: C, broadcast: true, fill: 1 },
  ]);
  assert.ok(log.lines.some((l) => l.endsWith(`Discovered local MAC ${MAC_LOCAL}`)));
  router.handleCaptured(frame(BROADCAST_MAC, MAC_LOCAL, 2));
  assert.equal(overlay.all().length, 4, "broadcast MACs flood too");
});

Deno.test("NetworkRouter unicasts to a learned MAC through the next hop, relaying for D via B", () => {
  const { router, overlay, injected } = setup();
  router.handleCaptured(frame(MAC_LOCAL, MAC_LOCAL)); // learn our own MAC (and drop: local dst)
  router.consume({ srcPeer: B, dstPeer: A }, frame(MAC_LOCAL, MAC_AT_B), { fromBroadcast: false });
  router.consume({ srcPeer: D, dstPeer: A }, frame(MAC_LOCAL, MAC_AT_D), { fromBroadcast: false });
  assert.equal(injected.length, 2);
  router.handleCaptured(frame(MAC_AT_B, MAC_LOCAL, 3));
  router.handleCaptured(frame(MAC_AT_D, MAC_LOCAL, 4));
  assert.deepEqual(overlay.sent(B), [
    { src: A, dst: B, broadcast: false, fill: 3 },
    { src: A, dst: D, broadcast: false, fill: 4 },
  ]);
  assert.deepEqual(overlay.sent(C), []);
});

Deno.test("NetworkRouter drops STP, frames to local MACs, and captured frames from a remote MAC", () => {
  const { router, overlay, log } = setup();
  router.handleCaptured(frame("01:80:c2:00:00:00", MAC_LOCAL));
  router.handleCaptured(frame(MAC_LOCAL, "02:aa:00:00:00:09")); // dst learned as local above
  router.consume({ srcPeer: B, dstPeer: A }, frame(MAC_LOCAL, MAC_AT_B), { fromBroadcast: false });
  router.handleCaptured(frame(BROADCAST_MAC, MAC_AT_B)); // our own injection echoed back
  assert.deepEqual(overlay.all(), []);
  assert.ok(log.lines.some((l) =>
    l.endsWith(
      `Captured frame from MAC (${MAC_AT_B}) associated with another peer 0b:00:00:00:00:02(b)`,
    )
  ));
  assert.equal(router.stats().dropped, 3);
});

Deno.test("NetworkRouter relays frames for other peers without learning their MACs", () => {
  const { router, overlay, injected } = setup();
  router.consume({ srcPeer: C, dstPeer: D }, frame(MAC_AT_D, "02:cc:00:00:00:03", 5), {
    fromBroadcast: false,
  });
  assert.deepEqual(overlay.sent(B), [{ src: C, dst: D, broadcast: false, fill: 5 }]);
  assert.deepEqual(injected, []);
  assert.deepEqual(router.macs(), []);
  assert.equal(router.stats().relayed, 1);
});

Deno.test("NetworkRouter injects a broadcast and continues it along the origin's tree, never back", () => {
  const { router, overlay, injected } = setup({
    broadcast: new Map([[B, [B, C]]]), // a bad route that would echo to the origin
  });
  router.consume({ srcPeer: B, dstPeer: A }, frame(BROADCAST_MAC, MAC_AT_B, 6), {
    fromBroadcast: true,
  });
  assert.equal(injected.length, 1);
  assert.deepEqual(overlay.all(), [{ to: C, src: B, dst: C, broadcast: true, fill: 6 }]);
});

Deno.test("NetworkRouter continues a unicast to us whose MAC is not local (unknown) as broadcast", () => {
  const { router, overlay, injected } = setup();
  router.handleCaptured(frame(BROADCAST_MAC, MAC_LOCAL));
  const before = overlay.all().length;
  router.consume({ srcPeer: B, dstPeer: A }, frame(MAC_LOCAL, MAC_AT_B), { fromBroadcast: false });
  assert.equal(overlay.all().length, before, "local destination: inject only");
  router.consume({ srcPeer: B, dstPeer: A }, frame("02:ee:00:00:00:05", MAC_AT_B, 7), {
    fromBroadcast: false,
  });
  assert.equal(injected.length, 2);
  assert.deepEqual(overlay.all().slice(before), [
    { to: C, src: B, dst: C, broadcast: true, fill: 7 },
  ]);
});

Deno.test("NetworkRouter logs a MAC moving between peers and invalidates overlay routes", () => {
  const { router, overlay, log } = setup();
  router.consume({ srcPeer: B, dstPeer: A }, frame(MAC_LOCAL, MAC_AT_B), { fromBroadcast: false });
  router.consume({ srcPeer: C, dstPeer: A }, frame(MAC_LOCAL, MAC_AT_B), { fromBroadcast: false });
  assert.ok(
    log.lines.some((l) => l.endsWith(`Discovered remote MAC ${MAC_AT_B} at 0b:00:00:00:00:02(b)`)),
  );
  assert.ok(log.lines.some((l) =>
    l.endsWith(
      `Discovered remote MAC ${MAC_AT_B} at 0c:00:00:00:00:03(c) (was at 0b:00:00:00:00:02(b))`,
    )
  ));
  assert.equal(overlay.invalidations, 1);
  assert.deepEqual(router.macsOf(C), [MAC_AT_B]);
  assert.deepEqual(router.macsOf(B), []);
});

Deno.test("NetworkRouter drops overlay frames naming unknown peers and frames without a route", () => {
  const { router, overlay, injected } = setup();
  const stranger = 0x0e0000000005n;
  router.consume({ srcPeer: stranger, dstPeer: A }, frame(MAC_LOCAL, MAC_AT_B), {
    fromBroadcast: false,
  });
  router.consume({ srcPeer: B, dstPeer: stranger }, frame(MAC_LOCAL, MAC_AT_B), {
    fromBroadcast: false,
  });
  router.consume({ srcPeer: B, dstPeer: A }, new Uint8Array(13), { fromBroadcast: false });
  assert.deepEqual(injected, []);
  overlay.forwarders.delete(C);
  router.consume({ srcPeer: B, dstPeer: C }, frame(MAC_LOCAL, MAC_AT_B), { fromBroadcast: false });
  assert.deepEqual(overlay.all(), []);
  assert.equal(router.stats().dropped, 4);
});

Deno.test("NetworkRouter reports MACs, expires them after 10 minutes and purges a gone peer", () => {
  const { router, clock, log } = setup();
  router.handleCaptured(frame(BROADCAST_MAC, MAC_LOCAL));
  router.consume({ srcPeer: B, dstPeer: A }, frame(MAC_LOCAL, MAC_AT_B), { fromBroadcast: false });
  router.consume({ srcPeer: D, dstPeer: A }, frame(MAC_LOCAL, MAC_AT_D), { fromBroadcast: false });
  assert.deepEqual(router.macs(), [
    {
      Mac: MAC_LOCAL,
      Name: "0a:00:00:00:00:01",
      NickName: "a",
      LastSeen: "2023-11-14T22:13:20.000Z",
    },
    {
      Mac: MAC_AT_B,
      Name: "0b:00:00:00:00:02",
      NickName: "b",
      LastSeen: "2023-11-14T22:13:20.000Z",
    },
    {
      Mac: MAC_AT_D,
      Name: "0d:00:00:00:00:04",
      NickName: "d",
      LastSeen: "2023-11-14T22:13:20.000Z",
    },
  ]);
  router.onPeerGone(D);
  assert.deepEqual(router.macsOf(D), []);
  clock.t += 5 * 60_000;
  router.handleCaptured(frame(BROADCAST_MAC, MAC_LOCAL)); // refreshes the local MAC
  clock.t += 5 * 60_000 + 1;
  router.expireMacs();
  assert.deepEqual(router.macs().map((m) => m.Mac), [MAC_LOCAL]);
  assert.ok(log.lines.some((l) => l.endsWith(`Expired MAC ${MAC_AT_B} at 0b:00:00:00:00:02(b)`)));
});

Deno.test("NetworkRouter never learns a multicast, broadcast or zero source MAC", () => {
  const { router, overlay, injected } = setup();
  for (
    const src of [BROADCAST_MAC, "01:00:5e:00:00:01", "33:33:00:00:00:01", "00:00:00:00:00:00"]
  ) {
    router.consume({ srcPeer: B, dstPeer: A }, frame(BROADCAST_MAC, src), { fromBroadcast: true });
    router.handleCaptured(frame(BROADCAST_MAC, src));
  }
  assert.deepEqual([router.macs(), injected, overlay.all()], [[], [], []]);
  assert.equal(router.stats().dropped, 8);
});

Deno.test("NetworkRouter logs a flood of new MACs at a bounded rate, and says how many it left out", () => {
  const { router, log, clock } = setup();
  const mac = (i: number) => `02:bb:00:00:${(i >> 8).toString(16)}:${(i & 255).toString(16)}`;
  for (let i = 0; i < 10_000; i++) {
    router.consume({ srcPeer: B, dstPeer: A }, frame(MAC_LOCAL, mac(i)), { fromBroadcast: false });
  }
  assert.equal(router.macsOf(B).length, 10_000, "every MAC is learnt");
  const discovered = () => log.lines.filter((l) => /Discovered remote MAC/.test(l)).length;
  assert.ok(discovered() <= 20, `${discovered()} lines`);
  clock.t += 1_000;
  router.consume({ srcPeer: B, dstPeer: A }, frame(MAC_LOCAL, "02:bb:01:00:00:01"), {
    fromBroadcast: false,
  });
  assert.ok(log.lines.some((l) => /WARN: .* \d+ similar log lines suppressed/.test(l)));
  assert.match(log.lines.at(-1)!, /Discovered remote MAC 02:bb:01:00:00:01/);
});
