/**
 * MeshRouters in one process on loopback addresses 127.0.0.x sharing one
 * port, with the NullOverlay and short connection timings.
 */
import assert from "node:assert/strict";
import { type Logger, memoryLogger } from "../lib/log.ts";
import type { PeerName } from "../lib/peer_name.ts";
import type { GossipData, Gossiper } from "./gossip_types.ts";
import { NullOverlay } from "./overlay.ts";
import { MeshRouter, type MeshRouterOptions, topologySendTime } from "./router.ts";
import { encodeFeatures } from "./features.ts";
import { performHandshake } from "./handshake.ts";
import { decodeMessage, ProtocolTag } from "./messages.ts";
import { decodeGossipBody } from "./gossip_envelope.ts";
import { decodeTopology } from "./topology_codec/codec.ts";
import { HeldPort } from "../tests/harness/loopback.ts";
import { waitUntil } from "../tests/harness/wait.ts";

const TIMINGS = { heartbeatMs: 200, readTimeoutMs: 3_000, handshakeTimeoutMs: 1_000 };
/** Small but varied randomness: retries come after 1–1.1 s, short IDs rarely collide. */
const quickRandom = () => Math.random() * 0.05;

type Node = { r: MeshRouter; log: Logger & { lines: string[] } };

const waitFor = (what: string, ok: () => boolean, timeoutMs = 8_000) =>
  waitUntil(what, ok, timeoutMs, 20);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Routers on 127.0.0.1..n, one shared port (held until they listen); disposing stops them all. */
class TestMesh {
  readonly port: number;
  readonly nodes: Node[] = [];
  readonly #held: HeldPort;

  constructor(hostCount: number) {
    this.#held = HeldPort.on(Array.from({ length: hostCount }, (_, i) => `127.0.0.${i + 1}`));
    this.port = this.#held.port;
  }

  addr(host: number): string {
    return `127.0.0.${host}:${this.port}`;
  }

  /** Starts a router on 127.0.0.`host`, named 02:00:00:00:00:0`host` unless told otherwise. */
  start(host: number, opts: Partial<MeshRouterOptions> = {}): Node {
    const log = memoryLogger();
    const r = new MeshRouter({
      name: 0x020000000000n + BigInt(host),
      nickName: `r${host}`,
      port: this.port,
      host: `127.0.0.${host}`,
      listener: this.#held.take(`127.0.0.${host}`),
      connLimit: 0,
      discovery: true,
      overlay: new NullOverlay(),
      log,
      topologyDeferMs: 20,
      random: quickRandom,
      connectionTimings: TIMINGS,
      ...opts,
    });
    r.start();
    const node = { r, log };
    this.nodes.push(node);
    return node;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const { r } of this.nodes) r.stop();
    this.#held[Symbol.dispose]();
    await sleep(150);
  }
}

function connTo(a: Node, b: Node) {
  return a.r.connections().find((c) => c.remoteName === b.r.ourName);
}

function linked(a: Node, b: Node): boolean {
  return connTo(a, b)?.established === true && connTo(b, a)?.established === true;
}

function logged(node: Node, pattern: RegExp): string[] {
  return node.log.lines.filter((l) => pattern.test(l));
}

Deno.test("two routers connect, establish and see each other in the topology", async () => {
  await using mesh = new TestMesh(2);
  const a = mesh.start(1), b = mesh.start(2);
  b.r.connectionMaker.initiateConnections([mesh.addr(1)], false);
  await waitFor("an established connection", () => linked(a, b));
  assert.equal(connTo(a, b)!.connUID, connTo(b, a)!.connUID, "both ends hold the same connUID");
  assert.equal(connTo(b, a)!.outbound, true);
  assert.equal(connTo(a, b)!.outbound, false);
  await waitFor(
    "each to know the other's UID",
    () =>
      a.r.peers.get(b.r.ourName)?.uid === b.r.ourUID &&
      b.r.peers.get(a.r.ourName)?.uid === a.r.ourUID,
  );
  await waitFor(
    "each to see the other's connection",
    () =>
      a.r.peers.get(b.r.ourName)?.connections.has(a.r.ourName) === true &&
      b.r.peers.get(a.r.ourName)?.connections.has(b.r.ourName) === true,
  );
  // Routes are recomputed once a burst of changes is over (coalesced, as in Go).
  await waitFor("a data route", () => a.r.routes.unicast(b.r.ourName) === b.r.ourName);
  assert.equal(logged(b, /connection added \(new peer\)/).length, 1);
  assert.equal(logged(b, /connection fully established/).length, 1);
  assert.deepEqual(b.r.connectionMaker.status(), [], "a connected target has no status line");
});

