import assert from "node:assert/strict";
import { ApiClient, encodeForm, NotRunningError } from "./client.ts";

/** A TCP port nobody listens on (bound, then released). */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("ApiClient raises NotRunningError when nothing listens on the port", async () => {
  const client = new ApiClient({ httpAddr: `127.0.0.1:${closedPort()}` });
  await assert.rejects(client.get("/status"), NotRunningError);
});

Deno.test("ApiClient raises NotRunningError when the socket file is missing", async () => {
  const client = new ApiClient({ socketPath: "/nonexistent/weave.sock" });
  assert.equal(client.target, "/nonexistent/weave.sock");
  await assert.rejects(client.post("/connect", { peer: "a" }), NotRunningError);
});

Deno.test("ApiClient treats an absolute --http-addr as a unix socket", () => {
  assert.equal(new ApiClient({ httpAddr: "/run/x.sock" }).target, "/run/x.sock");
  assert.equal(new ApiClient({ httpAddr: "127.0.0.1:6784" }).target, "127.0.0.1:6784");
  assert.throws(() => new ApiClient({}), TypeError);
});

Deno.test("ApiClient sends forms and headers and returns status and body", async () => {
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    seen.push(
      `${req.method} ${new URL(req.url).pathname} ${req.headers.get("accept")} ${await req.text()}`,
    );
    return new Response("hello", { status: 201 });
  });
  try {
    const client = new ApiClient({ httpAddr: `127.0.0.1:${server.addr.port}` });
    assert.deepEqual(await client.get("/report", { accept: "application/json" }), {
      status: 201,
      body: "hello",
    });
    assert.deepEqual(await client.post("/connect", { peer: ["a b", "c&d"], replace: "true" }), {
      status: 201,
      body: "hello",
    });
    assert.deepEqual(seen, [
      "GET /report application/json ",
      "POST /connect */* peer=a+b&peer=c%26d&replace=true",
    ]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("ApiClient gives up after its timeout with a clear message", async () => {
  const release = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
    await release.promise;
    return new Response("late");
  });
  try {
    const client = new ApiClient({ httpAddr: `127.0.0.1:${server.addr.port}` }, { timeoutMs: 100 });
    await assert.rejects(
      client.get("/status"),
      (e: Error) => !(e instanceof NotRunningError) && /within 100 ms/.test(e.message),
    );
  } finally {
    release.resolve();
    await server.shutdown();
  }
});

Deno.test("encodeForm repeats keys and skips undefined", () => {
  assert.equal(
    encodeForm({ peer: ["a", "b"], replace: undefined, x: "1 2" }),
    "peer=a&peer=b&x=1+2",
  );
});
