/**
 * Our router between peers that behave as Go Weave Net 2.8.1 does on the wire
 * (`_go_like_peer.ts`: own changes gossiped to neighbours, never broadcast;
 * unreachable peers garbage-collected the moment an update leaves them so):
 * what one learns must reach the other through us at once, not at the next
 * periodic gossip. The real capture of the failure, with Go Weave Net 2.8.1
 * on both sides of our router, is in `testdata/captures/relay-go-ours-go/`.
 */
import assert from "node:assert/strict";
import { memoryLogger } from "../lib/log.ts";
import { formatPeerName, type PeerName } from "../lib/peer_name.ts";
import { GoLikePeer } from "./_go_like_peer.ts";
import { NullOverlay } from "./overlay.ts";
import { MeshRouter, TOPOLOGY_DEFER_MS } from "./router.ts";
import { Routes } from "./routes.ts";
import { HeldPort } from "../tests/harness/loopback.ts";
import { waitUntil } from "../tests/harness/wait.ts";
import { decodeCapture } from "../tests/captures/pcap.ts";
import { reassembleTcp, timeAt } from "../tests/captures/tcp_streams.ts";
import { FrameReader } from "./framing.ts";
import { decodeMessage, ProtocolTag } from "./messages.ts";
import { decodeGossipBody } from "./gossip_envelope.ts";
import { decodeTopology } from "./topology_codec/codec.ts";

const GO1 = 0x020000000001n, OURS = 0x020000000002n, GO3 = 0x020000000003n;

/** Our router on 127.0.0.1 with the real topology defer time; disposing stops it. */
function ourRouter(held: HeldPort): MeshRouter & Disposable {
  const r = new MeshRouter({
    name: OURS,
    nickName: "h2",
    port: held.port,
    host: "127.0.0.1",
    listener: held.take("127.0.0.1"),
    connLimit: 0,
    discovery: false,
    overlay: new NullOverlay(),
    log: memoryLogger(),
    connectionTimings: { heartbeatMs: 500, readTimeoutMs: 5_000, handshakeTimeoutMs: 2_000 },
  });
  r.start();
  return Object.assign(r, { [Symbol.dispose]: () => r.stop() });
}

/** What `peer` knows of `name`: its UID and connections, as `weave status peers` shows it. */
function viewOf(peer: GoLikePeer, name: PeerName): string {
  const p = peer.peers.get(name);
  if (!p) return "unknown";
  const conns = [...p.connections.values()].map((c) =>
    `${formatPeerName(c.name)}${c.established ? "" : "(pending)"}`
  );
  return `uid=${p.uid} conns=[${conns.join(",")}]`;
}

Deno.test("a Go peer's new connection reaches a Go peer two hops away through our router within a second", async () => {
  using held = HeldPort.on(["127.0.0.1"]);
  using _router = ourRouter(held);
  const addr = `127.0.0.1:${held.port}`;
  const go1 = new GoLikePeer({ name: GO1, nickName: "go1", uid: 11n, shortID: 1 });
  const go3 = new GoLikePeer({ name: GO3, nickName: "go3", uid: 33n, shortID: 3 });
  try {
    const run1 = go1.dial(addr);
    // go1 and our router settle: go1 holds our entry with the connection, established.
    await waitUntil(
      "go1 to see our connection to it",
      () => go1.peers.get(OURS)?.connections.get(GO1)?.established === true,
      3 * TOPOLOGY_DEFER_MS + 2_000,
      10,
    );
    // go3 connects to us and, as Go, sends its table and its news at once. Our own
    // entry with the new connection is not due for another TOPOLOGY_DEFER_MS.
    const run3 = go3.dial(addr);
    const start = Date.now();
    await waitUntil(
      "go1 to hold go3's own entry, connected to us",
      () =>
        go1.peers.get(GO3)?.uid === 33n &&
        go1.peers.get(GO3)?.connections.get(OURS)?.established === true &&
        go1.peers.get(OURS)?.connections.has(GO3) === true,
      1_000,
      5,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}: go1 sees go3 as ${viewOf(go1, GO3)}`, {
        cause: e,
      });
    });
    const took = Date.now() - start;
    // And so go1 has a data route to go3, through us (no "unknown destination").
    const routes = new Routes(go1.peers);
    assert.equal(routes.unicast(GO3), OURS, `go1's route to go3 (after ${took} ms)`);
    // Our deferred entry follows; go1 still holds go3's entry after it (not a placeholder).
    await new Promise((r) => setTimeout(r, TOPOLOGY_DEFER_MS + 300));
    assert.equal(go1.peers.get(GO3)?.uid, 33n, `after our own update: ${viewOf(go1, GO3)}`);
    assert.equal(new Routes(go1.peers).unicast(GO3), OURS);
    go1.close();
    go3.close();
    await Promise.all([run1, run3]);
  } finally {
    go1.close();
    go3.close();
  }
});