Deno.test("initiateConnections adds a direct peer; forgetConnections stops redialling it", async () => {
  await using mesh = new TestMesh(2);
  const a = mesh.start(1), b = mesh.start(2);
  b.r.connectionMaker.initiateConnections([mesh.addr(1)], false);
  assert.deepEqual(b.r.connectionMaker.directPeers(), [mesh.addr(1)]);
  await waitFor("an established connection", () => linked(a, b));

  // Dropped while still a direct peer: b dials again.
  connTo(a, b)!.shutdown(new Error("test drop"));
  await waitFor("b to redial", () => logged(b, /attempting connection/).length === 2);
  await waitFor("the connection back", () => linked(a, b));

  // Forgotten: the connection stays, but once dropped it is not redialled.
  b.r.connectionMaker.forgetConnections([mesh.addr(1)]);
  assert.deepEqual(b.r.connectionMaker.directPeers(), []);
  assert.ok(linked(a, b), "forgetting does not close the connection");
  connTo(a, b)!.shutdown(new Error("test drop"));
  await waitFor("both sides to drop it", () => !connTo(a, b) && !connTo(b, a));
  await sleep(1_300);
  assert.equal(logged(b, /attempting connection/).length, 2, "not redialled");
  assert.deepEqual(b.r.connectionMaker.status(), []);
  assert.equal(a.r.connections().length + b.r.connections().length, 0);
});

Deno.test("a router at its connection limit refuses more and keeps the others", async () => {
  await using mesh = new TestMesh(3);
  const a = mesh.start(1, { connLimit: 1, discovery: false });
  const b = mesh.start(2, { discovery: false });
  const c = mesh.start(3, { discovery: false });
  b.r.connectionMaker.initiateConnections([mesh.addr(1)], false);
  await waitFor("a-b established", () => linked(a, b));
  c.r.connectionMaker.initiateConnections([mesh.addr(1)], false);
  await waitFor("a to refuse c", () => logged(a, /Connection limit reached \(1\)/).length > 0);
  const refusal = logged(a, /Connection limit reached \(1\)/)[0];
  assert.match(refusal, /02:00:00:00:00:03\(r3\)\]: connection shutting down due to error: /);
  await sleep(300);
  assert.deepEqual(a.r.connections().map((x) => x.remoteName), [b.r.ourName]);
  assert.ok(linked(a, b), "a-b still established");
  assert.deepEqual([...a.r.peers.ourself.connections.keys()], [b.r.ourName]);
  assert.equal(logged(a, /connection deleted/).length, 0, "a never dropped b");
});

Deno.test(
  // BUG: mesh `createConnection` checks the connection limit before dialling, so a router
  // at its limit fails the attempt with "Connection limit reached (1)" (a connectionAborted,
  // shown as `failed` in status) without opening a TCP connection. Our #dial dials anyway:
  // the remote accepts, completes the handshake and briefly adds the connection, and only
  // then does our addConnection refuse it. Expected: c never logs "connection accepted";
  // actual: it does (a's status line already reads `Connection limit reached (1), retry: ...`).
  { name: "a router at its connection limit does not dial" },
  async () => {
    await using mesh = new TestMesh(3);
    const a = mesh.start(1, { connLimit: 1, discovery: false });
    const b = mesh.start(2, { discovery: false });
    const c = mesh.start(3, { discovery: false });
    b.r.connectionMaker.initiateConnections([mesh.addr(1)], false);
    await waitFor("a-b established", () => linked(a, b));
    a.r.connectionMaker.initiateConnections([mesh.addr(3)], false);
    await waitFor(
      "a's attempt to fail",
      () => a.r.connectionMaker.status().some((s) => s.state === "failed"),
    );
    assert.match(a.r.connectionMaker.status()[0].info, /^Connection limit reached \(1\), retry: /);
    assert.deepEqual(logged(c, /connection accepted/), []);
  },
);

