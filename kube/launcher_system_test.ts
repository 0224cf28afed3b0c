import assert from "node:assert/strict";
import { FileStore, ipamStatePath } from "../ipam/mod.ts";
import { memoryLogger } from "../lib/log.ts";
import { loadState, statePath } from "../router/state_store.ts";
import { parseLaunchEnv } from "./launch_config.ts";
import { lastPeersPath, systemSeams } from "./launcher_system.ts";
import { adoptWeaveState } from "./upgrade.ts";
import { readWeaveState } from "./weave_state.ts";

const fixture = new URL("../testdata/state-boltdb/h1-weavedata.db", import.meta.url);

Deno.test("systemSeams: a taken-over state is what the router's own stores then load", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weave-kube-sys-" });
  try {
    const log = memoryLogger();
    const s = systemSeams({
      env: { KUBECONFIG: `${dir}/none` },
      log,
      signal: new AbortController().signal,
      self: (args) => args,
    });
    assert.equal(s.client, undefined);
    assert.ok(log.lines.some((l) => /only KUBE_PEERS can give the peers/.test(l)));
    const config = parseLaunchEnv({ DB_PREFIX: `${dir}/db/weave-net` });
    assert.equal(await s.hasOwnState(config), false);
    const weave = readWeaveState(Deno.readFileSync(fixture));
    await s.persistAdopted(config, adoptWeaveState(weave));
    assert.equal(await s.hasOwnState(config), true);
    assert.deepEqual(await loadState(statePath(config.dbPrefix)), {
      peerName: "02:00:00:00:00:01",
    });
    const ipam = (await new FileStore(ipamStatePath(config.dbPrefix)).load())!;
    assert.equal(ipam.peerName, weave.peerName);
    assert.deepEqual(ipam.ring, weave.ring);
    assert.deepEqual(ipam.owned, weave.owned);
    // Last peers: absent, saved, read back; a damaged file reads as absent.
    assert.equal(await s.loadLastPeers(config), undefined);
    await s.saveLastPeers(config, { peers: ["192.0.2.2"], consensus: 2 });
    assert.deepEqual(await s.loadLastPeers(config), { peers: ["192.0.2.2"], consensus: 2 });
    await Deno.writeTextFile(lastPeersPath(config), "{");
    assert.equal(await s.loadLastPeers(config), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("systemSeams: the router child's exit code and environment", async () => {
  const s = systemSeams({
    env: { KUBERNETES_SERVICE_HOST: "" },
    log: memoryLogger(),
    signal: new AbortController().signal,
    self: (
      args,
    ) => ["sh", "-c", 'test "$WEAVE_PASSWORD" = pw && test "$1" = --foreground && exit 7', ...args],
  });
  const p = s.startRouter({ args: ["--port=6783"], env: { WEAVE_PASSWORD: "pw" } });
  assert.equal(await p.exited, 7);
  const long = s.startRouter({ args: [], env: {} });
  long.stop();
  assert.equal(typeof (await long.exited), "number");
});
