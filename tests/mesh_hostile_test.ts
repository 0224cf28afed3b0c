/**
 * A live MeshRouter on loopback attacked with raw sockets. After each attack
 * the router must have closed the attacker's connection, logged one clear
 * line about it, and still accept a legitimate router.
 */
import assert from "node:assert/strict";
import { type Logger, memoryLogger } from "../lib/log.ts";
import { encodeFeatures } from "../mesh/features.ts";
import { type HandshakeResult, performHandshake } from "../mesh/handshake.ts";
import { encodeMessage, ProtocolTag } from "../mesh/messages.ts";
import { NullOverlay } from "../mesh/overlay.ts";
import { encodeProtocolHeader } from "../mesh/protocol_header.ts";
import { MAX_SURROGATE_CHANNELS, MeshRouter } from "../mesh/router.ts";
import { encodeBroadcastBody, encodeGossipBody } from "../mesh/gossip_envelope.ts";
import { encodeTopology } from "../mesh/topology_codec/codec.ts";
import { formatPeerName } from "../lib/peer_name.ts";
import { ACCEPT_MAX_WAITING_PER_ADDRESS } from "../mesh/accept_pacer.ts";
import { HeldPort } from "./harness/loopback.ts";
import { waitUntil } from "./harness/wait.ts";

const HANDSHAKE_TIMEOUT_MS = 400;
const ATTACKER_FEATURES = {
  PeerNameFlavour: "mac",
  Name: "02:00:00:00:aa:01",
  NickName: "attacker",
  UID: "123456789",
  ConnID: "987654321",
  ShortID: "7",
  Trusted: "false",
};
const ATTACKER_NAME = 0x02000000aa01n;

type Node = { r: MeshRouter; log: Logger & { lines: string[] } };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const waitFor = (what: string, ok: () => boolean, timeoutMs = 8_000) =>
  waitUntil(what, ok, timeoutMs, 20);

/** The victim on 127.0.0.1 and, on demand, a legitimate router on 127.0.0.2. */
class Arena {
  readonly #held = HeldPort.on(["127.0.0.1", "127.0.0.2"]);
  readonly port = this.#held.port;
  readonly victim: Node;
  #legit?: Node;

  constructor() {
    this.victim = this.#start(1);
  }

  #start(host: number): Node {
    const log = memoryLogger();
    const r = new MeshRouter({
      name: 0x020000000000n + BigInt(host),
      nickName: `r${host}`,
      port: this.port,
      host: `127.0.0.${host}`,
      listener: this.#held.take(`127.0.0.${host}`),
      connLimit: 0,
      discovery: false,
      overlay: new NullOverlay(),
      log,
      topologyDeferMs: 20,
      random: () => Math.random() * 0.05,
      connectionTimings: {
        heartbeatMs: 200,
        readTimeoutMs: 3_000,
        handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      },
    });
    r.start();
    return { r, log };
  }

  /** A raw TCP connection to the victim, and the address the victim sees it from. */
  async dial(): Promise<{ conn: Deno.TcpConn; seenAs: string }> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
    const local = conn.localAddr as Deno.NetAddr;
    return { conn, seenAs: `${local.hostname}:${local.port}` };
  }

  /** The victim's lines about one remote address. */
  linesAbout(seenAs: string): string[] {
    return this.victim.log.lines.filter((l) => l.includes(`->[${seenAs}`));
  }

  /** Asserts exactly one "shutting down" line about `seenAs`, matching `reason`. */
  assertOneShutdownLine(seenAs: string, reason: RegExp): void {
    const lines = this.linesAbout(seenAs).filter((l) => /connection shutting down/.test(l));
    assert.equal(lines.length, 1, this.victim.log.lines.join("\n"));
    assert.match(lines[0], reason);
  }

  /** Starts the legitimate router and waits until it is connected and established. */
  async assertLegitConnects(): Promise<void> {
    const legit = this.#legit = this.#start(2);
    legit.r.connectionMaker.initiateConnections([`127.0.0.1:${this.port}`], false);
    const est = (a: Node, b: Node) =>
      a.r.connections().some((c) => c.remoteName === b.r.ourName && c.established);
    await waitFor(
      "the legitimate router to connect",
      () => est(legit, this.victim) && est(this.victim, legit),
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.victim.r.stop();
    this.#legit?.r.stop();
    this.#held[Symbol.dispose]();
    await sleep(150);
  }
}

/**
 * Reads until the peer closes (EOF or reset); returns the bytes read.
 * Fails if the connection is still open after `timeoutMs`.
 */
