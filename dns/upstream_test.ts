import assert from "node:assert/strict";
import dgram from "node:dgram";
import { discardLogger } from "../lib/log.ts";
import { decodePacket, DnsFlag, encodePacket } from "./packet.ts";
import { parseResolvConf, Upstream } from "./upstream.ts";

Deno.test("parseResolvConf reads nameservers, search and ndots; skips junk", () => {
  const conf = parseResolvConf(
    [
      "# comment",
      "nameserver 10.0.0.2",
      "nameserver   fe80::1%eth0 ",
      "nameserver not-an-ip",
      "nameserver 300.1.1.1",
      "nameserver 192.168.1.1 # trailing comment",
      "search a.example b.example",
      "options ndots:5 timeout:2",
      "garbage line",
      "",
    ].join("\n"),
  );
  assert.deepEqual(conf, {
    servers: ["10.0.0.2", "fe80::1%eth0", "192.168.1.1"],
    search: ["a.example", "b.example"],
    ndots: 5,
  });
  assert.deepEqual(parseResolvConf("domain x.example\n").search, ["x.example"]);
  assert.deepEqual(parseResolvConf(""), { servers: [], search: [], ndots: 1 });
});

Deno.test("Upstream.servers re-reads resolv.conf when it changes and leaves out our address", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/resolv.conf`;
  try {
    let now = 0;
    const up = new Upstream({
      resolvConf: path,
      filterAddress: "172.17.0.1",
      log: discardLogger,
      now: () => now,
    });
    assert.equal(up.servers(), null, "no file: none, as Weave reports it");
    await Deno.writeTextFile(path, "nameserver 172.17.0.1\nnameserver 8.8.8.8\n");
    assert.equal(up.servers(), null, "not re-checked within 5 s");
    now += 5000;
    assert.deepEqual(up.servers(), ["8.8.8.8"]);
    await Deno.writeTextFile(path, "nameserver 1.1.1.1\n");
    await Deno.utime(path, new Date(), new Date(Date.now() + 10_000));
    now += 5000;
    assert.deepEqual(up.servers(), ["1.1.1.1"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Upstream.exchange tries each server in turn with a fresh ID", async () => {
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", resolve));
  const port = sock.address().port;
  const seenIds: number[] = [];
  sock.on("message", (msg: Uint8Array, from: { address: string; port: number }) => {
    const q = decodePacket(new Uint8Array(msg));
    seenIds.push(q.id!);
    const res = encodePacket({ ...q, type: "response", flags: DnsFlag.RECURSION_AVAILABLE });
    sock.send(res, from.port, from.address);
  });
  try {
    // Nothing listens on 127.0.0.2 at that port: the first server times out.
    const up = new Upstream({
      servers: ["127.0.0.2", "127.0.0.1"],
      port,
      timeoutMs: 150,
      log: discardLogger,
    });
    const query = encodePacket({ id: 999, questions: [{ name: "example.com", type: "A" }] });
    const res = await up.exchange(query, "udp");
    assert.ok(res);
    assert.equal(decodePacket(res).id, 999);
    assert.equal(seenIds.length, 1);
    const none = new Upstream({ servers: [], log: discardLogger });
    assert.equal(await none.exchange(query, "udp"), null);
  } finally {
    sock.close();
  }
});
