import assert from "node:assert/strict";
import { CniCode, CniError } from "./errors.ts";
import { RouterIpam } from "./router_ipam.ts";

/** A stand-in router answering as ipam/http.ts does; records requests. */
function fakeRouter(answer: (req: Request, url: URL) => Response) {
  const seen: string[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (req) => {
    const url = new URL(req.url);
    seen.push(`${req.method} ${url.pathname}${url.search}`);
    return answer(req, url);
  });
  return { server, seen, addr: `127.0.0.1:${server.addr.port}` };
}

Deno.test("RouterIpam speaks the router's IPAM routes", async () => {
  const r = fakeRouter((req, url) => {
    if (req.method === "POST") {
      return new Response(url.pathname.includes("10.40") ? "10.40.0.3/16" : "10.32.0.3/12");
    }
    if (req.method === "DELETE") return new Response(null, { status: 204 });
    if (url.pathname === "/ip") {
      return Response.json({ owned: [{ containerid: "c1", addrs: ["10.32.0.3/12"] }] });
    }
    return Response.json({ IPAM: { Status: "ready" } });
  });
  try {
    const ipam = new RouterIpam(r.addr);
    assert.equal(await ipam.allocate("c1"), "10.32.0.3/12");
    assert.equal(await ipam.allocate("c1", "10.40.0.0/16"), "10.40.0.3/16");
    await ipam.release("c1");
    assert.deepEqual(await ipam.owned(), [{ containerid: "c1", addrs: ["10.32.0.3/12"] }]);
    assert.equal(await ipam.status(), "ready");
    assert.deepEqual(r.seen, [
      "POST /ip/c1?timeout=20s",
      "POST /ip/c1/10.40.0.0/16?timeout=20s",
      "DELETE /ip/c1",
      "GET /ip",
      "GET /report",
    ]);
  } finally {
    await r.server.shutdown();
  }
});

Deno.test("RouterIpam maps the router's refusals: 503 → 11, 400 → 100, nothing held → released, no owners → []", async () => {
  const r = fakeRouter((req, url) => {
    if (url.pathname === "/ip") return Response.json({ owned: null });
    if (url.pathname === "/report") return Response.json({ Router: {} });
    if (req.method === "POST" && url.pathname.endsWith("/wait")) {
      return new Response("Cannot allocate: IPAM status: awaiting consensus", { status: 503 });
    }
    if (req.method === "DELETE" && url.pathname === "/ip/gone") {
      return new Response("Delete: no addresses for gone", { status: 400 });
    }
    return new Response("invalid subnet", { status: 400 });
  });
  try {
    const ipam = new RouterIpam(r.addr);
    await assert.rejects(
      ipam.allocate("wait"),
      (e: unknown) =>
        e instanceof CniError && e.code === 11 && /awaiting consensus/.test(e.message),
    );
    await assert.rejects(
      ipam.allocate("c1"),
      (e: unknown) =>
        e instanceof CniError && e.code === CniCode.IpamRefused && /invalid subnet/.test(e.message),
    );
    await assert.rejects(
      ipam.release("c1"),
      (e: unknown) => e instanceof CniError && e.code === CniCode.IpamRefused,
    );
    await ipam.release("gone");
    assert.deepEqual(await ipam.owned(), []);
    assert.equal(await ipam.status(), undefined, "no IPAM section: IPAM off");
  } finally {
    await r.server.shutdown();
  }
});

Deno.test("RouterIpam: a router that does not answer is code 11 for every call", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const ipam = new RouterIpam(`127.0.0.1:${port}`);
  for (
    const call of [
      () => ipam.allocate("c1"),
      () => ipam.release("c1"),
      () => ipam.owned(),
      () => ipam.status(),
    ]
  ) {
    await assert.rejects(call(), (e: unknown) => {
      assert.ok(e instanceof CniError && e.code === CniCode.TryAgainLater, String(e));
      assert.match(e.message, /does not answer \(is weave running\?\)/);
      return true;
    });
  }
});
