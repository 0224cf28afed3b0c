import assert from "node:assert/strict";
import { dialFrom } from "./node_dial.ts";

Deno.test("dialFrom binds the local address and carries bytes both ways", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepted = listener.accept();
  const stream = await dialFrom("127.0.0.1", port, "127.0.0.7");
  const server = await accepted;
  try {
    assert.equal((server.remoteAddr as Deno.NetAddr).hostname, "127.0.0.7");
    assert.equal(stream.localAddr.hostname, "127.0.0.7");
    assert.equal(stream.remoteAddr.port, port);
    const big = crypto.getRandomValues(new Uint8Array(60_000));
    await stream.write(big);
    const got = new Uint8Array(big.length);
    for (let off = 0; off < got.length;) off += (await server.read(got.subarray(off)))!;
    assert.deepEqual(got, big);
    await server.write(new Uint8Array([1, 2, 3]));
    const buf = new Uint8Array(2);
    assert.equal(await stream.read(buf), 2);
    assert.deepEqual([...buf], [1, 2]);
    assert.equal(await stream.read(buf), 1);
    server.close();
    assert.equal(await stream.read(buf), null);
  } finally {
    stream.close();
    listener.close();
  }
});

Deno.test("dialFrom rejects when nothing listens", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  await assert.rejects(() => dialFrom("127.0.0.1", port, "127.0.0.1"));
});