Deno.test("simultaneous dials both ways leave exactly one connection on each side", async () => {
  await using mesh = new TestMesh(2);
  const a = mesh.start(1, { discovery: false }), b = mesh.start(2, { discovery: false });
  a.r.connectionMaker.initiateConnections([mesh.addr(2)], false);
  b.r.connectionMaker.initiateConnections([mesh.addr(1)], false);
  await waitFor(
    "both tie-breaks",
    () =>
      logged(a, /Multiple connections to 02:00:00:00:00:02\(r2\) added to 02:00:00:00:00:01\(r1\)/)
          .length > 0 &&
      logged(b, /Multiple connections to 02:00:00:00:00:01\(r1\) added to 02:00:00:00:00:02\(r2\)/)
          .length > 0,
  );
  await waitFor(
    "one shared connection",
    () =>
      a.r.connections().length === 1 && b.r.connections().length === 1 && linked(a, b) &&
      connTo(a, b)!.connUID === connTo(b, a)!.connUID,
  );
  assert.deepEqual([...a.r.peers.ourself.connections.keys()], [b.r.ourName]);
  assert.deepEqual([...b.r.peers.ourself.connections.keys()], [a.r.ourName]);
});

Deno.test("a restarted peer (same name, new UID) is re-accepted and its new UID spreads", async () => {
  // Without discovery: in one process every connection comes from 127.0.0.1 (Deno cannot
  // bind the local address of an outbound socket), so addresses derived from inbound
  // connections all point at router 1 and would add duplicate-connection churn.
  await using mesh = new TestMesh(3);
  const noDiscovery = { discovery: false };
  const a = mesh.start(1, noDiscovery), b = mesh.start(2, noDiscovery);
  const c = mesh.start(3, noDiscovery);
  a.r.connectionMaker.initiateConnections([mesh.addr(2)], false);
  c.r.connectionMaker.initiateConnections([mesh.addr(1), mesh.addr(2)], false);
  await waitFor("a full mesh", () => linked(a, b) && linked(a, c) && linked(b, c));
  await waitFor(
    "everyone to know b's UID",
    () => [a, c].every((n) => n.r.peers.get(b.r.ourName)?.uid === b.r.ourUID),
  );
  const oldUID = b.r.ourUID;
  b.r.stop();
  await sleep(50); // the listening socket is released once its pending accept unwinds
  const b2 = mesh.start(2, noDiscovery);
  assert.notEqual(b2.r.ourUID, oldUID);
  await waitFor("everyone to reach the new b", () => linked(a, b2) && linked(c, b2), 10_000);
  await waitFor(
    "everyone's topology to hold the new UID",
    () =>
      [a, c].every((n) => n.r.peers.get(b2.r.ourName)?.uid === b2.r.ourUID) &&
      b2.r.peers.size === 3,
  );
  assert.equal(a.r.peers.size, 3);
  assert.equal(c.r.peers.size, 3);
});

Deno.test("a peer with our name and another UID is refused; the rest is unaffected", async () => {
  await using mesh = new TestMesh(3);
  const a = mesh.start(1), b = mesh.start(2);
  const twin = mesh.start(3, { name: a.r.ourName, nickName: "twin", discovery: false });
  b.r.connectionMaker.initiateConnections([mesh.addr(1)], false);
  await waitFor("a-b established", () => linked(a, b));
  twin.r.connectionMaker.initiateConnections([mesh.addr(1)], false);
  await waitFor("a to refuse the twin", () => logged(a, /peer names collision/).length > 0);
  await waitFor("the twin to refuse a", () => logged(twin, /peer names collision/).length > 0);
  assert.match(logged(a, /peer names collision/)[0], /connection shutting down due to error: /);
  await sleep(200);
  assert.deepEqual(a.r.connections().map((x) => x.remoteName), [b.r.ourName]);
  assert.ok(linked(a, b));
  assert.equal(twin.r.connections().length, 0);
  assert.equal(a.r.peers.size, 2);
  assert.equal(b.r.peers.get(a.r.ourName)?.uid, a.r.ourUID, "b still sees a's UID");
});

