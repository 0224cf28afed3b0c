import assert from "node:assert/strict";
import { SEAL_OVERHEAD } from "./crypto.ts";
import { FrameReader, FrameWriter } from "./framing.ts";
import { type Duplex, type HandshakeResult, performHandshake } from "./handshake.ts";
import { encodeProtocolHeader } from "./protocol_header.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const featuresA = enc("features of A: a gob stream in real life");
const featuresB = Uint8Array.from({ length: 50_000 }, (_, i) => (i * 7) & 0xff);
const PASSWORD_MISMATCH = "password specified, but peer requested an unencrypted connection";
const NO_PASSWORD_MISMATCH = "no password specified, but peer requested an encrypted connection";

/** One end of an in-memory byte pipe pair, optionally returning short reads/writes. */
class MemoryEnd implements Duplex {
  peer!: MemoryEnd;
  #inbox: Uint8Array[] = [];
  #wake?: () => void;
  #eof = false;
  #closed = false;
  #maxRead: number;
  #maxWrite: number;
  written = 0;

  constructor(maxRead = Infinity, maxWrite = Infinity) {
    this.#maxRead = maxRead;
    this.#maxWrite = maxWrite;
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#inbox.length === 0) {
      if (this.#eof || this.#closed) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    // Like TCP, one read may return bytes of several writes.
    const limit = Math.min(p.length, this.#maxRead);
    let n = 0;
    while (n < limit && this.#inbox.length > 0) {
      const head = this.#inbox[0];
      const take = Math.min(limit - n, head.length);
      p.set(head.subarray(0, take), n);
      n += take;
      if (take === head.length) this.#inbox.shift();
      else this.#inbox[0] = head.subarray(take);
    }
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#closed || this.peer.#closed) return Promise.reject(new Error("broken pipe"));
    return Promise.resolve(this.send(p.subarray(0, this.#maxWrite)));
  }

  /** Queues `p` for the peer at once; returns its length. */
  send(p: Uint8Array): number {
    this.peer.#inbox.push(p.slice());
    this.peer.#notify();
    this.written += p.length;
    return p.length;
  }

  /** Half-closes: the peer reads end of stream, we can still read. */
  closeWrite(): void {
    this.peer.#eof = true;
    this.peer.#notify();
  }

  close(): void {
    this.#closed = true;
    this.#notify();
    this.peer.#eof = true;
    this.peer.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

function memoryPair(maxRead?: number, maxWrite?: number): [MemoryEnd, MemoryEnd] {
  const a = new MemoryEnd(maxRead, maxWrite);
  const b = new MemoryEnd(maxRead, maxWrite);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

async function tcpPair(): Promise<[Deno.Conn, Deno.Conn]> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const [client, server] = await Promise.all([
      Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
      listener.accept(),
    ]);
    return [client, server];
  } finally {
    listener.close();
  }
}

function closeQuietly(c: { close(): void }): void {
  try {
    c.close();
  } catch {
    // already closed
  }
}

/** Sends one framed message from `from` and receives it at `to` over `stream`. */
async function sendOne(
  from: HandshakeResult,
  fromStream: Duplex,
  to: HandshakeResult,
  toStream: Duplex,
  msg: Uint8Array,
): Promise<Uint8Array> {
  const framed = from.writer.frame(msg);
  for (let off = 0; off < framed.length;) off += await fromStream.write(framed.subarray(off));
  const buf = new Uint8Array(4096);
  for (let got = to.reader.next();; got = to.reader.next()) {
    if (got !== null) return got;
    const n = await toStream.read(buf);
    if (n === null) throw new Error("stream ended");
    to.reader.push(buf.subarray(0, n));
  }
}

async function handshakePair(
  a: Duplex,
  b: Duplex,
  pwA?: Uint8Array,
  pwB?: Uint8Array,
): Promise<[HandshakeResult, HandshakeResult]> {
  return await Promise.all([
    performHandshake(a, { outbound: true, password: pwA, features: featuresA }),
    performHandshake(b, { outbound: false, password: pwB, features: featuresB }),
  ]);
}

async function checkTraffic(
  ra: HandshakeResult,
  a: Duplex,
  rb: HandshakeResult,
  b: Duplex,
): Promise<void> {
  for (let i = 0; i < 4; i++) {
    const ab = enc(`A to B #${i}`);
    const ba = Uint8Array.from({ length: 300 * i }, (_, j) => (i + j) & 0xff);
    assert.deepEqual(await sendOne(ra, a, rb, b, ab), ab);
    assert.deepEqual(await sendOne(rb, b, ra, a, ba), ba);
  }
}

/** Expects the handshake to fail with an error whose message matches `pattern`. */
async function expectFailure(p: Promise<unknown>, pattern: RegExp | string): Promise<Error> {
  const err = await p.then(() => null, (e: unknown) => e);
  assert.ok(err instanceof Error, `expected an error matching ${pattern}`);
  if (typeof pattern === "string") assert.equal(err.message, pattern);
  else assert.match(err.message, pattern);
  return err;
}

Deno.test("handshake in memory without password exchanges features and plain frames", async () => {
  const [a, b] = memoryPair();
  const [ra, rb] = await handshakePair(a, b);
  assert.equal(ra.version, 2);
  assert.deepEqual(ra.remoteFeatures, featuresB);
  assert.deepEqual(rb.remoteFeatures, featuresA);
  assert.equal(ra.sessionKey, undefined);
  assert.equal(rb.sessionKey, undefined);
  // Plain mode: header 7 + flag 1 + prefix 4 + features.
  assert.equal(a.written, 7 + 1 + 4 + featuresA.length);
  await checkTraffic(ra, a, rb, b);
  a.close();
  b.close();
});

Deno.test("handshake in memory with password agrees on a key and seals frames", async () => {
  const pw = enc("golden-capture-pw-2.8.1");
  const [a, b] = memoryPair();
  const [ra, rb] = await handshakePair(a, b, pw, pw);
  assert.deepEqual(ra.remoteFeatures, featuresB);
  assert.deepEqual(rb.remoteFeatures, featuresA);
  assert.ok(ra.sessionKey && rb.sessionKey);
  assert.deepEqual(ra.sessionKey, rb.sessionKey);
  assert.equal(a.written, 7 + 33 + 4 + featuresA.length + SEAL_OVERHEAD);
  await checkTraffic(ra, a, rb, b);
  a.close();
  b.close();
});

Deno.test("handshake copes with 1-byte reads and 3-byte writes", async () => {
  for (const pw of [undefined, enc("pw")]) {
    const [a, b] = memoryPair(1, 3);
    const [ra, rb] = await Promise.all([
      performHandshake(a, { outbound: false, password: pw, features: featuresA }),
      performHandshake(b, { outbound: true, password: pw, features: enc("small") }),
    ]);
    assert.deepEqual(ra.remoteFeatures, enc("small"));
    assert.deepEqual(rb.remoteFeatures, featuresA);
    await checkTraffic(ra, a, rb, b);
    a.close();
    b.close();
  }
});

Deno.test("handshake over real TCP on 127.0.0.1, with and without password", async () => {
  for (const pw of [undefined, enc("tcp secret")]) {
    const [client, server] = await tcpPair();
    try {
      const [rc, rs] = await handshakePair(client, server, pw, pw);
      assert.deepEqual(rc.remoteFeatures, featuresB);
      assert.deepEqual(rs.remoteFeatures, featuresA);
      assert.deepEqual(rc.sessionKey, rs.sessionKey);
      assert.equal(rc.sessionKey !== undefined, pw !== undefined);
      await checkTraffic(rc, client, rs, server);
    } finally {
      closeQuietly(client);
      closeQuietly(server);
    }
  }
});

Deno.test("handshake treats an empty password as no password", async () => {
  const [a, b] = memoryPair();
  const [ra] = await handshakePair(a, b, new Uint8Array(), undefined);
  assert.equal(ra.sessionKey, undefined);
  a.close();
  b.close();
});

Deno.test("bytes the peer sent right after its features wait in the reader", async () => {
  for (const pw of [undefined, enc("pw")]) {
    const [a, b] = memoryPair();
    // A's reads stall after header and flag until B has finished its
    // handshake and queued two messages; A then gets features and both
    // messages in one read.
    const introLength = 7 + (pw ? 33 : 1);
    let readSoFar = 0;
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => openGate = resolve);
    const gatedA: Duplex = {
      write: (p) => a.write(p),
      read: async (p) => {
        if (readSoFar < introLength) {
          const n = await a.read(p.subarray(0, introLength - readSoFar));
          readSoFar += n ?? 0;
          return n;
        }
        await gate;
        return await a.read(p);
      },
    };
    const aDone = performHandshake(gatedA, { outbound: true, password: pw, features: featuresA });
    const rb = await performHandshake(b, { outbound: false, password: pw, features: enc("B") });
    for (const m of [enc("\x04gossip"), enc("\x00")]) await b.write(rb.writer.frame(m));
    openGate();
    const ra = await aDone;
    assert.deepEqual(ra.remoteFeatures, enc("B"));
    assert.deepEqual(ra.reader.next(), enc("\x04gossip"));
    assert.deepEqual(ra.reader.next(), enc("\x00"));
    assert.equal(ra.reader.next(), null);
    a.close();
    b.close();
  }
});

Deno.test("wrong password fails to decrypt the first message on both sides", async () => {
  for (const transport of ["memory", "tcp"]) {
    const [a, b] = transport === "tcp" ? await tcpPair() : memoryPair();
    try {
      const results = await Promise.allSettled([
        performHandshake(a, { outbound: true, password: enc("one"), features: featuresA }),
        performHandshake(b, { outbound: false, password: enc("two"), features: featuresB }),
      ]);
      for (const r of results) {
        assert.equal(r.status, "rejected", transport);
        assert.match((r as PromiseRejectedResult).reason.message, /^Cannot decrypt message 0 /);
      }
    } finally {
      closeQuietly(a);
      closeQuietly(b);
    }
  }
});

Deno.test("password on one side only gives Go's exact errors on both sides", async () => {
  for (const transport of ["memory", "tcp"]) {
    for (const passwordOnOutbound of [true, false]) {
      const [a, b] = transport === "tcp" ? await tcpPair() : memoryPair();
      try {
        const pwA = passwordOnOutbound ? enc("pw") : undefined;
        const pwB = passwordOnOutbound ? undefined : enc("pw");
        const [ea, eb] = await Promise.all([
          expectFailure(
            performHandshake(a, { outbound: true, password: pwA, features: featuresA }),
            passwordOnOutbound ? PASSWORD_MISMATCH : NO_PASSWORD_MISMATCH,
          ),
          expectFailure(
            performHandshake(b, { outbound: false, password: pwB, features: featuresB }),
            passwordOnOutbound ? NO_PASSWORD_MISMATCH : PASSWORD_MISMATCH,
          ),
        ]);
        assert.notEqual(ea.message, eb.message);
      } finally {
        closeQuietly(a);
        closeQuietly(b);
      }
    }
  }
});

/** Runs our handshake against a scripted peer that writes `script` and then maybe closes. */
function againstScript(
  script: Uint8Array[],
  opts: { close?: boolean; password?: Uint8Array; timeoutMs?: number; signal?: AbortSignal },
): Promise<HandshakeResult> {
  const [ours, theirs] = memoryPair();
  const result = performHandshake(ours, {
    outbound: true,
    features: featuresA,
    password: opts.password,
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
  });
  for (const chunk of script) theirs.send(chunk);
  if (opts.close) theirs.closeWrite();
  result.then(() => ours.close(), () => ours.close());
  return result;
}

const goodHeader = encodeProtocolHeader(1, 2);

Deno.test("handshake rejects a garbage header", async () => {
  const err = await expectFailure(
    againstScript([enc("GET / HTTP/1.1\r\n\r\n")], {}),
    /the protocol header was not the expected/,
  );
  assert.ok(err instanceof SyntaxError);
});

Deno.test("handshake reports a peer that closes inside the header", async () => {
  await expectFailure(
    againstScript([enc("wea")], { close: true }),
    "Cannot perform handshake: connection closed while reading protocol header (got 3 of 7 bytes)",
  );
});

Deno.test("handshake refuses a peer that only speaks protocol version 1", async () => {
  await expectFailure(
    againstScript([encodeProtocolHeader(1, 1)], {}),
    /peer does not support protocol version 2 \(it offers 1\.\.1\)/,
  );
  await expectFailure(
    againstScript([encodeProtocolHeader(3, 4)], {}),
    /Cannot negotiate protocol version/,
  );
});

Deno.test("handshake rejects an unknown encryption flag", async () => {
  await expectFailure(
    againstScript([goodHeader, Uint8Array.of(2)], {}),
    "Cannot perform handshake: encryption flag is 2, expected 0 or 1",
  );
});

Deno.test("handshake reports a peer that closes inside its public key", async () => {
  await expectFailure(
    againstScript([goodHeader, Uint8Array.of(1, 9, 9, 9)], {
      close: true,
      password: enc("pw"),
    }),
    /closed while reading public key \(got 3 of 32 bytes\)/,
  );
});

Deno.test("handshake rejects an oversized features length prefix", async () => {
  const err = await expectFailure(
    againstScript([goodHeader, Uint8Array.of(0), Uint8Array.of(0x00, 0xa0, 0x00, 0x01)], {}),
    /length prefix 10485761 exceeds the limit of 10485760/,
  );
  assert.ok(err instanceof RangeError);
});

Deno.test("handshake reports a peer that closes inside the features", async () => {
  await expectFailure(
    againstScript([goodHeader, Uint8Array.of(0), Uint8Array.of(0, 0, 0, 9, 1, 2)], {
      close: true,
    }),
    /closed while reading features \(got 6 bytes\)/,
  );
});

Deno.test("handshake times out against a peer that never sends", async () => {
  const started = performance.now();
  await expectFailure(
    againstScript([], { timeoutMs: 60 }),
    /handshake timed out after 60 ms/,
  );
  assert.ok(performance.now() - started < 2000);
  // Also a peer that stalls after the header and flag.
  await expectFailure(
    againstScript([goodHeader, Uint8Array.of(0)], { timeoutMs: 60 }),
    /timed out/,
  );
});

Deno.test("handshake times out over real TCP and the socket closes cleanly", async () => {
  const [client, server] = await tcpPair();
  try {
    await expectFailure(
      performHandshake(client, { outbound: true, features: featuresA, timeoutMs: 80 }),
      /timed out/,
    );
  } finally {
    closeQuietly(client);
    closeQuietly(server);
  }
});

Deno.test("handshake stops when its signal aborts, also when already aborted", async () => {
  const ctl = new AbortController();
  const pending = againstScript([goodHeader], { signal: ctl.signal });
  ctl.abort(new Error("router stopping"));
  const err = await expectFailure(pending, "Cannot perform handshake: aborted");
  assert.match(String((err.cause as Error).message), /router stopping/);
  await expectFailure(
    againstScript([], { signal: AbortSignal.abort() }),
    "Cannot perform handshake: aborted",
  );
});

Deno.test("frames after a handshake keep their own sequence in each direction", async () => {
  // Independent check of the result's framing state: a second pair of
  // writer/reader with the shared key, advanced past the features, must agree.
  const pw = enc("pw");
  const [a, b] = memoryPair();
  const [ra, rb] = await handshakePair(a, b, pw, pw);
  const shadowWriter = new FrameWriter({ key: ra.sessionKey, outbound: true });
  shadowWriter.frame(featuresA);
  const msg = enc("\x04hello");
  assert.deepEqual(ra.writer.frame(msg), shadowWriter.frame(msg));
  const shadowReader = new FrameReader({ key: rb.sessionKey, outbound: true });
  shadowReader.push(rb.writer.frame(enc("x"))); // message 1 from the inbound side
  assert.throws(() => shadowReader.next(), /Cannot decrypt message 0/);
  a.close();
  b.close();
});

Deno.test("handshake: the dialler sends all it can before hearing from the peer, the acceptor only its header", async () => {
  for (const password of [undefined, new TextEncoder().encode("pw")]) {
    const [ours, theirs] = memoryPair();
    const writes: number[] = [];
    const write = ours.write.bind(ours);
    ours.write = (p) => {
      writes.push(p.length);
      return write(p);
    };
    const accepting: number[] = [];
    const acceptorWrite = theirs.write.bind(theirs);
    theirs.write = (p) => {
      accepting.push(p.length);
      return acceptorWrite(p);
    };
    const done = performHandshake(ours, { outbound: true, features: featuresA, password });
    await new Promise((r) => setTimeout(r, 20)); // the peer says nothing yet
    const header = 7; // "weave" 1 2
    const flag = password ? 1 + 32 : 1;
    const features = password ? 0 : 4 + featuresA.length;
    assert.deepEqual(writes, [header + flag + features], password ? "password" : "plain");
    // The peer answers: its header at once, then (the dialler's being valid) the rest.
    const peer = performHandshake(theirs, { outbound: false, features: featuresB, password });
    const [a, b] = await Promise.all([done, peer]);
    assert.deepEqual(a.remoteFeatures, featuresB);
    assert.deepEqual(b.remoteFeatures, featuresA);
    assert.equal(writes.length, password ? 2 : 1);
    assert.deepEqual(accepting, [
      header,
      flag + (password ? 0 : 4 + featuresB.length),
      ...(password ? [4 + featuresB.length + 16] : []),
    ]);
    ours.close();
    theirs.close();
  }
});
