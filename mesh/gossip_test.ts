import assert from "node:assert/strict";
import { memoryLogger } from "../lib/log.ts";
import type { PeerName } from "../lib/peer_name.ts";
import { decodeGossipBody, encodeUnicastBody } from "./gossip_envelope.ts";
import {
  GossipChannel,
  type GossipConnection,
  type GossipMesh,
  GossipSender,
  type NeighbourAwareGossipData,
} from "./gossip.ts";
import type { GossipData, Gossiper } from "./gossip_types.ts";
import { ProtocolTag } from "./messages.ts";
import { SurrogateGossiper } from "./surrogate_gossiper.ts";

const US = 0x020000000001n;
const B = 0x020000000002n;
const C = 0x020000000003n;
const D = 0x020000000004n;

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

/** Gossip data holding words; merging concatenates; each `|`-group encodes as one message. */
class Words implements GossipData {
  constructor(readonly words: string[]) {}
  encode(): Uint8Array[] {
    return this.words.join(" ").split(" | ").map(text);
  }
  merge(other: GossipData): GossipData {
    return new Words([...this.words, ...(other as Words).words]);
  }
}

/** A connection that records what it is asked to send. */
class FakeConn implements GossipConnection {
  sent: { tag: number; body: Uint8Array }[] = [];
  send(tag: number, body: Uint8Array): void {
    this.sent.push({ tag, body: body.slice() });
  }
  /** The sent messages as [tag, channel, peer, payload] (peer: sender/origin/destination). */
  decoded(): [number, string, PeerName, string][] {
    return this.sent.map(({ tag, body }) => {
      if (tag === ProtocolTag.Gossip) {
        const m = decodeGossipBody(4, body);
        return [tag, m.channel, m.sender, str(m.payload)];
      }
      if (tag === ProtocolTag.GossipBroadcast) {
        const m = decodeGossipBody(6, body);
        return [tag, m.channel, m.origin, str(m.payload)];
      }
      const m = decodeGossipBody(5, body);
      return [tag, m.channel, m.destination, str(m.payload)];
    });
  }
}

/** A mesh of direct neighbours with fixed routes. */
class FakeMesh implements GossipMesh {
  readonly ourName = US;
  readonly log = memoryLogger();
  conns = new Map<PeerName, FakeConn>([[B, new FakeConn()], [C, new FakeConn()]]);
  unicastHops = new Map<PeerName, PeerName>([[B, B], [C, C], [D, C]]);
  broadcastHops = new Map<PeerName, PeerName[]>([[US, [B, C]], [B, [C]], [D, []]]);

  connectionTo(name: PeerName): GossipConnection | undefined {
    return this.conns.get(name);
  }
  unicastAllNextHop(dst: PeerName): PeerName | undefined {
    return this.unicastHops.get(dst);
  }
  broadcastAllNextHops(origin: PeerName): PeerName[] {
    return this.broadcastHops.get(origin) ?? [];
  }
  randomNeighbours(except: PeerName): PeerName[] {
    return [B, C].filter((n) => n !== except);
  }
  conn(name: PeerName): FakeConn {
    return this.conns.get(name)!;
  }
}