async function readUntilClosed(conn: Deno.Conn, timeoutMs = 3_000): Promise<number> {
  let total = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), timeoutMs));
  const drain = (async () => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) return "closed" as const;
        total += n;
      }
    } catch {
      return "closed" as const;
    }
  })();
  try {
    const outcome = await Promise.race([drain, timedOut]);
    if (outcome === "timeout") {
      conn.close();
      await drain;
      throw new Error(`Connection still open after ${timeoutMs} ms`);
    }
    return total;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/** Runs the intro as a client, with our features (or the given ones). */
function introduce(
  conn: Deno.Conn,
  features: Record<string, string> = ATTACKER_FEATURES,
): Promise<HandshakeResult> {
  return performHandshake(conn, {
    outbound: true,
    features: encodeFeatures(features),
    timeoutMs: 2_000,
  });
}

Deno.test("hostile: garbage instead of the protocol header", async () => {
  await using arena = new Arena();
  const { conn, seenAs } = await arena.dial();
  await writeAll(conn, new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const got = await readUntilClosed(conn);
  assert.ok(got <= 7, "at most the victim's own header came back");
  arena.assertOneShutdownLine(
    seenAs,
    /connection shutting down due to error during handshake: .*protocol header was not the expected/,
  );
  await arena.assertLegitConnects();
});

Deno.test("hostile: a truncated header, then the attacker stops sending", async () => {
  await using arena = new Arena();
  const { conn, seenAs } = await arena.dial();
  await writeAll(conn, new TextEncoder().encode("weav"));
  await conn.closeWrite();
  assert.equal(await readUntilClosed(conn), 7, "the victim's header, then EOF");
  arena.assertOneShutdownLine(
    seenAs,
    /during handshake: .*connection closed while reading protocol header \(got 4 of 7 bytes\)/,
  );
  await arena.assertLegitConnects();
});

Deno.test("hostile: a valid header and then a bad encryption flag", async () => {
  await using arena = new Arena();
  const { conn, seenAs } = await arena.dial();
  await writeAll(conn, Uint8Array.of(...encodeProtocolHeader(1, 2), 0x07));
  await readUntilClosed(conn);
  arena.assertOneShutdownLine(seenAs, /during handshake: .*encryption flag is 7, expected 0 or 1/);
  await arena.assertLegitConnects();
});

Deno.test("hostile: a valid intro and then a length prefix above 10 MiB", async () => {
  await using arena = new Arena();
  const { conn, seenAs } = await arena.dial();
  await introduce(conn);
  await writeAll(conn, Uint8Array.of(0x00, 0xa0, 0x00, 0x01, 0xde, 0xad));
  await readUntilClosed(conn);
  arena.assertOneShutdownLine(
    seenAs,
    /\]: connection shutting down due to error: .*length prefix 10485761 exceeds the limit of 10485760/,
  );
  await waitFor(
    "the attacker's connection to go",
    () => arena.victim.r.connections().every((c) => c.remoteName !== ATTACKER_NAME),
  );
  await arena.assertLegitConnects();
});

Deno.test("hostile: a valid intro and then garbage gob in gossip (tag 4)", async () => {
  await using arena = new Arena();
  const bodies = [
    Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x00, 0x13),
    // A gob message claiming 2^56 bytes.
    Uint8Array.of(0xf8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x0c, 0x00),
    // A string value whose length runs past the end of its message.
    Uint8Array.of(0x05, 0x0c, 0x00, 0x7f, 0x74, 0x6f),
    // A well-formed gob int where the channel string should be.
    Uint8Array.of(0x03, 0x04, 0x00, 0x02),
  ];
  for (const body of bodies) {
    const { conn, seenAs } = await arena.dial();
    const { writer } = await introduce(conn);
    await writeAll(conn, writer.frame(encodeMessage(ProtocolTag.Gossip, body)));
    await readUntilClosed(conn);
    arena.assertOneShutdownLine(
      seenAs,
      /\]: connection shutting down due to error: Cannot decode tag 4 gossip channel: /,
    );
  }
  await arena.assertLegitConnects();
});

Deno.test("hostile: features without UID", async () => {
  await using arena = new Arena();
  const { conn, seenAs } = await arena.dial();
  const { UID: _, ...noUID } = ATTACKER_FEATURES;
  await introduce(conn, noUID).catch(() => undefined);
  await readUntilClosed(conn);
  arena.assertOneShutdownLine(
    seenAs,
    /connection shutting down due to error.*: field UID is missing/i,
  );
  assert.equal(arena.victim.r.peers.size, 1, "the attacker was never registered");
  await arena.assertLegitConnects();
});

Deno.test(
  // BUG: Go logs a failure before the remote is registered (features parse errors, including
  // "field UID is missing") as `->[addr] connection shutting down due to error during
  // handshake: ...`, since `conn.remote` is still nil. LocalConnection only uses the
  // "during handshake" wording for errors thrown inside performHandshake, so it logs
  // `->[addr] connection shutting down due to error: Field UID is missing`.
  { name: "hostile: a features error is logged as a handshake error, as Go does" },
  async () => {
    await using arena = new Arena();
    const { conn, seenAs } = await arena.dial();
    const { UID: _, ...noUID } = ATTACKER_FEATURES;
    await introduce(conn, noUID).catch(() => undefined);
    await readUntilClosed(conn);
    arena.assertOneShutdownLine(
      seenAs,
      /connection shutting down due to error during handshake: field UID is missing/i,
    );
  },
);

