import assert from "node:assert/strict";
import { discardLogger } from "../lib/log.ts";
import type { ContainerInfo, DockerEvent } from "./client.ts";
import { BufReader, formatHead, parseHead, readBody, requestFraming, writeAll } from "./_http1.ts";
import { ATTACH_LABEL, DEFAULT_PROXY_CONFIG, type ProxyConfig } from "./proxy_rewrite.ts";
import { DockerProxy, type ProxyEffects } from "./proxy_server.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** What the fake engine saw: request line, headers, body. */
interface Seen {
  start: string;
  lines: string[];
  body: string;
}

type EngineHandler = (req: Seen, conn: Deno.Conn, reader: BufReader) => Promise<"keep" | "done">;

/** A raw HTTP/1.1 engine on a unix socket, answering through `handle`. */
function fakeEngine(path: string, handle: EngineHandler) {
  const seen: Seen[] = [];
  const listener = Deno.listen({ transport: "unix", path });
  const conns = new Set<Deno.Conn>();
  let closed = false;
  const serving = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      (async () => {
        const r = new BufReader(conn);
        try {
          for (let text = await r.readHead(); text; text = await r.readHead()) {
            const h = parseHead(text);
            const body = dec.decode(await readBody(r, requestFraming(h)));
            const req = { start: h.start, lines: h.lines, body };
            seen.push(req);
            if ((await handle(req, conn, r)) === "done") break;
          }
        } catch {
          /* client went away */
        } finally {
          conns.delete(conn);
          try {
            conn.close();
          } catch { /* closed */ }
        }
      })();
    }
  })();
  return {
    seen,
    async close() {
      if (closed) return;
      closed = true;
      listener.close();
      for (const c of conns) c.close();
      await serving;
    },
  };
}

function answer(conn: Deno.Conn, status: string, headers: string[], body = ""): Promise<void> {
  const b = enc.encode(body);
  const head = formatHead({
    start: `HTTP/1.1 ${status}`,
    lines: [
      ...headers,
      ...(headers.some((h) => /^transfer-encoding/i.test(h))
        ? []
        : [`Content-Length: ${b.length}`]),
    ],
  });
  return writeAll(conn, new Uint8Array([...head, ...b]));
}

const CONTAINER: ContainerInfo = {
  id: "c0ffee".padEnd(64, "0"),
  name: "web1",
  hostname: "web1",
  domainname: "weave.local",
  pid: 4242,
  running: true,
  networkMode: "default",
  labels: { [ATTACH_LABEL]: "net:default" },
  env: [],
  networks: [],
};

function effects(log: string[], overrides: Partial<ProxyEffects> = {}): ProxyEffects {
  return {
    dns: () => Promise.resolve({ domain: "weave.local.", address: "169.254.53.1" }),
    inspect: () => Promise.resolve(CONTAINER),
    attach: (
      info,
      cidrs,
    ) => (log.push(`attach ${info.pid} ${cidrs.join(" ")}`), Promise.resolve(["10.32.0.5/12"])),
    kill: (id) => (log.push(`kill ${id}`), Promise.resolve()),
    ...overrides,
  };
}

