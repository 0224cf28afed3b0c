import assert from "node:assert/strict";
import { freePortOnAll, HeldPort, loopbackHosts } from "./loopback.ts";

Deno.test("HeldPort holds one port on every host until it is taken, then hands it over", () => {
  const hosts = loopbackHosts(2);
  using held = HeldPort.on(hosts);
  assert.ok(held.port >= 20_000 && held.port < 32_000, `port ${held.port}`);
  for (const hostname of hosts) {
    assert.throws(() => Deno.listen({ hostname, port: held.port }), Deno.errors.AddrInUse);
  }
  const taken = held.take("127.0.0.1");
  assert.equal(taken.addr.port, held.port);
  taken.close();
  // Taken once: a new listener on the same port (a router restarted on that host).
  const again = held.take("127.0.0.1");
  assert.equal(again.addr.port, held.port);
  again.close();
  held[Symbol.dispose]();
  const free = Deno.listen({ hostname: "127.0.0.2", port: held.port });
  free.close();
});

Deno.test("freePortOnAll releases the port it found", () => {
  const port = freePortOnAll(["127.0.0.1"]);
  Deno.listen({ hostname: "127.0.0.1", port }).close();
});