Deno.test("connecting to ourselves is refused and never retried", async () => {
  await using mesh = new TestMesh(1);
  const a = mesh.start(1);
  a.r.connectionMaker.initiateConnections([mesh.addr(1)], false);
  await waitFor(
    "the attempt to fail for good",
    () => a.r.connectionMaker.status().some((s) => / retry: never$/.test(s.info)),
  );
  assert.deepEqual(a.r.connectionMaker.status(), [{
    address: mesh.addr(1),
    state: "failed",
    info: "cannot connect to ourself, retry: never",
  }]);
  await sleep(1_300);
  assert.equal(logged(a, /attempting connection/).length, 1, "dialled once only");
  assert.equal(a.r.connections().length, 0);
  assert.equal(a.r.peers.size, 1);
});

const password = (s: string) => new TextEncoder().encode(s);

Deno.test("the same password on both sides: established and untrusted", async () => {
  await using mesh = new TestMesh(2);
  const a = mesh.start(1, { password: password("s3cret") });
  const b = mesh.start(2, { password: password("s3cret") });
  b.r.connectionMaker.initiateConnections([mesh.addr(1)], false);
  await waitFor("an established connection", () => linked(a, b));
  assert.equal(connTo(a, b)!.untrusted, true);
  assert.equal(connTo(b, a)!.untrusted, true);
  await waitFor(
    "topology over the encrypted channel",
    () => a.r.peers.get(b.r.ourName)?.connections.has(a.r.ourName) === true,
  );
});

Deno.test("different passwords: no connection, and a clear log line", async () => {
  await using mesh = new TestMesh(2);
  const a = mesh.start(1, { password: password("one") });
  const b = mesh.start(2, { password: password("two") });
  b.r.connectionMaker.initiateConnections([mesh.addr(1)], false);
  const failure = /connection shutting down due to error during handshake: .*authentication failed/;
  await waitFor(
    "both sides to fail",
    () => logged(a, failure).length > 0 && logged(b, failure).length > 0,
  );
  assert.equal(a.r.connections().length + b.r.connections().length, 0);
  assert.equal(a.r.peers.size + b.r.peers.size, 2);
});

Deno.test("a password on one side only is refused with Go's messages", async () => {
  await using mesh = new TestMesh(2);
  const a = mesh.start(1, { password: password("s3cret") });
  const b = mesh.start(2);
  b.r.connectionMaker.initiateConnections([mesh.addr(1)], false);
  await waitFor(
    "both sides to fail",
    () =>
      logged(a, /password specified, but peer requested an unencrypted connection/).length > 0 &&
      logged(b, /no password specified, but peer requested an encrypted connection/).length > 0,
  );
  assert.match(
    logged(a, /peer requested an unencrypted/)[0],
    /\] connection shutting down due to error during handshake: password specified/,
  );
  assert.equal(a.r.connections().length + b.r.connections().length, 0);
});

Deno.test("trusted subnets on both sides make the connection trusted", async () => {
  await using mesh = new TestMesh(3);
  const trusted = { password: password("s3cret"), trustedSubnets: ["127.0.0.0/8"] };
  const a = mesh.start(1, trusted), b = mesh.start(2, trusted);
  const c = mesh.start(3, { password: password("s3cret") });
  b.r.connectionMaker.initiateConnections([mesh.addr(1)], false);
  c.r.connectionMaker.initiateConnections([mesh.addr(1)], false);
  await waitFor("established connections", () => linked(a, b) && linked(a, c));
  assert.equal(connTo(a, b)!.untrusted, false);
  assert.equal(connTo(b, a)!.untrusted, false);
  assert.equal(connTo(a, c)!.untrusted, true, "c does not trust a");
  assert.equal(connTo(c, a)!.untrusted, true);
});

/** Records what reaches it; broadcasts are not relayed further by itself. */
class Inbox implements Gossiper {
  got: string[] = [];
  onGossipUnicast(sender: PeerName, message: Uint8Array): void {
    this.got.push(`unicast ${sender} ${new TextDecoder().decode(message)}`);
  }
  onGossipBroadcast(origin: PeerName, update: Uint8Array): GossipData | null {
    this.got.push(`broadcast ${origin} ${new TextDecoder().decode(update)}`);
    return null;
  }
  gossip(): GossipData | null {
    return null;
  }
  onGossip(): GossipData | null {
    return null;
  }
}