/** One of our routers on 127.0.0.`host` of `held`, named 02:00:00:00:00:0`host`. */
function ours(held: HeldPort, host: number, topologyDeferMs?: number) {
  const log = memoryLogger();
  const r = new MeshRouter({
    name: 0x020000000000n + BigInt(host),
    nickName: `h${host}`,
    port: held.port,
    host: `127.0.0.${host}`,
    listener: held.take(`127.0.0.${host}`),
    connLimit: 0,
    discovery: false,
    overlay: new NullOverlay(),
    log,
    topologyDeferMs,
    connectionTimings: { heartbeatMs: 500, readTimeoutMs: 5_000, handshakeTimeoutMs: 2_000 },
  });
  r.start();
  return { r, log };
}

Deno.test("a new peer's own update that overtakes ours still reaches a peer two hops away (partial connectivity)", async () => {
  // h1 – h2 – h3, as in the partial-connectivity test (h1–h3 blocked). h3's own update
  // reaches h2 before h2's own (here: h3's defer is short; under load: h2's connection
  // is established a little later than h3's). h2 relays it to h1, where h3 is not yet
  // reachable through h2's entry: h1 drops it (garbage collection), then gets only a
  // placeholder from h2's entry, and has no route to h3 until periodic gossip.
  using held = HeldPort.on(["127.0.0.1", "127.0.0.2", "127.0.0.3"]);
  const h1 = ours(held, 1), h2 = ours(held, 2), nodes = [h1, h2];
  try {
    h1.r.connectionMaker.initiateConnections([`127.0.0.2:${held.port}`], false);
    await waitUntil(
      "h1 to see h2's connection to it, established",
      () => h1.r.peers.get(h2.r.ourName)?.connections.get(h1.r.ourName)?.established === true,
      3 * TOPOLOGY_DEFER_MS + 2_000,
    );
    const h3 = ours(held, 3, 20);
    nodes.push(h3);
    h3.r.connectionMaker.initiateConnections([`127.0.0.2:${held.port}`], false);
    await waitUntil(
      "h1 to hold h3's own entry and a route to it through h2",
      () =>
        h1.r.peers.get(h3.r.ourName)?.uid === h3.r.ourUID &&
        h1.r.routes.unicast(h3.r.ourName) === h2.r.ourName,
      TOPOLOGY_DEFER_MS,
      5,
    ).catch((e) => {
      const p = h1.r.peers.get(h3.r.ourName);
      throw new Error(`${(e as Error).message}: h1 has h3 with uid ${p?.uid}`, { cause: e });
    });
    await new Promise((r) => setTimeout(r, TOPOLOGY_DEFER_MS + 300));
    assert.equal(h1.r.peers.get(h3.r.ourName)?.uid, h3.r.ourUID, "still, after h2's update");
    assert.equal(h1.r.routes.unicast(h3.r.ourName), h2.r.ourName);
    assert.deepEqual(h1.log.lines.filter((l) => l.includes("Removed unreachable peer")), []);
  } finally {
    for (const n of nodes) n.r.stop();
    await new Promise((r) => setTimeout(r, 100));
  }
});