/** A proxy in front of a fake engine, and a raw client of the proxy. */
async function setup(
  handle: EngineHandler,
  opts: { config?: Partial<ProxyConfig>; effects?: Partial<ProxyEffects>; engineMode?: number } =
    {},
) {
  const dir = await Deno.makeTempDir();
  const enginePath = `${dir}/docker.sock`;
  let engine = fakeEngine(enginePath, handle);
  if (opts.engineMode !== undefined) await Deno.chmod(enginePath, opts.engineMode);
  const log: string[] = [];
  const proxy = await DockerProxy.start({
    listen: `${dir}/weave.sock`,
    upstream: { kind: "unix", path: enginePath },
    config: { ...DEFAULT_PROXY_CONFIG, ...opts.config },
    effects: effects(log, opts.effects),
    log: discardLogger,
  });
  const client = async () => {
    const conn = await Deno.connect({ transport: "unix", path: `${dir}/weave.sock` });
    const r = new BufReader(conn);
    return {
      conn,
      r,
      async send(text: string) {
        await writeAll(conn, enc.encode(text));
      },
      async response() {
        const h = parseHead((await r.readHead())!);
        const status = Number(h.start.split(" ")[1]);
        const { responseFraming } = await import("./_http1.ts");
        const body = dec.decode(await readBody(r, responseFraming(h, "GET", status)));
        return { status, head: h, body };
      },
    };
  };
  return {
    dir,
    engine: () => engine,
    log,
    client,
    async restartEngine(h: EngineHandler) {
      await engine.close();
      await Deno.remove(enginePath).catch(() => {});
      engine = fakeEngine(enginePath, h);
    },
    async stopEngine() {
      await engine.close();
      await Deno.remove(enginePath).catch(() => {});
    },
    async [Symbol.asyncDispose]() {
      await proxy[Symbol.asyncDispose]();
      await engine.close().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const ok = (body: string) => async (_req: Seen, conn: Deno.Conn) => {
  await answer(conn, "200 OK", ["Content-Type: application/json"], body);
  return "keep" as const;
};

Deno.test("DockerProxy: other calls pass unchanged, several on one kept-alive connection", async () => {
  await using s = await setup(ok('{"ok":true}'));
  const c = await s.client();
  await c.send("GET /v1.41/containers/json?all=1 HTTP/1.1\r\nHost: docker\r\nX-Custom: 1\r\n\r\n");
  assert.deepEqual((await c.response()).body, '{"ok":true}');
  await c.send(
    "POST /v1.41/images/load HTTP/1.1\r\nHost: docker\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5\r\nhello\r\n0\r\n\r\n",
  );
  assert.equal((await c.response()).status, 200);
  c.conn.close();
  const [list, load] = s.engine().seen;
  assert.deepEqual(list, {
    start: "GET /v1.41/containers/json?all=1 HTTP/1.1",
    lines: ["Host: docker", "X-Custom: 1"],
    body: "",
  });
  assert.equal(load.body, "hello");
  assert.ok(load.lines.includes("Transfer-Encoding: chunked"), "framing forwarded as sent");
});

Deno.test("DockerProxy: create is rewritten before the engine sees it; a bad WEAVE_CIDR is refused", async () => {
  await using s = await setup(ok('{"Id":"x"}'));
  const c = await s.client();
  const body = JSON.stringify({ Image: "busybox", HostConfig: { NetworkMode: "default" } });
  await c.send(
    `POST /v1.41/containers/create?name=web1 HTTP/1.1\r\nHost: docker\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
  assert.equal((await c.response()).status, 200);
  const sent = JSON.parse(s.engine().seen[0].body);
  assert.equal(sent.Hostname, "web1");
  assert.deepEqual(sent.HostConfig.Dns, ["169.254.53.1"]);
  assert.ok(s.engine().seen[0].lines.includes(`Content-Length: ${JSON.stringify(sent).length}`));

  const bad = JSON.stringify({ Image: "busybox", Env: ["WEAVE_CIDR=bogus"] });
  await c.send(
    `POST /containers/create HTTP/1.1\r\nHost: docker\r\nContent-Length: ${bad.length}\r\n\r\n${bad}`,
  );
  const refused = await c.response();
  assert.equal(refused.status, 500);
  assert.deepEqual(JSON.parse(refused.body), { message: "invalid WEAVE_CIDR: bogus" });
  assert.equal(s.engine().seen.length, 1, "the refused create never reached the engine");
  c.conn.close();
});

Deno.test("DockerProxy: start answers after the attach; a failed attach kills and says why", async () => {
  const noContent = async (_req: Seen, conn: Deno.Conn) => {
    await answer(conn, "204 No Content", []);
    return "keep" as const;
  };
  await using s = await setup(noContent);
  const c = await s.client();
  await c.send("POST /v1.41/containers/web1/start HTTP/1.1\r\nHost: docker\r\n\r\n");
  assert.equal((await c.response()).status, 204);
  assert.deepEqual(s.log, ["attach 4242 net:default"]);
  c.conn.close();

  await using f = await setup(noContent, {
    effects: { attach: () => Promise.reject(new Error("no space left")) },
  });
  const c2 = await f.client();
  await c2.send("POST /containers/web1/start HTTP/1.1\r\nHost: docker\r\n\r\n");
  const failed = await c2.response();
  assert.equal(failed.status, 500);
  assert.match(
    JSON.parse(failed.body).message,
    /^Cannot attach container c0ffee0* to weave: no space left$/,
  );
  assert.deepEqual(f.log, [`kill ${CONTAINER.id}`]);
  c2.conn.close();
});

Deno.test("DockerProxy: --rewrite-inspect shows the attached address", async () => {
  const engine = async (req: Seen, conn: Deno.Conn) => {
    if (req.start.includes("/start")) await answer(conn, "204 No Content", []);
    else {
      await answer(conn, "200 OK", [
        "Content-Type: application/json",
        "Transfer-Encoding: chunked",
      ]);
      const json = JSON.stringify({ Id: CONTAINER.id, NetworkSettings: { IPAddress: "" } });
      await writeAll(conn, enc.encode(`${json.length.toString(16)}\r\n${json}\r\n0\r\n\r\n`));
    }
    return "keep" as const;
  };
  await using s = await setup(engine, { config: { rewriteInspect: true } });
  const c = await s.client();
  await c.send("POST /containers/web1/start HTTP/1.1\r\nHost: docker\r\n\r\n");
  await c.response();
  await c.send("GET /v1.41/containers/web1/json HTTP/1.1\r\nHost: docker\r\n\r\n");
  const inspect = await c.response();
  assert.deepEqual(JSON.parse(inspect.body).NetworkSettings, {
    IPAddress: "10.32.0.5",
    IPPrefixLen: 12,
  });
  c.conn.close();
});

Deno.test("DockerProxy: a hijacked attach (101) carries raw bytes both ways, half-close included", async () => {
  const engine = async (_req: Seen, conn: Deno.Conn, r: BufReader) => {
    await writeAll(
      conn,
      enc.encode(
        "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n" +
          "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
      ),
    );
    // Echo upper-cased until the client half-closes, then say bye and close.
    for (let b = await r.readSome(); b; b = await r.readSome()) {
      await writeAll(conn, enc.encode(dec.decode(b).toUpperCase()));
    }
    await writeAll(conn, enc.encode("BYE"));
    return "done" as const;
  };
  await using s = await setup(engine);
  const c = await s.client();
  await c.send(
    "POST /v1.41/containers/web1/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: docker\r\n" +
      "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
  );
  const head = parseHead((await c.r.readHead())!);
  assert.equal(head.start, "HTTP/1.1 101 UPGRADED");
  await c.send("hello ");
  await c.send("world");
  await c.conn.closeWrite();
  let got = "";
  for (let b = await c.r.readSome(); b; b = await c.r.readSome()) got += dec.decode(b);
  assert.equal(got, "HELLO WORLDBYE");
  c.conn.close();
});

Deno.test("DockerProxy: no engine is 502 in Docker's words; the next call after it returns works", async () => {
  await using s = await setup(ok("[]"));
  await s.stopEngine();
  const c = await s.client();
  await c.send("GET /containers/json HTTP/1.1\r\nHost: docker\r\n\r\n");
  const down = await c.response();
  assert.equal(down.status, 502);
  assert.match(
    JSON.parse(down.body).message,
    /^Cannot connect to the Docker daemon at unix:\/\/.*docker\.sock\. Is the docker daemon running\?$/,
  );
  await s.restartEngine(ok('["back"]'));
  await c.send("GET /containers/json HTTP/1.1\r\nHost: docker\r\n\r\n");
  assert.equal((await c.response()).body, '["back"]');
  c.conn.close();
});

Deno.test("DockerProxy: containers Docker starts itself are attached from its events, once each", async () => {
  const events: DockerEvent[] = [
    { type: "container", action: "start", id: CONTAINER.id, attributes: {} },
    { type: "container", action: "start", id: CONTAINER.id, attributes: {} },
  ];
  const other = { ...CONTAINER, id: "other".padEnd(64, "0"), pid: 77, labels: {} };
  let release = () => {};
  const held = new Promise<void>((r) => release = r);
  await using s = await setup(ok("{}"), {
    effects: {
      running: () => Promise.resolve([other.id]),
      inspect: (id) => Promise.resolve(id === other.id ? other : CONTAINER),
      async *events(signal) {
        for (const e of events) yield e;
        await held;
        if (!signal.aborted) yield { ...events[0], action: "die" };
      },
    },
  });
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(s.log, ["attach 4242 net:default"], "the unmarked running one is left alone");
  release();
});

Deno.test("DockerProxy: its socket gets the engine socket's mode, as Weave's", async () => {
  await using s = await setup(ok("{}"), { engineMode: 0o660 });
  assert.equal((await Deno.stat(`${s.dir}/weave.sock`)).mode! & 0o777, 0o660);
});

Deno.test("DockerProxy: an upstream connection the engine closed while idle is replaced, the request sent again", async () => {
  let n = 0;
  await using s = await setup(async (_req, conn) => {
    await answer(conn, "200 OK", ["Content-Type: application/json"], `{"n":${++n}}`);
    return "done"; // closes, as an idle timeout would
  });
  const c = await s.client();
  await c.send("GET /containers/json HTTP/1.1\r\nHost: docker\r\n\r\n");
  assert.equal((await c.response()).body, '{"n":1}');
  await new Promise((r) => setTimeout(r, 20));
  await c.send("GET /containers/json HTTP/1.1\r\nHost: docker\r\n\r\n");
  assert.deepEqual([(await c.response()).body, s.engine().seen.length], ['{"n":2}', 2]);
  c.conn.close();
});
