import assert from "node:assert/strict";
import dgram from "node:dgram";
import { parseIPv4 } from "../lib/cidr.ts";
import { discardLogger } from "../lib/log.ts";
import { Entries } from "./entry.ts";
import { createQueryHandler } from "./handler.ts";
import { decodePacket, DnsFlag, type DnsPacket, encodePacket, Rcode, rcodeOf } from "./packet.ts";
import { DnsServer, splitHostPort } from "./server.ts";
import { readExactly, tcpExchange, udpExchange, Upstream } from "./upstream.ts";

const US = 0x020000000001n;

/** A stand-in upstream nameserver on 127.0.0.1 (UDP and TCP, same port). */
async function startStub(): Promise<
  { port: number; queries: DnsPacket[]; close(): Promise<void> }
> {
  const queries: DnsPacket[] = [];
  const reply = (bytes: Uint8Array, tcp: boolean): Uint8Array => {
    const q = decodePacket(bytes);
    queries.push(q);
    const name = q.questions![0].name;
    const count = name === "big.example" && !tcp ? 1 : name === "big.example" ? 60 : 1;
    return encodePacket({
      id: q.id,
      type: "response",
      flags: DnsFlag.RECURSION_AVAILABLE | (name === "big.example" && !tcp ? DnsFlag.TRUNCATED : 0),
      questions: q.questions,
      answers: Array.from({ length: count }, (_, i) => ({
        name,
        type: "A",
        ttl: 60,
        data: `192.0.2.${i + 1}`,
      })),
    });
  };
  let udp: dgram.Socket, tcp: Deno.TcpListener;
  for (;;) {
    udp = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve));
    try {
      tcp = Deno.listen({ hostname: "127.0.0.1", port: udp.address().port });
      break;
    } catch {
      udp.close(); // that port is taken for TCP: try another
    }
  }
  const port = udp.address().port;
  udp.on("message", (msg: Uint8Array, from: { address: string; port: number }) => {
    udp.send(reply(new Uint8Array(msg), false), from.port, from.address);
  });
  const conns: Promise<void>[] = [];
  const loop = (async () => {
    for await (const conn of tcp) {
      conns.push((async () => {
        try {
          const head = await readExactly(conn, 2);
          const out = reply(await readExactly(conn, (head[0] << 8) | head[1]), true);
          await conn.write(Uint8Array.of(out.length >> 8, out.length & 255));
          await conn.write(out);
        } finally {
          conn.close();
        }
      })());
    }
  })();
  return {
    port,
    queries,
    async close() {
      udp.close();
      tcp.close();
      await loop;
      await Promise.allSettled(conns);
    },
  };
}

async function startServer(upstreamPort: number, timeoutMs = 1000) {
  const zone = new Entries();
  zone.add({ hostname: "web.weave.local.", containerID: "c1", origin: US, addr: 0x0a200001 });
  const upstream = new Upstream({
    servers: ["127.0.0.1"],
    port: upstreamPort,
    timeoutMs,
    log: discardLogger,
  });
  const handler = createQueryHandler({
    zone,
    domain: "weave.local.",
    ttl: 1,
    upstream,
    log: discardLogger,
  });
  const server = new DnsServer({
    listenAddress: "127.0.0.1:0",
    handler,
    log: discardLogger,
    tcpIdleMs: 300,
  });
  await server.start();
  const port = splitHostPort(server.address!).port;
  return { server, port };
}

const q = (name: string, id = 0x4242) =>
  encodePacket({ id, flags: DnsFlag.RECURSION_DESIRED, questions: [{ name, type: "A" }] });

Deno.test("DnsServer answers local names over UDP and TCP", async () => {
  const stub = await startStub();
  const { server, port } = await startServer(stub.port);
  try {
    for (const ex of [udpExchange, tcpExchange]) {
      const res = decodePacket(await ex(q("web.weave.local"), "127.0.0.1", port, 2000));
      assert.equal(res.id, 0x4242);
      assert.deepEqual(res.answers!.map((a) => a.data), ["10.32.0.1"]);
    }
    assert.equal(stub.queries.length, 0, "local names never go upstream");
  } finally {
    await server.stop();
    await stub.close();
  }
});

Deno.test("DnsServer forwards other names upstream and restores the client's ID", async () => {
  const stub = await startStub();
  const { server, port } = await startServer(stub.port);
  try {
    const res = decodePacket(await udpExchange(q("example.com", 77), "127.0.0.1", port, 2000));
    assert.equal(res.id, 77);
    assert.deepEqual(res.answers!.map((a) => [a.name, a.data]), [["example.com", "192.0.2.1"]]);
    assert.equal(stub.queries.length, 1);
    // A truncated UDP answer is passed on; the client's TCP retry is forwarded over TCP.
    const cut = decodePacket(await udpExchange(q("big.example"), "127.0.0.1", port, 2000));
    assert.ok(cut.flags! & DnsFlag.TRUNCATED);
    const full = decodePacket(await tcpExchange(q("big.example"), "127.0.0.1", port, 2000));
    assert.equal(full.answers!.length, 60);
    assert.equal(full.flags! & DnsFlag.TRUNCATED, 0);
  } finally {
    await server.stop();
    await stub.close();
  }
});

