import assert from "node:assert/strict";
import {
  DockerApiError,
  DockerClient,
  DockerUnavailableError,
  NoSuchContainerError,
} from "./client.ts";
import { dockerEndpointFrom, formatDockerHost, parseDockerHost } from "./endpoint.ts";

/** A stand-in engine on a unix socket answering from `handle`. */
async function fakeEngine(handle: (req: Request) => Response | Promise<Response>) {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/docker.sock`;
  const server = Deno.serve({ path, onListen() {} }, handle);
  return {
    client: new DockerClient({ kind: "unix", path }),
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("parseDockerHost: unix, bare path and tcp forms; bad ones are named", () => {
  assert.deepEqual(parseDockerHost("unix:///var/run/docker.sock"), {
    kind: "unix",
    path: "/var/run/docker.sock",
  });
  assert.deepEqual(parseDockerHost("/x.sock"), { kind: "unix", path: "/x.sock" });
  assert.deepEqual(parseDockerHost("tcp://10.0.0.1:2375"), {
    kind: "tcp",
    host: "10.0.0.1",
    port: 2375,
  });
  assert.deepEqual(parseDockerHost("tcp://[::1]:2375"), { kind: "tcp", host: "::1", port: 2375 });
  assert.equal(formatDockerHost(parseDockerHost("tcp://[::1]:2375")), "tcp://[::1]:2375");
  for (const bad of ["unix://rel.sock", "tcp://h", "tcp://h:0", "ssh://x", ""]) {
    assert.throws(() => parseDockerHost(bad), SyntaxError, bad);
  }
});

Deno.test("dockerEndpointFrom: -H beats DOCKER_HOST beats the default", () => {
  assert.equal(formatDockerHost(dockerEndpointFrom(undefined, {})), "unix:///var/run/docker.sock");
  const env = { DOCKER_HOST: "unix:///e.sock" };
  assert.equal(formatDockerHost(dockerEndpointFrom(undefined, env)), "unix:///e.sock");
  assert.equal(formatDockerHost(dockerEndpointFrom("tcp://h:1", env)), "tcp://h:1");
  assert.equal(
    formatDockerHost(dockerEndpointFrom(undefined, { DOCKER_HOST: "" })),
    "unix:///var/run/docker.sock",
  );
});

Deno.test("DockerClient: no engine at the socket is a DockerUnavailableError in Docker's words", async () => {
  const client = new DockerClient({ kind: "unix", path: "/nonexistent/docker.sock" });
  await assert.rejects(() => client.inspectContainer("web1"), (e: Error) => {
    assert.ok(e instanceof DockerUnavailableError);
    assert.equal(
      e.message,
      "Cannot connect to the Docker daemon at unix:///nonexistent/docker.sock. " +
        "Is the docker daemon running?",
    );
    return true;
  });
});

Deno.test("DockerClient.inspectContainer: maps the fields weave uses; 404 is NoSuchContainerError", async () => {
  await using engine = await fakeEngine((req) => {
    const path = new URL(req.url).pathname;
    if (path === "/containers/web1/json") {
      return Response.json({
        Id: "ab".repeat(32),
        Name: "/web1",
        State: { Running: true, Pid: 4242 },
        Config: { Hostname: "web1", Domainname: "weave.local", Labels: { a: "b" }, Env: ["X=1"] },
        HostConfig: { NetworkMode: "none" },
        NetworkSettings: { Networks: { weave: { NetworkID: "n1", IPAddress: "10.32.0.3" } } },
      });
    }
    return Response.json({ message: `No such container: ${path.split("/")[2]}` }, {
      status: 404,
    });
  });
  const c = await engine.client.inspectContainer("web1");
  assert.deepEqual(c, {
    id: "ab".repeat(32),
    name: "web1",
    hostname: "web1",
    domainname: "weave.local",
    pid: 4242,
    running: true,
    networkMode: "none",
    labels: { a: "b" },
    env: ["X=1"],
    networks: [{ name: "weave", networkId: "n1", ipAddress: "10.32.0.3" }],
  });
  await assert.rejects(() => engine.client.inspectContainer("nosuch"), (e: Error) => {
    assert.ok(e instanceof NoSuchContainerError);
    assert.equal(e.message, "No such container: nosuch");
    return true;
  });
  await assert.rejects(() => engine.client.inspectContainer("a/b"), TypeError);
});

Deno.test("DockerClient: an engine error other than 404 keeps its status and message", async () => {
  await using engine = await fakeEngine(() =>
    Response.json({ message: "server is sad" }, { status: 500 })
  );
  await assert.rejects(() => engine.client.listContainers(), (e: Error) => {
    assert.ok(e instanceof DockerApiError && !(e instanceof NoSuchContainerError));
    assert.equal(e.status, 500);
    assert.match(e.message, /server is sad/);
    return true;
  });
});

Deno.test("DockerClient.events: streams events split across chunks, stops on abort", async () => {
  const enc = new TextEncoder();
  let filters = "";
  await using engine = await fakeEngine((req) => {
    filters = new URL(req.url).searchParams.get("filters") ?? "";
    const body = new ReadableStream({
      start(c) {
        c.enqueue(enc.encode('{"Type":"container","Action":"start","Actor":{"ID":"c1",'));
        c.enqueue(enc.encode('"Attributes":{"name":"web1"}}}\n{"Type":"container",'));
        c.enqueue(enc.encode('"Action":"die","Actor":{"ID":"c1"}}\n'));
        // stays open, like the engine's stream
      },
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  });
  const ac = new AbortController();
  const got = [];
  for await (const ev of engine.client.events({ signal: ac.signal })) {
    got.push(ev);
    if (got.length === 2) ac.abort();
  }
  assert.deepEqual(JSON.parse(filters), { type: ["container"] });
  assert.deepEqual(got, [
    { type: "container", action: "start", id: "c1", attributes: { name: "web1" } },
    { type: "container", action: "die", id: "c1", attributes: {} },
  ]);
});
