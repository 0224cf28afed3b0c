import assert from "node:assert/strict";
import { memoryLogger } from "../lib/log.ts";
import { StandInApi } from "../tests/kube_api/server.ts";
import { KubeClient } from "./client.ts";
import type { LaunchConfig, RouterLaunch } from "./launch_config.ts";
import { type LauncherSeams, runKubeLaunch } from "./launcher.ts";
import { lockKey, PEER_LIST_KEY, readPeerList } from "./peer_list.ts";
import type { KubePeers } from "./peers.ts";
import type { AdoptedState } from "./upgrade.ts";

const ME = "02:00:00:00:00:01";

function node(name: string, ip: string) {
  return { metadata: { name }, status: { addresses: [{ type: "InternalIP", address: ip }] } };
}

async function waitFor(cond: () => boolean, what: string, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Seams with a fake router; the API is the stand-in. */
function seams(api: StandInApi | undefined, env: Record<string, string>) {
  const ac = new AbortController();
  const log = memoryLogger();
  const calls = {
    launches: [] as RouterLaunch[],
    connects: [] as string[][],
    rmpeers: [] as string[],
    adopted: [] as AdoptedState[],
    saved: [] as KubePeers[],
    cni: 0,
  };
  let lastPeers: KubePeers | undefined;
  let exitRouter: (code: number) => void = () => {};
  const client = api ? new KubeClient({ server: api.url, token: "test-token" }) : undefined;
  const s: LauncherSeams = {
    env,
    log,
    client,
    ownAddresses: () => ["192.0.2.1", "127.0.0.1"],
    startRouter(launch) {
      calls.launches.push(launch);
      let exit!: (code: number) => void;
      const exited = new Promise<number>((r) => (exit = r));
      exitRouter = (code) => exit(code);
      return { exited, stop: () => exit(0) };
    },
    router: () => ({
      ready: () => Promise.resolve(true),
      peerName: () => Promise.resolve(ME),
      rmpeer(name) {
        calls.rmpeers.push(name);
        return Promise.resolve(`65536 IPs taken over from ${name}`);
      },
      connect(peers) {
        calls.connects.push([...peers]);
        return Promise.resolve();
      },
    }),
    hasOwnState: () => Promise.resolve(false),
    persistAdopted(_c: LaunchConfig, a) {
      calls.adopted.push(a);
      return Promise.resolve();
    },
    installCni() {
      calls.cni++;
      return Promise.resolve();
    },
    loadLastPeers: () => Promise.resolve(lastPeers),
    saveLastPeers(_c, p) {
      lastPeers = p;
      calls.saved.push(p);
      return Promise.resolve();
    },
    readFile: (p) => Deno.readTextFile(p),
    signal: ac.signal,
    retryMs: 20,
    reclaimSleep: () => Promise.resolve(),
  };
  return {
    s,
    log,
    calls,
    setLastPeers: (p: KubePeers) => (lastPeers = p),
    routerExits: (code: number) => exitRouter(code),
    stop: () => ac.abort(),
    close: () => client?.close(),
  };
}

Deno.test("runKubeLaunch: a bad variable stops with one line and exit code 1", async () => {
  const t = seams(undefined, { CONN_LIMIT: "many" });
  assert.equal(await runKubeLaunch(t.s), 1);
  assert.deepEqual(t.log.lines.map((l) => l.replace(/^(\w+):.*? \d\d:\d\d:\d\d\.\d+ /, "$1: ")), [
    'ERRO: Cannot start: CONN_LIMIT="many" is not an integer from 0 to 100000',
  ]);
  assert.equal(t.calls.launches.length, 0);
});

Deno.test("runKubeLaunch: peers from the Nodes, reclaim at start and on Node deletion, network up", async () => {
  await using api = StandInApi.create({ bookmarkMs: 50 });
  api.store.create("nodes", undefined, node("n1", "192.0.2.1"));
  api.store.create("nodes", undefined, node("n2", "192.0.2.2"));
  api.store.create("nodes", undefined, node("n3", "192.0.2.3"));
  const P2 = "02:00:00:00:00:02", P3 = "02:00:00:00:00:03", DEAD = "02:00:00:00:00:09";
  api.store.create("configmaps", "kube-system", {
    metadata: {
      name: "weave-net",
      annotations: {
        [PEER_LIST_KEY]: JSON.stringify({
          Peers: [
            { PeerName: P2, NodeName: "n2" },
            { PeerName: P3, NodeName: "n3" },
            { PeerName: DEAD, NodeName: "n9" },
          ],
        }),
      },
    },
  });
  const t = seams(api, { HOSTNAME: "n1" });
  const run = runKubeLaunch(t.s);
  await waitFor(() => t.calls.rmpeers.length === 1, "the dead peer reclaimed");
  assert.deepEqual(t.calls.rmpeers, [DEAD]);
  const args = t.calls.launches[0].args;
  assert.deepEqual(args.slice(-4), [
    "--ipalloc-init=consensus=3",
    "--conn-limit=200",
    "192.0.2.2",
    "192.0.2.3",
  ]);
  assert.ok(args.includes("--nickname=n1"));
  await waitFor(() => t.calls.connects.length > 0, "connect");
  assert.deepEqual(t.calls.connects[0], ["192.0.2.2", "192.0.2.3"]);
  assert.equal(t.calls.cni, 1);
  await waitFor(() => {
    const n = api.store.get("nodes", undefined, "n1") as unknown as {
      status: { conditions?: { reason: string }[] };
    };
    return n.status.conditions?.[0]?.reason === "WeaveIsUp";
  }, "NetworkUnavailable=False");
  // A Node goes away: its peer is reclaimed once, and the router's peers follow.
  api.store.delete("nodes", undefined, "n3");
  await waitFor(() => t.calls.rmpeers.length === 2, "n3's peer reclaimed");
  assert.deepEqual(t.calls.rmpeers, [DEAD, P3]);
  await waitFor(() => t.calls.connects.at(-1)?.join() === "192.0.2.2", "peers without n3");
  const annotations = () =>
    api.store.get("configmaps", "kube-system", "weave-net").metadata.annotations!;
  // rmpeer comes first, the ConfigMap update right after it.
  await waitFor(() => readPeerList(annotations()).length === 2, "P3 out of the peer list");
  const cm = annotations();
  assert.deepEqual(readPeerList(cm).map((p) => p.PeerName), [P2, ME]);
  assert.equal(cm[lockKey(P3)], undefined);
  assert.deepEqual(t.calls.saved.at(-1), { peers: ["192.0.2.2"], consensus: 2 });
  t.stop();
  assert.equal(await run, 0);
  t.close();
});

Deno.test("runKubeLaunch: API down at start — the router starts with the last peers and follows the API once it is back", async () => {
  await using api = StandInApi.create({ up: false, bookmarkMs: 50 });
  api.store.create("nodes", undefined, node("n1", "192.0.2.1"));
  api.store.create("nodes", undefined, node("n2", "192.0.2.2"));
  api.store.create("nodes", undefined, node("n4", "192.0.2.4"));
  const t = seams(api, { HOSTNAME: "n1" });
  t.setLastPeers({ peers: ["192.0.2.2", "192.0.2.3"], consensus: 3 });
  const run = runKubeLaunch(t.s);
  await waitFor(() => t.calls.launches.length === 1, "the router started");
  assert.deepEqual(t.calls.launches[0].args.slice(-3), [
    "--conn-limit=200",
    "192.0.2.2",
    "192.0.2.3",
  ]);
  assert.ok(t.log.lines.some((l) => /starting with the last 2 peers known/.test(l)));
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(t.calls.connects, []);
  api.up();
  await waitFor(() => t.calls.connects.length > 0, "connect after the API returned");
  assert.deepEqual(t.calls.connects.at(-1), ["192.0.2.2", "192.0.2.4"]);
  t.stop();
  assert.equal(await run, 0);
  t.close();
});

Deno.test("runKubeLaunch: nothing known and no API — waits without crashing, one log line", async () => {
  await using api = StandInApi.create({ up: false });
  const t = seams(api, { HOSTNAME: "n1" });
  const run = runKubeLaunch(t.s);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(t.calls.launches.length, 0);
  assert.equal(t.log.lines.filter((l) => /waiting for the Kubernetes API/.test(l)).length, 1);
  api.store.create("nodes", undefined, node("n1", "192.0.2.1"));
  api.up();
  await waitFor(() => t.calls.launches.length === 1, "the router started");
  assert.ok(t.calls.launches[0].args.includes("--ipalloc-init=consensus=1"));
  t.stop();
  assert.equal(await run, 0);
  t.close();
});

Deno.test("runKubeLaunch: first start on Weave Net's state takes over its peer name", async () => {
  await using api = StandInApi.create();
  api.store.create("nodes", undefined, node("n1", "192.0.2.1"));
  const dir = await Deno.makeTempDir({ prefix: "weave-kube-launch-" });
  try {
    await Deno.copyFile(
      new URL("../testdata/state-boltdb/h1-weavedata.db", import.meta.url),
      `${dir}/weave-netdata.db`,
    );
    const t = seams(api, { HOSTNAME: "n1", DB_PREFIX: `${dir}/weave-net` });
    const run = runKubeLaunch(t.s);
    await waitFor(() => t.calls.launches.length === 1, "the router started");
    assert.ok(t.calls.launches[0].args.includes(`--name=${ME}`));
    assert.equal(t.calls.adopted.length, 1);
    assert.deepEqual(t.calls.adopted[0].targets, ["192.0.2.9"]);
    assert.equal(t.calls.adopted[0].ipam.owned.size, 4);
    t.stop();
    assert.equal(await run, 0);
    t.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runKubeLaunch: upgrade with the API down starts with the Go router's connect targets", async () => {
  await using api = StandInApi.create({ up: false });
  const dir = await Deno.makeTempDir({ prefix: "weave-kube-launch-" });
  try {
    await Deno.copyFile(
      new URL("../testdata/state-boltdb/h2-weavedata.db", import.meta.url),
      `${dir}/weave-netdata.db`,
    );
    const t = seams(api, { HOSTNAME: "n2", DB_PREFIX: `${dir}/weave-net` });
    const run = runKubeLaunch(t.s);
    await waitFor(() => t.calls.launches.length === 1, "the router started");
    const args = t.calls.launches[0].args;
    assert.ok(args.includes("--name=02:00:00:00:00:02"));
    // h2 knew h1 (192.0.2.1): that is us here (ownAddresses), so no peer is dialled.
    assert.deepEqual(args.slice(-2), ["--ipalloc-init=consensus=1", "--conn-limit=200"]);
    assert.ok(t.log.lines.some((l) => /Cannot check the peer list/.test(l)));
    t.stop();
    assert.equal(await run, 0);
    t.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runKubeLaunch: the password from a mounted file goes to the router's environment", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weave-kube-pw-" });
  try {
    await Deno.writeTextFile(`${dir}/weave-passwd`, "s3cret\n");
    const t = seams(undefined, {
      KUBE_PEERS: "192.0.2.1 192.0.2.2",
      WEAVE_PASSWORD_FILE: `${dir}/weave-passwd`,
    });
    const run = runKubeLaunch(t.s);
    await waitFor(() => t.calls.launches.length === 1, "the router started");
    assert.deepEqual(t.calls.launches[0].env, { WEAVE_PASSWORD: "s3cret" });
    assert.deepEqual(t.calls.launches[0].args.slice(-3), [
      "--ipalloc-init=consensus=2",
      "--conn-limit=200",
      "192.0.2.2",
    ]);
    t.stop();
    assert.equal(await run, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runKubeLaunch: a router that exits by itself ends the launcher with its code", async () => {
  await using api = StandInApi.create({ bookmarkMs: 50 });
  api.store.create("nodes", undefined, node("n1", "192.0.2.1"));
  api.store.create("nodes", undefined, node("n2", "192.0.2.2"));
  const t = seams(api, { HOSTNAME: "n1" });
  const run = runKubeLaunch(t.s);
  await waitFor(() => t.calls.connects.length > 0, "the launcher following the Nodes");
  t.routerExits(3);
  assert.equal(await run, 3);
  assert.ok(t.log.lines.some((l) => /The router exited with code 3/.test(l)));
  t.close();
});
