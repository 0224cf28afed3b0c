import assert from "node:assert/strict";
import { discardLogger } from "../lib/log.ts";
import { encodeFeatures } from "./features.ts";
import type { Duplex } from "./handshake.ts";
import { performHandshake } from "./handshake.ts";
import { type ConnectionHost, LocalConnection, type RemotePeerInfo } from "./connection.ts";
import { decodeMessage, ProtocolTag } from "./messages.ts";
import { NullOverlay } from "./overlay.ts";

/** One end of an in-memory pipe that counts the writes made to it. */
class PipeEnd implements Duplex {
  peer!: PipeEnd;
  writes = 0;
  #inbox: Uint8Array[] = [];
  #wake?: () => void;
  #closed = false;

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#inbox.length === 0) {
      if (this.#closed) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    const head = this.#inbox[0];
    const n = Math.min(p.length, head.length);
    p.set(head.subarray(0, n));
    if (n === head.length) this.#inbox.shift();
    else this.#inbox[0] = head.subarray(n);
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Error("closed"));
    this.writes++;
    this.peer.#inbox.push(p.slice());
    this.peer.#notifyReader();
    return Promise.resolve(p.length);
  }

  close(): void {
    this.#closed = true;
    this.#notifyReader();
    this.peer.#closed = true;
    this.peer.#notifyReader();
  }

  #notifyReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

function features(name: string, nick: string): Record<string, string> {
  return { PeerNameFlavour: "mac", Name: name, NickName: nick, UID: "77", ConnID: "5" };
}

/** A host that accepts everything and records what reaches it. */
function host(): ConnectionHost & { added: LocalConnection[]; closed: (Error | undefined)[] } {
  const added: LocalConnection[] = [];
  const closed: (Error | undefined)[] = [];
  return {
    added,
    closed,
    log: discardLogger,
    ourName: 0x020000000001n,
    overlay: new NullOverlay(),
    localFeatures: () => features("02:00:00:00:00:01", "a"),
    trusts: () => false,
    registerRemote: (_conn: LocalConnection, _remote: RemotePeerInfo) => {},
    addConnection: (conn: LocalConnection) => void added.push(conn),
    connectionEstablished: () => {},
    handleGossip: () => {},
    connectionClosed: (_conn: LocalConnection, error: Error | undefined) => void closed.push(error),
  };
}

Deno.test("LocalConnection sends the messages of one turn in one write, in order, bytes unchanged", async () => {
  const ours = new PipeEnd(), theirs = new PipeEnd();
  ours.peer = theirs;
  theirs.peer = ours;
  const h = host();
  const conn = new LocalConnection(h, ours, {
    outbound: true,
    acceptNewPeer: true,
    remoteAddr: { hostname: "10.0.0.2", port: 6783 },
    localAddr: { hostname: "10.0.0.1", port: 40000 },
    heartbeatMs: 60_000,
    readTimeoutMs: 60_000,
  });
  const running = conn.run();
  const remote = await performHandshake(theirs, {
    outbound: false,
    features: encodeFeatures(features("02:00:00:00:00:02", "b")),
  });
  while (h.added.length === 0) await new Promise((r) => setTimeout(r, 1));

  const writesBefore = ours.writes;
  const bodies = [1, 2, 3, 4, 5].map((n) => new Uint8Array(n * 100).fill(n));
  for (const body of bodies) conn.send(ProtocolTag.Gossip, body);
  conn.send(ProtocolTag.GossipBroadcast, new Uint8Array([9]));
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(ours.writes - writesBefore, 1, "one socket write for six messages");
  assert.equal(conn.writeCount, 1);

  // The far end reads the same frames, in order.
  const buf = new Uint8Array(64 * 1024);
  const n = (await theirs.read(buf))!;
  remote.reader.push(buf.subarray(0, n));
  const got: [number, number][] = [];
  for (let msg = remote.reader.next(); msg; msg = remote.reader.next()) {
    const m = decodeMessage(msg)!;
    got.push([m.tag, m.body.length]);
  }
  assert.deepEqual(got, [
    ...bodies.map((b) => [ProtocolTag.Gossip, b.length] as [number, number]),
    [ProtocolTag.GossipBroadcast, 1],
  ]);
  assert.equal(conn.bytesSent, n, "bytesSent counts what was written");

  // Messages queued while that write is under way go out together afterwards.
  conn.send(ProtocolTag.Gossip, new Uint8Array([1]));
  conn.send(ProtocolTag.Gossip, new Uint8Array([2]));
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(conn.writeCount, 2);

  conn.shutdown(new Error("test over"));
  theirs.close();
  await running;
  assert.equal(h.closed.length, 1);
});