class Bytes implements GossipData {
  constructor(readonly bytes: Uint8Array) {}
  encode(): Uint8Array[] {
    return [this.bytes];
  }
  merge(other: GossipData): GossipData {
    return other;
  }
}

Deno.test("a router without a channel relays its unicasts and broadcasts (surrogate)", async () => {
  await using mesh = new TestMesh(3);
  const a = mesh.start(1, { discovery: false });
  const b = mesh.start(2, { discovery: false });
  const c = mesh.start(3, { discovery: false });
  const atA = new Inbox(), atC = new Inbox();
  const chA = a.r.newGossip("IPallocation", atA);
  c.r.newGossip("IPallocation", atC);
  a.r.connectionMaker.initiateConnections([mesh.addr(2)], false);
  c.r.connectionMaker.initiateConnections([mesh.addr(2)], false);
  await waitFor("a line a-b-c", () => linked(a, b) && linked(b, c));
  await waitFor("a to route to c via b", () => a.r.unicastAllNextHop(c.r.ourName) === b.r.ourName);
  chA.gossipUnicast(c.r.ourName, new TextEncoder().encode("hello"));
  chA.gossipBroadcast(new Bytes(new TextEncoder().encode("ring")));
  await waitFor("c to get both", () => atC.got.length === 2);
  assert.deepEqual(atC.got.sort(), [
    `broadcast ${a.r.ourName} ring`,
    `unicast ${a.r.ourName} hello`,
  ]);
  assert.deepEqual(atA.got, []);
  assert.equal(a.r.connections().length, 1, "no direct a-c connection");
});

Deno.test(
  // BUG: mesh resolves a target to ip:port when it is given (ResolveTCPAddr), so the
  // target's key matches the remoteTCPAddr of the connection it produces. Our
  // ConnectionMaker keys the target by the text given ("localhost:<port>") while the
  // router reports the connection as "127.0.0.1:<port>": the target is never marked
  // connected, stays `connecting` in status, and is never redialled after the connection
  // drops. Expected: b reconnects after the drop; actual: status stays
  // [{ address: "localhost:<port>", state: "connecting" }] and no second attempt is made.
  { name: "a target given by host name is redialled after its connection drops" },
  async () => {
    await using mesh = new TestMesh(2);
    const a = mesh.start(1), b = mesh.start(2);
    b.r.connectionMaker.initiateConnections([`localhost:${mesh.port}`], false);
    await waitFor("an established connection", () => linked(a, b));
    assert.deepEqual(b.r.connectionMaker.status(), [], "connected targets have no status line");
    connTo(a, b)!.shutdown(new Error("test drop"));
    await waitFor("the connection back", () => logged(b, /attempting connection/).length === 2);
    await waitFor("re-established", () => linked(a, b));
  },
);

Deno.test("topologySendTime: a pause sends, a burst waits 4 to 16 defer times, by connections", () => {
  assert.equal(topologySendTime(0, 0, 1_000, 1), 1_000, "one change: after the defer time");
  assert.equal(topologySendTime(0, 2_500, 1_000, 1), 3_500, "changes paused at 2.5 s");
  assert.equal(topologySendTime(0, 3_900, 1_000, 1), 4_000, "a burst: after 4 defer times");
  assert.equal(topologySendTime(0, 3_900, 1_000, 32), 4_000, "up to 32 connections: 4");
  assert.equal(topologySendTime(0, 9_000, 1_000, 40), 5_000, "40 connections: 5");
  assert.equal(topologySendTime(0, 9_000, 1_000, 60), 8_000, "60 connections: 8");
  assert.equal(topologySendTime(0, 30_000, 1_000, 500), 16_000, "never more than 16");
  assert.equal(topologySendTime(100, 150, 20, 3), 170, "tests' 20 ms defer");
});

Deno.test("a router with 60 simultaneous inbound connections completes every handshake", async () => {
  await using mesh = new TestMesh(61);
  const timings = { ...TIMINGS, handshakeTimeoutMs: 10_000 }; // Weave's
  const hub = mesh.start(1, { discovery: false, connectionTimings: timings });
  const spokes = Array.from(
    { length: 60 },
    (_, i) => mesh.start(i + 2, { discovery: false, connectionTimings: timings }),
  );
  for (const s of spokes) s.r.connectionMaker.initiateConnections([mesh.addr(1)], false);
  await waitFor("60 established connections at the hub", () => {
    const conns = hub.r.connections();
    return conns.length === 60 && conns.every((c) => c.established);
  }, 20_000);
  for (const node of [hub, ...spokes]) {
    assert.deepEqual(logged(node, /error during handshake|timed out/), [], node.r.ourNickName);
  }
  // Every spoke learns every other through the hub's relays of their broadcasts.
  await waitFor(
    "every spoke to know all 61 peers",
    () => spokes.every((s) => s.r.peers.size === 61),
  );
});