Deno.test("hostile: a silent client is dropped at the handshake timeout", async () => {
  await using arena = new Arena();
  const { conn, seenAs } = await arena.dial();
  const started = Date.now();
  assert.equal(await readUntilClosed(conn, 5_000), 7, "only the victim's header");
  const took = Date.now() - started;
  assert.ok(took >= HANDSHAKE_TIMEOUT_MS - 50 && took < HANDSHAKE_TIMEOUT_MS + 3_000, `${took} ms`);
  arena.assertOneShutdownLine(
    seenAs,
    new RegExp(`during handshake: .*timed out after ${HANDSHAKE_TIMEOUT_MS} ms`),
  );
  await arena.assertLegitConnects();
});

Deno.test("hostile: a burst of 100 connections is paced by the accept rate limit", async () => {
  // As Go: the listener takes a token before each accept, so a burst beyond the bucket
  // (20) waits in the kernel's backlog and is accepted at one per 50 ms, never refused.
  await using arena = new Arena();
  const started = Date.now();
  const attempts = await Promise.all(Array.from({ length: 100 }, () => arena.dial()));
  const firstBytes = await Promise.all(attempts.map(async ({ conn }) => {
    const buf = new Uint8Array(7);
    const n = await conn.read(buf);
    const ms = Date.now() - started;
    conn.close();
    return { n, ms };
  }));
  assert.ok(firstBytes.every((o) => o.n !== null && o.n > 0), "every one got our header");
  const times = firstBytes.map((o) => o.ms).sort((a, b) => a - b);
  assert.ok(times[19] < 1_000, `the bucket's 20 were accepted at once (${times[19]} ms)`);
  assert.ok(times[99] >= 80 * 50 * 0.8, `the rest were paced (last at ${times[99]} ms)`);
  await arena.assertLegitConnects();
});

Deno.test("hostile: 300 idle connections from one address do not delay a real peer", async () => {
  // Go's global accept bucket would take 14 s to reach the peer's connection behind these.
  await using arena = new Arena();
  const idle = await Promise.all(
    Array.from(
      { length: 300 },
      () => Deno.connect({ hostname: "127.0.0.1", port: arena.port }).catch(() => undefined),
    ),
  );
  try {
    await waitFor("the flood to be accepted or waiting", () => arena.victim.r.acceptsWaiting > 0);
    const started = Date.now();
    await arena.assertLegitConnects();
    const took = Date.now() - started;
    assert.ok(took < 3_000, `the real peer took ${took} ms`);
    assert.ok(arena.victim.r.acceptsWaiting > 0, "the flood is still paced");
    assert.ok(
      arena.victim.r.acceptsWaiting <= ACCEPT_MAX_WAITING_PER_ADDRESS,
      `${arena.victim.r.acceptsWaiting} waiting: beyond the waiting room connections are closed`,
    );
  } finally {
    for (const c of idle) c?.close();
  }
});

Deno.test("hostile: 60 handshaken sessions with made-up peers and channels leave nothing behind", async () => {
  await using arena = new Arena();
  const victim = arena.victim.r;
  const channelsBefore = victim.channelCount;
  for (let i = 0; i < 60; i++) {
    const { conn } = await arena.dial();
    const name = 0x02000000b000n + BigInt(i);
    const { writer } = await introduce(conn, {
      ...ATTACKER_FEATURES,
      Name: formatPeerName(name),
      UID: String(1000 + i),
      ConnID: String(5000 + i),
    });
    // Its own entry and a made-up neighbour, then a large message on a made-up channel.
    const fake = 0x03000000b000n + BigInt(i);
    const peer = (n: bigint) => ({
      name: n,
      nickName: "x",
      uid: 77n,
      version: 2n,
      shortID: 9,
      hasShortID: true,
    });
    const link = (n: bigint) => ({
      name: n,
      remoteTCPAddr: `127.0.0.9:${arena.port}`,
      outbound: true,
      established: true,
    });
    const topology = encodeTopology([
      { peer: peer(name), connections: [link(fake)] },
      { peer: peer(fake), connections: [link(name)] },
    ]);
    const messages = [
      encodeMessage(
        ProtocolTag.Gossip,
        encodeGossipBody({ channel: "topology", sender: name, payload: topology }),
      ),
      encodeMessage(
        ProtocolTag.Gossip,
        encodeGossipBody({
          channel: `made-up-${i}`,
          sender: name,
          payload: new Uint8Array(50_000),
        }),
      ),
      encodeMessage(
        ProtocolTag.GossipBroadcast,
        encodeBroadcastBody({ channel: `cast-${i}`, origin: name, payload: new Uint8Array(100) }),
      ),
    ];
    for (const m of messages) await writeAll(conn, writer.frame(m));
    await sleep(5);
    conn.close();
  }
  await waitFor(
    "every hostile peer to be gone",
    () => victim.connections().length === 0 && victim.peers.size === 1,
    10_000,
  );
  assert.ok(
    victim.channelCount <= channelsBefore + MAX_SURROGATE_CHANNELS,
    `${victim.channelCount} gossip channels (${channelsBefore} before)`,
  );
  assert.equal(victim.acceptsWaiting, 0);
  assert.deepEqual(victim.connectionMaker.status(), [], "no target left from made-up peers");
  await arena.assertLegitConnects();
});
