import assert from "node:assert/strict";
import { discardLogger, memoryLogger } from "../lib/log.ts";
import { ApiClient } from "./client.ts";
import { FakeRouterOps } from "./fake_ops.ts";
import { renderConnections, renderStatus } from "./render_status.ts";
import {
  type ApiServers,
  createApiHandler,
  MAX_BODY_BYTES,
  parseHostPort,
  startApiServers,
} from "./server.ts";
import { loadReport, readSample } from "./_samples.ts";

async function withServers(
  fn: (s: ApiServers, ops: FakeRouterOps) => Promise<void>,
  extra: { socketPath?: string } = {},
): Promise<void> {
  const ops = new FakeRouterOps(loadReport("3host", "h1"));
  const servers = await startApiServers(ops, {
    httpAddr: "127.0.0.1:0",
    statusAddr: "127.0.0.1:0",
    metricsAddr: "127.0.0.1:0",
    log: discardLogger,
    processStats: () => ({ openFds: 7 }),
    ...extra,
  });
  try {
    await fn(servers, ops);
  } finally {
    await servers.close();
  }
}

async function get(addr: string, path: string, init: RequestInit = {}) {
  const res = await fetch(`http://${addr}${path}`, init);
  return { status: res.status, body: await res.text(), type: res.headers.get("content-type") };
}

Deno.test("GET /status and sub-statuses answer the rendered texts", async () => {
  await withServers(async ({ addresses }, ops) => {
    const status = await get(addresses.http!, "/status");
    assert.equal(status.status, 200);
    assert.equal(status.type, "text/plain; charset=utf-8");
    assert.equal(status.body, readSample("3host", "h1-status.txt"));
    const conns = await get(addresses.http!, "/status/connections");
    assert.equal(conns.body, renderConnections(ops.current));
    assert.equal((await get(addresses.http!, "/status/targets")).body, "192.0.2.2\n");
    assert.match((await get(addresses.http!, "/status/peers")).body, /^02:00:00:00:00:01\(h1\)\n/);
    assert.match((await get(addresses.http!, "/status/ipam")).body, /\(1 active\)\n/);
    assert.equal((await get(addresses.http!, "/status/dns")).status, 200);
  });
});

Deno.test("GET /status answers 503 with the text while the router is not ready", async () => {
  await withServers(async ({ addresses }, ops) => {
    ops.current = { ...ops.current, Ready: false };
    const res = await get(addresses.http!, "/status");
    assert.equal(res.status, 503);
    assert.equal(res.body, renderStatus(ops.current));
    assert.equal((await get(addresses.http!, "/status/peers")).status, 503);
    assert.equal((await get(addresses.http!, "/report")).status, 200);
  });
});

Deno.test("unknown paths and sub-statuses answer 404; sections the report lacks too", async () => {
  await withServers(async ({ addresses }, ops) => {
    for (
      const path of ["/status/nope", "/status/peers/x", "/status/", "/nope", "/status/constructor"]
    ) {
      const res = await get(addresses.http!, path);
      assert.equal(res.status, 404, path);
      assert.equal(res.body, "404 page not found\n");
    }
    delete ops.current.IPAM;
    delete ops.current.DNS;
    assert.equal((await get(addresses.http!, "/status/ipam")).status, 404);
    assert.equal((await get(addresses.http!, "/status/dns")).status, 404);
  });
});

Deno.test("GET /report answers Weave's JSON or a template; bad templates get 400", async () => {
  await withServers(async ({ addresses }) => {
    const json = await get(addresses.http!, "/report", { headers: { accept: "application/json" } });
    assert.equal(json.type, "application/json");
    assert.equal(json.body, readSample("3host", "h1-report.json"));
    const version = await get(
      addresses.http!,
      "/report?format=" + encodeURIComponent("{{.Version}}"),
    );
    assert.equal(version.body, "2.8.1");
    const name = await get(
      addresses.http!,
      "/report?format=" + encodeURIComponent("{{json .Router.Name}}"),
    );
    assert.equal(name.body, '"02:00:00:00:00:01"');
    const bad = await get(addresses.http!, "/report?format=" + encodeURIComponent("{{if}}"));
    assert.equal(bad.status, 400);
    assert.match(bad.body, /^template: .*\n$/);
    const two = await get(addresses.http!, "/report?format=a&format=b");
    assert.equal(two.status, 400);
    assert.equal(two.body, "error: must supply one format parameter\n");
  });
});

Deno.test("GET /metrics answers the exposition format on every listener", async () => {
  await withServers(async ({ addresses }) => {
    for (const addr of [addresses.http!, addresses.status!, addresses.metrics!]) {
      const res = await get(addr, "/metrics");
      assert.equal(res.status, 200);
      assert.ok(res.type!.startsWith("text/plain; version=0.0.4"));
      assert.match(
        res.body,
        /^# HELP process_open_fds .*\n# TYPE process_open_fds gauge\nprocess_open_fds 7\n/,
      );
      assert.match(
        res.body,
        /\nweave_connections\{encryption="",state="failed",type="unknown"\} 1\n/,
      );
    }
  });
});

