// Reclaim against the stand-in API server over HTTP: two peers racing to reclaim the same
// dead node remove it once, through conflict storms; the Go JSON in the ConfigMap is kept.
import assert from "node:assert/strict";
import { discardLogger } from "../lib/log.ts";
import { KubeClient } from "../kube/client.ts";
import { lockKey, PEER_LIST_KEY, readPeerList } from "../kube/peer_list.ts";
import {
  addSelfToPeerList,
  configMapAccess,
  type ReclaimOptions,
  reclaimRemovedPeers,
} from "../kube/reclaim.ts";
import { StandInApi } from "./kube_api/server.ts";

const A = { PeerName: "02:00:00:00:00:0a", NodeName: "na" };
const B = { PeerName: "02:00:00:00:00:0b", NodeName: "nb" };
const DEAD = { PeerName: "02:00:00:00:00:0d", NodeName: "nd" };

function peer(api: StandInApi, me: typeof A, rmpeers: string[]): ReclaimOptions {
  const client = new KubeClient({ server: api.url, token: "test-token" });
  return {
    configMap: configMapAccess(client),
    async nodeNames() {
      const list = await client.list("/api/v1/nodes");
      return new Set(list.items.map((n) => n.metadata.name));
    },
    rmpeer(name) {
      rmpeers.push(`${me.NodeName}:${name}`);
      return Promise.resolve("ok");
    },
    me,
    log: discardLogger,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms / 200)),
  };
}

for (const storm of [0, 7]) {
  Deno.test(`reclaim over the API: two peers racing for one dead node remove it once (conflict storm ${storm})`, async () => {
    await using api = StandInApi.create();
    for (const n of ["na", "nb", "nd"]) {
      api.store.create("nodes", undefined, { metadata: { name: n } });
    }
    const rmpeers: string[] = [];
    const a = peer(api, A, rmpeers), b = peer(api, B, rmpeers), dead = peer(api, DEAD, rmpeers);
    await Promise.all([addSelfToPeerList(a), addSelfToPeerList(b), addSelfToPeerList(dead)]);
    const cm = "/api/v1/namespaces/kube-system/configmaps/weave-net";
    const kube = new KubeClient({ server: api.url, token: "test-token" });
    const before = await kube.get(cm);
    assert.deepEqual(
      readPeerList(before.metadata.annotations!).map((p) => p.PeerName).sort(),
      [A, B, DEAD].map((p) => p.PeerName).sort(),
    );
    await kube.request("DELETE", "/api/v1/nodes/nd");
    api.conflictStorm(storm);
    const [ra, rb] = await Promise.all([reclaimRemovedPeers(a), reclaimRemovedPeers(b)]);
    assert.deepEqual(rmpeers.map((r) => r.split(":").slice(1).join(":")), [DEAD.PeerName]);
    assert.deepEqual([...ra, ...rb], [DEAD.PeerName]);
    const after = (await kube.get(cm)).metadata.annotations!;
    assert.deepEqual(
      readPeerList(after).map((p) => p.PeerName).sort(),
      [A.PeerName, B.PeerName].sort(),
    );
    assert.equal(after[lockKey(DEAD.PeerName)], undefined);
    assert.match(
      after[PEER_LIST_KEY],
      /^\{"Peers":\[\{"PeerName":"02:00:00:00:00:0[ab]","NodeName":"n[ab]"\}/,
    );
    // Every write was an update (PUT) or the one create, never a blind write.
    const writes = api.requests.filter((r) => r.method !== "GET");
    assert.ok(
      writes.every((r) => r.method === "PUT" || r.method === "POST" || r.method === "DELETE"),
    );
    assert.equal(writes.filter((r) => r.method === "POST").length >= 1, true);
    if (storm) assert.ok(writes.some((r) => r.status === 409));
  });
}