// ---- the real capture (testdata/captures/relay-go-ours-go) ------------------------------

interface TopologyMessage {
  time: number;
  from: string;
  to: string;
  tag: number;
  /** Each entry: the peer, its UID and the names of its connections. */
  entries: { name: string; uid: bigint; connections: string[] }[];
}

async function capturedTopology(): Promise<TopologyMessage[]> {
  const url = new URL("../testdata/captures/relay-go-ours-go/h2.pcap", import.meta.url);
  const connections = reassembleTcp(decodeCapture(await Deno.readFile(url)));
  const t0 = Math.min(...connections.map((c) => c.startTime));
  const out: TopologyMessage[] = [];
  for (const c of connections) {
    for (const [stream, outbound] of [[c.outbound, true], [c.inbound, false]] as const) {
      const reader = new FrameReader({ outbound });
      reader.push(stream.bytes.subarray(8)); // protocol header and plain-mode flag
      let offset = 8;
      for (let f = reader.next(); f !== null; f = reader.next()) {
        offset += 4 + f.length;
        const m = decodeMessage(f);
        if (m?.tag !== ProtocolTag.Gossip && m?.tag !== ProtocolTag.GossipBroadcast) continue;
        const body = decodeGossipBody(m.tag === ProtocolTag.Gossip ? 4 : 6, m.body);
        if (body.channel !== "topology") continue;
        out.push({
          time: timeAt(stream, offset - 1) - t0,
          from: stream.from.ip,
          to: stream.to.ip,
          tag: m.tag,
          entries: decodeTopology(body.payload).map((e) => ({
            name: formatPeerName(e.peer.name),
            uid: e.peer.uid,
            connections: e.connections.map((x) => formatPeerName(x.name)),
          })),
        });
      }
    }
  }
  return out.sort((a, b) => a.time - b.time);
}

const H1_IP = "192.0.2.1", H2_IP = "192.0.2.2", H3_IP = "192.0.2.3";

Deno.test("capture: Go routers only gossip topology, their whole table first (what GoLikePeer does)", async () => {
  const msgs = await capturedTopology();
  const fromGo = msgs.filter((m) => m.from === H1_IP || m.from === H3_IP);
  assert.ok(fromGo.length >= 3, `Go topology messages: ${fromGo.length}`);
  assert.ok(fromGo.every((m) => m.tag === ProtocolTag.Gossip), "never a broadcast (tag 6)");
  const first = fromGo.find((m) => m.from === H3_IP)!;
  assert.deepEqual(
    first.entries.map((e) => [e.name, e.connections]),
    [["02:00:00:00:00:03", ["02:00:00:00:00:02"]], ["02:00:00:00:00:02", []]],
    "go3's first message: its table (itself and us, as known from the handshake)",
  );
});

Deno.test("capture: our old router relayed go3's entry to go1 before its own entry listing go3", async () => {
  const toGo1 = (await capturedTopology()).filter((m) => m.from === H2_IP && m.to === H1_IP);
  const relayed = toGo1.find((m) => m.entries.some((e) => e.name === "02:00:00:00:00:03"));
  const ownWithGo3 = toGo1.find((m) =>
    m.entries.some((e) =>
      e.name === "02:00:00:00:00:02" && e.connections.includes("02:00:00:00:00:03")
    )
  );
  assert.ok(relayed && ownWithGo3);
  assert.ok(
    !relayed.entries.some((e) => e.name === "02:00:00:00:00:02"),
    "the relay did not carry our entry",
  );
  assert.ok(
    ownWithGo3.time - relayed.time > 0.9,
    `go3's entry at ${relayed.time.toFixed(3)} s, ours at ${ownWithGo3.time.toFixed(3)} s`,
  );
  const go1Log = await Deno.readTextFile(
    new URL("../testdata/captures/relay-go-ours-go/h1-weaver.log", import.meta.url),
  );
  assert.match(go1Log, /Removed unreachable peer 02:00:00:00:00:03\(go3\)/);
});