Deno.test("the status listener is read-only and the metrics listener serves only /metrics", async () => {
  await withServers(async ({ addresses }, ops) => {
    assert.equal((await get(addresses.status!, "/status")).status, 200);
    assert.equal((await get(addresses.status!, "/report?format=x")).body, "x");
    assert.equal(
      (await get(addresses.status!, "/connect", { method: "POST", body: "peer=a" })).status,
      404,
    );
    assert.equal((await get(addresses.status!, "/stop", { method: "POST" })).status, 404);
    assert.equal((await get(addresses.metrics!, "/status")).status, 404);
    assert.equal((await get(addresses.metrics!, "/report")).status, 404);
    assert.deepEqual(ops.calls, []);
  });
});

Deno.test("POST /connect and /forget pass form peers to the router", async () => {
  await withServers(async ({ addresses }, ops) => {
    const client = new ApiClient({ httpAddr: addresses.http });
    assert.deepEqual(await client.post("/connect", { peer: ["10.0.0.2", "h3:6783"] }), {
      status: 200,
      body: "",
    });
    assert.equal(
      (await client.post("/connect", { peer: "10.0.0.4", replace: "true" })).status,
      200,
    );
    assert.equal((await client.post("/forget", { peer: ["10.0.0.2"] })).status, 200);
    assert.equal((await client.post("/connect?peer=q1")).status, 200);
    assert.deepEqual(ops.calls, [
      { op: "connect", peers: ["10.0.0.2", "h3:6783"], replace: false },
      { op: "connect", peers: ["10.0.0.4"], replace: true },
      { op: "forget", peers: ["10.0.0.2"] },
      { op: "connect", peers: ["q1"], replace: false },
    ]);
  });
});

Deno.test("bad input answers 400/405/413 and the server keeps serving", async () => {
  await withServers(async ({ addresses }, ops) => {
    const client = new ApiClient({ httpAddr: addresses.http });
    const rejected = await client.post("/connect", { peer: "bad peer" });
    assert.deepEqual(rejected, { status: 400, body: 'invalid peer address "bad peer"\n' });
    const malformed = await get(addresses.http!, "/connect", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "peer=%zz",
    });
    assert.equal(malformed.status, 400);
    assert.equal((await get(addresses.http!, "/connect")).status, 405);
    assert.equal((await get(addresses.http!, "/status", { method: "POST" })).status, 405);
    const huge = await get(addresses.http!, "/connect", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "peer=" + "a".repeat(MAX_BODY_BYTES),
    });
    assert.equal(huge.status, 413);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 20; i++) c.enqueue(new Uint8Array(100_000));
        c.close();
      },
    });
    const chunked = await get(addresses.http!, "/forget", { method: "POST", body: stream });
    assert.equal(chunked.status, 413);
    assert.deepEqual(ops.calls, []);
    assert.equal((await get(addresses.http!, "/status")).status, 200);
  });
});

Deno.test("a failing router answers 500 with the message and is logged", async () => {
  const ops = new FakeRouterOps(loadReport("plain", "h1"));
  ops.report = () => {
    throw new Error("boom");
  };
  const log = memoryLogger();
  const servers = await startApiServers(ops, { httpAddr: "127.0.0.1:0", log });
  try {
    const res = await get(servers.addresses.http!, "/status");
    assert.deepEqual([res.status, res.body], [500, "boom\n"]);
    assert.match(log.lines[0], /GET \/status failed: boom/);
  } finally {
    await servers.close();
  }
});

