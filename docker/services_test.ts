import assert from "node:assert/strict";
import { discardLogger } from "../lib/log.ts";
import type { Netlink } from "../sys/netlink/socket.ts";
import { parseDockerConfig } from "./config.ts";
import { startDockerServices } from "./services.ts";

/** The services never touch netlink unless Docker asks for an endpoint. */
const NO_NETLINK = {} as Netlink;

Deno.test("startDockerServices: proxy and plugin sockets up, /proxyaddrs lists the proxy, all gone after", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = parseDockerConfig(
      new Map([["H", `unix://${dir}/weave.sock`], ["plugin-dir", `${dir}/plugins`], [
        "docker-api",
        `unix://${dir}/no-engine.sock`,
      ]]),
      new Map(),
      {},
      { noDns: true },
    );
    const services = await startDockerServices({
      config,
      api: { httpAddr: "127.0.0.1:1" },
      log: discardLogger,
      netlink: NO_NETLINK,
    });
    assert.deepEqual(services.proxyAddresses, [`unix://${dir}/weave.sock`]);
    assert.deepEqual(services.pluginSockets, [
      `${dir}/plugins/weave.sock`,
      `${dir}/plugins/weavemesh.sock`,
    ]);
    assert.deepEqual(services.report(), {
      Proxy: { Addresses: [`unix://${dir}/weave.sock`] },
      Plugin: {
        Config: {
          Socket: `${dir}/plugins/weave.sock`,
          MeshSocket: `${dir}/plugins/weavemesh.sock`,
        },
        DriverName: "weave",
        MeshDriverName: "weavemesh",
      },
    });
    const route = services.routes[0];
    const res = await route.handle(
      new Request("http://x/proxyaddrs"),
      {},
      new URL("http://x/proxyaddrs"),
    );
    assert.equal(await res.text(), `unix://${dir}/weave.sock`);

    const client = Deno.createHttpClient({
      proxy: { transport: "unix", path: `${dir}/plugins/weavemesh.sock` },
    });
    const activate = await fetch("http://plugin/Plugin.Activate", { method: "POST", client });
    assert.deepEqual(await activate.json(), { Implements: ["NetworkDriver", "IpamDriver"] });
    client.close();

    // No engine behind the proxy: Docker's words, status 502.
    const pc = Deno.createHttpClient({ proxy: { transport: "unix", path: `${dir}/weave.sock` } });
    const ps = await fetch("http://docker/containers/json", { client: pc });
    assert.equal(ps.status, 502);
    assert.match((await ps.json()).message, /^Cannot connect to the Docker daemon at unix:\/\//);
    pc.close();

    await services[Symbol.asyncDispose]();
    for (const f of ["weave.sock", "plugins/weave.sock", "plugins/weavemesh.sock"]) {
      await assert.rejects(() => Deno.stat(`${dir}/${f}`), Deno.errors.NotFound, f);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