Deno.test("DnsServer answers SERVFAIL when the upstream is down", async () => {
  const stub = await startStub();
  const deadPort = stub.port;
  await stub.close();
  const { server, port } = await startServer(deadPort, 150);
  try {
    for (const ex of [udpExchange, tcpExchange]) {
      const res = decodePacket(await ex(q("example.com"), "127.0.0.1", port, 2000));
      assert.equal(rcodeOf(res), Rcode.SERVFAIL);
      assert.equal(res.id, 0x4242);
    }
  } finally {
    await server.stop();
  }
});

Deno.test("DnsServer survives hostile UDP and TCP input and keeps answering", async () => {
  const stub = await startStub();
  const { server, port } = await startServer(stub.port);
  const sock = dgram.createSocket("udp4");
  try {
    // Garbage, a bare header, a compression pointer to itself, a response.
    const loop = Uint8Array.of(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1);
    const reply = Uint8Array.of(0, 2, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0);
    for (const junk of [Uint8Array.of(1, 2, 3), new Uint8Array(12), loop, reply]) {
      sock.send(junk, port, "127.0.0.1");
    }
    const formerr = decodePacket(await udpExchange(loop, "127.0.0.1", port, 2000));
    assert.equal(rcodeOf(formerr), Rcode.FORMERR);
    // TCP: a length prefix promising 65535 bytes, then silence: closed after the idle time.
    const stalled = await Deno.connect({ hostname: "127.0.0.1", port });
    await stalled.write(Uint8Array.of(0xff, 0xff, 1, 2, 3));
    assert.equal(await stalled.read(new Uint8Array(10)), null);
    stalled.close();
    // A zero length closes the connection at once.
    const zero = await Deno.connect({ hostname: "127.0.0.1", port });
    await zero.write(Uint8Array.of(0, 0));
    assert.equal(await zero.read(new Uint8Array(10)), null);
    zero.close();
    const res = decodePacket(await udpExchange(q("web.weave.local"), "127.0.0.1", port, 2000));
    assert.deepEqual(res.answers!.map((a) => a.data), ["10.32.0.1"]);
  } finally {
    sock.close();
    await server.stop();
    await stub.close();
  }
});

Deno.test("query handler never throws on random or mutated input", async () => {
  const zone = Entries.from([{
    hostname: "web.weave.local.",
    containerID: "c",
    origin: US,
    addr: parseIPv4("10.32.0.1"),
    version: 0,
    tombstone: 0,
  }]);
  const handler = createQueryHandler({
    zone,
    domain: "weave.local.",
    ttl: 1,
    upstream: { exchange: () => Promise.resolve(null) },
    log: discardLogger,
  });
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  const good = q("web.weave.local");
  for (let i = 0; i < 3000; i++) {
    const bytes = i % 2 === 0
      ? Uint8Array.from({ length: Math.floor(rand() * 80) }, () => Math.floor(rand() * 256))
      : good.map((b) => (rand() < 0.1 ? Math.floor(rand() * 256) : b));
    const out = await handler(bytes, i % 3 === 0 ? "tcp" : "udp");
    if (out) assert.ok(out.length >= 12 && (out[2] & 0x80) !== 0, "only responses come out");
  }
});

Deno.test("DnsServer.start fails cleanly when the port is taken", async () => {
  const { server, port } = await startServer(9);
  try {
    const again = new DnsServer({
      listenAddress: `127.0.0.1:${port}`,
      handler: () => Promise.resolve(null),
      log: discardLogger,
    });
    await assert.rejects(() => again.start(), /Cannot listen on/);
    assert.throws(() => splitHostPort("nonsense"), SyntaxError);
    assert.deepEqual(splitHostPort(":53"), { host: "0.0.0.0", port: 53 });
    assert.deepEqual(splitHostPort("[::1]:5353"), { host: "::1", port: 5353 });
  } finally {
    await server.stop();
  }
});

Deno.test("DnsServer with allow answers only the clients it allows, over UDP and TCP", async () => {
  const seen: string[] = [];
  let open = false;
  const server = new DnsServer({
    listenAddress: "127.0.0.1:0",
    handler: (msg) => {
      const p = decodePacket(msg);
      return Promise.resolve(encodePacket({ id: p.id, type: "response", questions: p.questions }));
    },
    allow: (source) => {
      seen.push(source);
      return open;
    },
    log: discardLogger,
  });
  await server.start();
  const port = splitHostPort(server.address!).port;
  try {
    await assert.rejects(() => udpExchange(q("web.weave.local"), "127.0.0.1", port, 300));
    await assert.rejects(() => tcpExchange(q("web.weave.local"), "127.0.0.1", port, 1000));
    assert.ok(seen.length >= 2 && seen.every((s) => s === "127.0.0.1"), seen.join(","));
    open = true;
    for (const ex of [udpExchange, tcpExchange]) {
      assert.equal(
        decodePacket(await ex(q("web.weave.local"), "127.0.0.1", port, 2000)).id,
        0x4242,
      );
    }
  } finally {
    await server.stop();
  }
});