Deno.test("the unix socket serves the control API; stale sockets are replaced, live ones refused", async () => {
  const dir = await Deno.makeTempDir();
  const socketPath = `${dir}/run/weave.sock`;
  try {
    await withServers(async ({ addresses }, ops) => {
      assert.equal(addresses.socket, socketPath);
      assert.equal((await Deno.stat(`${dir}/run`)).mode! & 0o777, 0o755);
      const client = new ApiClient({ socketPath });
      assert.equal((await client.get("/status/targets")).body, "192.0.2.2\n");
      assert.equal((await client.post("/forget", { peer: "x" })).status, 200);
      assert.deepEqual(ops.calls, [{ op: "forget", peers: ["x"] }]);
      await assert.rejects(
        startApiServers(ops, { socketPath, log: discardLogger }),
        /another process is listening/,
      );
    }, { socketPath });
    await assert.rejects(Deno.lstat(socketPath), Deno.errors.NotFound);
    // A stale socket file left behind by a dead process.
    const listener = Deno.listen({ transport: "unix", path: socketPath });
    listener.close();
    await Deno.lstat(socketPath).catch(() => Deno.writeTextFile(socketPath, ""));
    await withServers(async () => {
      const client = new ApiClient({ socketPath });
      assert.equal((await client.get("/status")).status, 200);
    }, { socketPath });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("POST /stop answers first, then stops the router", async () => {
  const ops = new FakeRouterOps(loadReport("plain", "h1"));
  const servers = await startApiServers(ops, { httpAddr: "127.0.0.1:0", log: discardLogger });
  const stopped = Promise.withResolvers<void>();
  ops.onStop = async () => {
    await servers.close();
    stopped.resolve();
  };
  const res = await new ApiClient({ httpAddr: servers.addresses.http }).post("/stop");
  assert.equal(res.status, 200);
  await stopped.promise;
  assert.deepEqual(ops.calls, [{ op: "stop" }]);
});

Deno.test("startApiServers closes what it opened when a later listener fails", async () => {
  const ops = new FakeRouterOps(loadReport("plain", "h1"));
  const first = await startApiServers(ops, { httpAddr: "127.0.0.1:0", log: discardLogger });
  try {
    await assert.rejects(
      startApiServers(ops, {
        statusAddr: "127.0.0.1:0",
        metricsAddr: first.addresses.http,
        log: discardLogger,
      }),
      /Cannot listen on/,
    );
    await assert.rejects(
      startApiServers(ops, { httpAddr: "nonsense", log: discardLogger }),
      SyntaxError,
    );
  } finally {
    await first.close();
  }
});

Deno.test("parseHostPort accepts host:port, [v6]:port and :port", () => {
  assert.deepEqual(parseHostPort("127.0.0.1:6784"), { hostname: "127.0.0.1", port: 6784 });
  assert.deepEqual(parseHostPort("[::1]:6782"), { hostname: "::1", port: 6782 });
  assert.deepEqual(parseHostPort(":6782"), { hostname: "0.0.0.0", port: 6782 });
  for (const bad of ["", "6784", "host:", "host:99999", "a:b:1", "[::1]6784"]) {
    assert.throws(() => parseHostPort(bad), SyntaxError, bad);
  }
});

Deno.test("subsystem routes: matched by pattern and method, scoped, params decoded", async () => {
  const ops = new FakeRouterOps(loadReport("plain", "h1"));
  const seen: Record<string, string>[] = [];
  ops.routes = [{
    method: "PUT",
    pattern: /^\/name\/(?<container>[^/]+)\/(?<ip>[^/]+)$/,
    scope: "control",
    handle: (_req: Request, params: Record<string, string>) => {
      seen.push(params);
      return new Response(null, { status: 204 });
    },
  }, {
    method: "GET",
    pattern: /^\/ring$/,
    scope: "status",
    handle: () => new Response("ring"),
  }];
  const control = createApiHandler(ops, "control", { log: discardLogger });
  const statusOnly = createApiHandler(ops, "status", { log: discardLogger });
  const put = await control(new Request("http://x/name/c%201/10.32.0.1", { method: "PUT" }));
  assert.equal(put.status, 204);
  assert.deepEqual(seen, [{ container: "c 1", ip: "10.32.0.1" }]);
  assert.equal((await control(new Request("http://x/name/c/1", { method: "GET" }))).status, 405);
  assert.equal((await statusOnly(new Request("http://x/name/c/1", { method: "PUT" }))).status, 404);
  assert.equal(await (await statusOnly(new Request("http://x/ring"))).text(), "ring");
  assert.equal((await control(new Request("http://x/nothing"))).status, 404);
});

Deno.test("subsystem routes: a malformed or NUL path escape answers 400, never 500", async () => {
  const ops = new FakeRouterOps(loadReport("plain", "h1"));
  let called = 0;
  ops.routes = [{
    method: "DELETE",
    pattern: /^\/peer\/(?<id>[^/]+)$/,
    scope: "control",
    handle: () => {
      called++;
      return new Response(null, { status: 204 });
    },
  }];
  const log = memoryLogger();
  const control = createApiHandler(ops, "control", { log });
  for (const path of ["/peer/%ff%00", "/peer/%e2%82", "/peer/a%00b"]) {
    const res = await control(new Request(`http://x${path}`, { method: "DELETE" }));
    assert.equal(res.status, 400, path);
    assert.match(await res.text(), /^invalid URL path: (bad percent-escape|NUL byte) in "/);
  }
  assert.equal(called, 0);
  assert.deepEqual(log.lines, [], "client errors are not logged as failures");
  const ok = await control(new Request("http://x/peer/h%C3%A9", { method: "DELETE" }));
  assert.equal(ok.status, 204);
});