/** A gossiper that records calls and answers with what the test sets. */
class RecordingGossiper implements Gossiper {
  calls: string[] = [];
  reply: GossipData | null = null;
  onGossipUnicast(sender: PeerName, message: Uint8Array): void {
    this.calls.push(`unicast ${sender} ${str(message)}`);
  }
  onGossipBroadcast(origin: PeerName, update: Uint8Array): GossipData | null {
    this.calls.push(`broadcast ${origin} ${str(update)}`);
    return this.reply;
  }
  gossip(): GossipData | null {
    return this.reply;
  }
  onGossip(update: Uint8Array): GossipData | null {
    this.calls.push(`gossip ${str(update)}`);
    return this.reply;
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("GossipSender merges pending gossip and sends it at the next flush", async () => {
  const conn = new FakeConn();
  const sender = new GossipSender("topology", US, conn);
  sender.gossip(new Words(["a"]));
  sender.gossip(new Words(["b"]));
  assert.equal(conn.sent.length, 0, "nothing goes out synchronously");
  await tick();
  assert.deepEqual(conn.decoded(), [[ProtocolTag.Gossip, "topology", US, "a b"]]);
  sender.gossip(new Words(["c", "|", "d"]));
  sender.flush();
  assert.deepEqual(conn.decoded().slice(1), [
    [ProtocolTag.Gossip, "topology", US, "c"],
    [ProtocolTag.Gossip, "topology", US, "d"],
  ], "one GossipData may encode to several messages");
  await tick();
  assert.equal(conn.sent.length, 3, "the scheduled flush found nothing more");
});

Deno.test("GossipSender keeps one pending broadcast per origin: ours first, then gossip, then relays", async () => {
  const conn = new FakeConn();
  const sender = new GossipSender("IPallocation", US, conn);
  sender.broadcast(B, new Words(["b1"]));
  sender.broadcast(C, new Words(["c1"]));
  sender.broadcast(B, new Words(["b2"]));
  sender.gossip(new Words(["g"]));
  sender.broadcast(US, new Words(["own"]));
  await tick();
  assert.deepEqual(conn.decoded(), [
    [ProtocolTag.GossipBroadcast, "IPallocation", US, "own"],
    [ProtocolTag.Gossip, "IPallocation", US, "g"],
    [ProtocolTag.GossipBroadcast, "IPallocation", B, "b1 b2"],
    [ProtocolTag.GossipBroadcast, "IPallocation", C, "c1"],
  ]);
});

Deno.test("GossipChannel.beforeRelay sees each relay, not our own data, and its data goes first", async () => {
  const mesh = new FakeMesh();
  const gossiper = new RecordingGossiper();
  const channel = new GossipChannel("topology", gossiper, mesh);
  const seen: string[] = [];
  channel.beforeRelay = (neighbour, data) => {
    seen.push(`${neighbour === C ? "C" : "B"}:${(data as Words).words.join(" ")}`);
    if (neighbour === C) channel.broadcastDown(mesh.conn(C), new Words(["me"]));
  };
  gossiper.reply = new Words(["delta"]);
  channel.deliverGossip(B, text("full"));
  gossiper.reply = new Words(["relayed"]);
  channel.deliverBroadcast(B, text("update"));
  channel.gossipNeighbourSubset(new Words(["mine"]));
  channel.gossipBroadcast(new Words(["own"]));
  await tick();
  assert.deepEqual(seen, ["C:delta", "C:relayed"], "our own data is not a relay");
  assert.deepEqual(mesh.conn(C).decoded(), [
    [ProtocolTag.GossipBroadcast, "topology", US, "me me own"],
    [ProtocolTag.Gossip, "topology", US, "delta mine"],
    [ProtocolTag.GossipBroadcast, "topology", B, "relayed"],
  ]);
});

Deno.test("GossipSender.stop drops what is pending", async () => {
  const conn = new FakeConn();
  const sender = new GossipSender("topology", US, conn);
  sender.gossip(new Words(["a"]));
  sender.broadcast(B, new Words(["b"]));
  sender.stop();
  await tick();
  sender.gossip(new Words(["late"]));
  sender.flush();
  assert.equal(conn.sent.length, 0);
});

Deno.test("GossipChannel unicast to another peer goes to the unicastAll next hop", async () => {
  const mesh = new FakeMesh();
  const channel = new GossipChannel("nameserver", new RecordingGossiper(), mesh);
  channel.gossipUnicast(D, text("hello"));
  assert.deepEqual(mesh.conn(C).decoded(), [[ProtocolTag.GossipUnicast, "nameserver", D, "hello"]]);
  assert.equal(decodeGossipBody(5, mesh.conn(C).sent[0].body).source, US);
  assert.equal(mesh.conn(B).sent.length, 0);
  channel.gossipUnicast(0x0200000000ffn, text("lost"));
  assert.ok(
    mesh.log.lines.some((l) => /unknown relay destination: 02:00:00:00:00:ff/.test(l)),
    mesh.log.lines.join("\n"),
  );
  await tick();
});

Deno.test("GossipChannel delivers a unicast for us and relays others unchanged", () => {
  const mesh = new FakeMesh();
  const gossiper = new RecordingGossiper();
  const channel = new GossipChannel("nameserver", gossiper, mesh);
  const toUs = { channel: "nameserver", source: B, destination: US, payload: text("mine") };
  channel.deliverUnicast(toUs, encodeUnicastBody(toUs));
  assert.deepEqual(gossiper.calls, [`unicast ${B} mine`]);
  assert.equal(mesh.conn(B).sent.length + mesh.conn(C).sent.length, 0, "not relayed");

  const toD = { channel: "nameserver", source: B, destination: D, payload: text("theirs") };
  const raw = encodeUnicastBody(toD);
  channel.deliverUnicast(toD, raw);
  assert.equal(gossiper.calls.length, 1, "not delivered to our gossiper");
  assert.equal(mesh.conn(C).sent.length, 1);
  assert.equal(mesh.conn(C).sent[0].tag, ProtocolTag.GossipUnicast);
  assert.deepEqual(mesh.conn(C).sent[0].body, raw, "relayed byte for byte");
});

Deno.test("GossipChannel relays broadcasts along broadcastAll(origin), keeping the origin", async () => {
  const mesh = new FakeMesh();
  const gossiper = new RecordingGossiper();
  const channel = new GossipChannel("IPallocation", gossiper, mesh);
  gossiper.reply = new Words(["relay"]);
  channel.deliverBroadcast(B, text("update"));
  assert.deepEqual(gossiper.calls, [`broadcast ${B} update`]);
  gossiper.reply = null;
  channel.deliverBroadcast(D, text("nothing-to-relay"));
  await tick();
  assert.deepEqual(mesh.conn(C).decoded(), [[
    ProtocolTag.GossipBroadcast,
    "IPallocation",
    B,
    "relay",
  ]]);
  assert.equal(mesh.conn(B).sent.length, 0, "not sent back towards the origin's tree");

  channel.gossipBroadcast(new Words(["own"]));
  await tick();
  assert.deepEqual(mesh.conn(B).decoded(), [[
    ProtocolTag.GossipBroadcast,
    "IPallocation",
    US,
    "own",
  ]]);
  assert.deepEqual(mesh.conn(C).decoded()[1], [
    ProtocolTag.GossipBroadcast,
    "IPallocation",
    US,
    "own",
  ]);
});

Deno.test("GossipChannel passes gossip deltas on to neighbours other than the sender", async () => {
  const mesh = new FakeMesh();
  const gossiper = new RecordingGossiper();
  const channel = new GossipChannel("topology", gossiper, mesh);
  gossiper.reply = new Words(["delta"]);
  channel.deliverGossip(B, text("full"));
  await tick();
  assert.deepEqual(gossiper.calls, ["gossip full"]);
  assert.equal(mesh.conn(B).sent.length, 0);
  assert.deepEqual(mesh.conn(C).decoded(), [[ProtocolTag.Gossip, "topology", US, "delta"]]);
  gossiper.reply = null;
  channel.deliverGossip(C, text("stale"));
  await tick();
  assert.equal(mesh.conn(B).sent.length, 0, "no delta, nothing sent");
});

/** Words that drop, for each neighbour, the words naming it (`to-<name>`). */
class TrimmedWords extends Words implements NeighbourAwareGossipData {
  forNeighbour(neighbour: PeerName): GossipData | null {
    const left = this.words.filter((w) => w !== `to-${neighbour}`);
    return left.length === 0 ? null : new Words(left);
  }
}

Deno.test("GossipChannel relays gossip deltas trimmed for each neighbour", async () => {
  const mesh = new FakeMesh();
  mesh.conns.set(D, new FakeConn());
  mesh.randomNeighbours = () => [B, C, D];
  const gossiper = new RecordingGossiper();
  const channel = new GossipChannel("topology", gossiper, mesh);
  gossiper.reply = new TrimmedWords([`to-${C}`, "all", `to-${D}`]);
  channel.deliverGossip(0x020000000009n, text("news"));
  await tick();
  assert.deepEqual(mesh.conn(B).decoded(), [[
    ProtocolTag.Gossip,
    "topology",
    US,
    `to-${C} all to-${D}`,
  ]]);
  assert.deepEqual(mesh.conn(C).decoded(), [[ProtocolTag.Gossip, "topology", US, `all to-${D}`]]);
  assert.deepEqual(mesh.conn(D).decoded(), [[ProtocolTag.Gossip, "topology", US, `to-${C} all`]]);
  // Nothing left for a neighbour: nothing sent to it.
  gossiper.reply = new TrimmedWords([`to-${B}`]);
  channel.deliverGossip(0x020000000009n, text("news"));
  await tick();
  assert.equal(mesh.conn(B).sent.length, 1);
  assert.equal(mesh.conn(C).sent.length, 2);
});

Deno.test("GossipChannel.broadcastDown queues our own broadcast (tag 6) on one connection", async () => {
  const mesh = new FakeMesh();
  const channel = new GossipChannel("topology", new RecordingGossiper(), mesh);
  channel.broadcastDown(mesh.conn(B), new Words(["ours"]));
  channel.broadcastDown(mesh.conn(B), new Words(["more"]));
  await tick();
  assert.deepEqual(mesh.conn(B).decoded(), [[
    ProtocolTag.GossipBroadcast,
    "topology",
    US,
    "ours more",
  ]]);
  assert.equal(mesh.conn(C).sent.length, 0, "only down that connection");
});

Deno.test("GossipChannel.sendDown and dropConnection", async () => {
  const mesh = new FakeMesh();
  const channel = new GossipChannel("topology", new RecordingGossiper(), mesh);
  channel.sendDown(mesh.conn(B), new Words(["x"]));
  channel.dropConnection(mesh.conn(B));
  await tick();
  assert.equal(mesh.conn(B).sent.length, 0, "dropped before the flush");
  channel.sendDown(mesh.conn(B), new Words(["y"]));
  await tick();
  assert.deepEqual(mesh.conn(B).decoded(), [[ProtocolTag.Gossip, "topology", US, "y"]]);
});

Deno.test("a surrogate channel relays broadcasts, unicasts and new gossip unchanged", async () => {
  const mesh = new FakeMesh();
  const channel = new GossipChannel("IPallocation", new SurrogateGossiper(), mesh);
  channel.deliverBroadcast(B, text("ring"));
  channel.deliverGossip(B, text("state"));
  channel.deliverGossip(B, text("state"));
  const toUs = { channel: "IPallocation", source: B, destination: US, payload: text("dropped") };
  channel.deliverUnicast(toUs, encodeUnicastBody(toUs));
  const toD = { channel: "IPallocation", source: B, destination: D, payload: text("req") };
  channel.deliverUnicast(toD, encodeUnicastBody(toD));
  await tick();
  assert.deepEqual(mesh.conn(C).decoded(), [
    [ProtocolTag.GossipUnicast, "IPallocation", D, "req"],
    [ProtocolTag.Gossip, "IPallocation", US, "state"],
    [ProtocolTag.GossipBroadcast, "IPallocation", B, "ring"],
  ]);
  assert.equal(mesh.conn(B).sent.length, 0);
});