Deno.test("a change of ours is broadcast, and relayed to peers two hops away", async () => {
  await using mesh = new TestMesh(4);
  const a = mesh.start(1, { discovery: false });
  const b = mesh.start(2, { discovery: false });
  const c = mesh.start(3, { discovery: false });
  const d = mesh.start(4, { discovery: false });
  a.r.connectionMaker.initiateConnections([mesh.addr(2)], false);
  c.r.connectionMaker.initiateConnections([mesh.addr(2)], false);
  await waitFor("a line a-b-c", () => linked(a, b) && linked(b, c));
  d.r.connectionMaker.initiateConnections([mesh.addr(1)], false);
  await waitFor("a-d", () => linked(a, d));
  await waitFor(
    "c to see a's connection to d, established",
    () => c.r.peers.get(a.r.ourName)?.connections.get(d.r.ourName)?.established === true,
  );
  assert.equal(a.r.connections().length, 2, "no a-c connection: b relayed it");
});

/** Connects to `addr` as peer `name`, handshakes, and collects topology gossip for `ms`. */
async function listenAsPeer(addr: string, name: string, ms: number): Promise<number[][]> {
  const [hostname, port] = addr.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const got: number[][] = [];
  try {
    const hs = await performHandshake(conn, {
      outbound: true,
      features: encodeFeatures({
        PeerNameFlavour: "mac",
        Name: name,
        NickName: "raw",
        UID: "4242",
        ConnID: "17",
      }),
    });
    const buf = new Uint8Array(64 * 1024);
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const n = await Promise.race([
        conn.read(buf),
        new Promise<null>((r) => setTimeout(() => r(null), deadline - Date.now())),
      ]);
      if (n === null) break;
      hs.reader.push(buf.subarray(0, n));
      for (let msg = hs.reader.next(); msg; msg = hs.reader.next()) {
        const m = decodeMessage(msg);
        if (m?.tag !== ProtocolTag.Gossip && m?.tag !== ProtocolTag.GossipBroadcast) continue;
        const body = decodeGossipBody(m.tag === ProtocolTag.Gossip ? 4 : 6, m.body);
        if (body.channel !== "topology") continue;
        got.push([m.tag, decodeTopology(body.payload).length]);
      }
    }
  } finally {
    conn.close();
  }
  return got;
}

Deno.test("the whole topology goes to a new peer, not to one others already list", async () => {
  await using mesh = new TestMesh(3);
  const a = mesh.start(1, { discovery: false });
  const b = mesh.start(2, { discovery: false });
  b.r.connectionMaker.initiateConnections([mesh.addr(1)], false);
  await waitFor("a-b", () => linked(a, b));
  // A brand-new peer gets a's table (a, b and itself) as tag-4 gossip.
  const fresh = await listenAsPeer(mesh.addr(1), "02:00:00:00:00:09", 300);
  assert.ok(fresh.some(([tag, n]) => tag === ProtocolTag.Gossip && n === 3), JSON.stringify(fresh));
  // A peer that a knows only from b's list (UID 0) is in the mesh already: no table.
  // (Connected to b, silent: a learns of it only from b's entry.)
  const atB = listenAsPeer(mesh.addr(2), "02:00:00:00:00:0a", 1_500);
  await waitFor("a to know 0a from b's list", () => a.r.peers.get(0x02000000000an)?.uid === 0n);
  const known = await listenAsPeer(mesh.addr(1), "02:00:00:00:00:0a", 300);
  assert.ok(!known.some(([tag, n]) => tag === ProtocolTag.Gossip && n > 1), JSON.stringify(known));
  assert.ok(known.some(([tag]) => tag === ProtocolTag.GossipBroadcast), "a's own entry, as ever");
  await atB;
});
