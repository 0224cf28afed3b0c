import assert from "node:assert/strict";
import { discardLogger } from "../lib/log.ts";
import { KubeStore } from "../tests/kube_api/store.ts";
import { ApiStatusError } from "../tests/kube_api/store.ts";
import { KubeApiError } from "./client.ts";
import { lockKey, PEER_LIST_KEY, readPeerList } from "./peer_list.ts";
import {
  addSelfToPeerList,
  type ConfigMapAccess,
  type PeerConfigMap,
  type ReclaimOptions,
  reclaimRemovedPeers,
} from "./reclaim.ts";

const ME = { PeerName: "02:00:00:00:00:01", NodeName: "n1" };
const P2 = "02:00:00:00:00:02", P3 = "02:00:00:00:00:03", P4 = "02:00:00:00:00:04";

/** ConfigMapAccess over the stand-in's store, with its resourceVersions and 409s, in process. */
function storeAccess(store: KubeStore, before?: (op: string) => void): ConfigMapAccess {
  const wrap = <T>(f: () => T): Promise<T> => {
    try {
      return Promise.resolve(f());
    } catch (e) {
      if (e instanceof ApiStatusError) {
        return Promise.reject(new KubeApiError(e.code, e.reason, e.message));
      }
      return Promise.reject(e);
    }
  };
  return {
    get: () =>
      wrap(() => {
        try {
          return store.get("configmaps", "kube-system", "weave-net") as PeerConfigMap;
        } catch (e) {
          if (e instanceof ApiStatusError && e.code === 404) return undefined;
          throw e;
        }
      }),
    create: (cm) => wrap(() => store.create("configmaps", "kube-system", cm) as PeerConfigMap),
    update: (cm) =>
      wrap(() => {
        before?.("update");
        return store.update("configmaps", "kube-system", cm) as PeerConfigMap;
      }),
  };
}

function list(...peers: [string, string][]): string {
  return JSON.stringify({ Peers: peers.map(([PeerName, NodeName]) => ({ PeerName, NodeName })) });
}

interface Row {
  name: string;
  annotations?: Record<string, string>;
  nodes: string[];
  /** Runs before each update (to lose a race, say). */
  interfere?: (store: KubeStore, update: number) => void;
  rmpeers: string[];
  after: Record<string, string>;
}

const rows: Row[] = [
  {
    name: "node gone, lock free: reclaimed",
    annotations: { [PEER_LIST_KEY]: list([ME.PeerName, "n1"], [P2, "n2"]) },
    nodes: ["n1"],
    rmpeers: [P2],
    after: { [PEER_LIST_KEY]: list([ME.PeerName, "n1"]) },
  },
  {
    name: "every node still there: nothing",
    annotations: { [PEER_LIST_KEY]: list([ME.PeerName, "n1"], [P2, "n2"]) },
    nodes: ["n1", "n2"],
    rmpeers: [],
    after: { [PEER_LIST_KEY]: list([ME.PeerName, "n1"], [P2, "n2"]) },
  },
  {
    name: "no ConfigMap yet: created, we are added, nothing to reclaim",
    nodes: ["n1"],
    rmpeers: [],
    after: { [PEER_LIST_KEY]: list([ME.PeerName, "n1"]) },
  },
  {
    name: "an old peer of our own node (reinstalled): reclaimed",
    annotations: { [PEER_LIST_KEY]: list([P2, "n1"], [P3, "n3"]) },
    nodes: ["n1", "n3"],
    rmpeers: [P2],
    after: { [PEER_LIST_KEY]: list([P3, "n3"], [ME.PeerName, "n1"]) },
  },
  {
    name: "our own lock (we restarted mid-reclaim): finished",
    annotations: {
      [PEER_LIST_KEY]: list([ME.PeerName, "n1"], [P2, "n2"]),
      [lockKey(P2)]: ME.PeerName,
    },
    nodes: ["n1"],
    rmpeers: [P2],
    after: { [PEER_LIST_KEY]: list([ME.PeerName, "n1"]) },
  },
  {
    name: "lock held by a live peer: left to it",
    annotations: {
      [PEER_LIST_KEY]: list([ME.PeerName, "n1"], [P2, "n2"], [P3, "n3"]),
      [lockKey(P2)]: P3,
    },
    nodes: ["n1", "n3"],
    rmpeers: [],
    after: {
      [PEER_LIST_KEY]: list([ME.PeerName, "n1"], [P2, "n2"], [P3, "n3"]),
      [lockKey(P2)]: P3,
    },
  },
  {
    name: "lock held by a dead peer: that peer is reclaimed, its lock released, then the other",
    annotations: {
      [PEER_LIST_KEY]: list([ME.PeerName, "n1"], [P2, "n2"], [P3, "n3"]),
      [lockKey(P2)]: P3,
    },
    nodes: ["n1"],
    rmpeers: [P3, P2],
    after: { [PEER_LIST_KEY]: list([ME.PeerName, "n1"]) },
  },
  {
    name: "lost race: another peer takes the lock just before us, so we do not rmpeer",
    annotations: { [PEER_LIST_KEY]: list([ME.PeerName, "n1"], [P2, "n2"], [P4, "n4"]) },
    nodes: ["n1", "n4"],
    interfere(store, update) {
      if (update !== 0) return; // we are in the list already: our first update is the lock on P2
      const cm = store.get("configmaps", "kube-system", "weave-net");
      cm.metadata.annotations = { ...cm.metadata.annotations, [lockKey(P2)]: P4 };
      store.update("configmaps", "kube-system", cm);
    },
    rmpeers: [],
    after: {
      [PEER_LIST_KEY]: list([ME.PeerName, "n1"], [P2, "n2"], [P4, "n4"]),
      [lockKey(P2)]: P4,
    },
  },
  {
    name: "conflicts on every write once: each retried, the peer removed once",
    annotations: { [PEER_LIST_KEY]: list([ME.PeerName, "n1"], [P2, "n2"]), other: "kept" },
    nodes: ["n1"],
    interfere(store, update) {
      if (update % 2 === 1) return; // every second attempt loses against a foreign write
      const cm = store.get("configmaps", "kube-system", "weave-net");
      cm.metadata.annotations = { ...cm.metadata.annotations, touch: String(update) };
      store.update("configmaps", "kube-system", cm);
    },
    rmpeers: [P2],
    after: { [PEER_LIST_KEY]: list([ME.PeerName, "n1"]), other: "kept" },
  },
  {
    name: "Go's empty list (Peers: null) and never ourselves, even with our node gone",
    annotations: { [PEER_LIST_KEY]: JSON.stringify({ Peers: null }) },
    nodes: [],
    rmpeers: [],
    after: { [PEER_LIST_KEY]: list([ME.PeerName, "n1"]) },
  },
];

for (const row of rows) {
  Deno.test(`reclaim: ${row.name}`, async () => {
    const store = new KubeStore();
    if (row.annotations) {
      store.create("configmaps", "kube-system", {
        metadata: { name: "weave-net", annotations: row.annotations },
      });
    }
    let updates = 0;
    const rmpeers: string[] = [];
    const o: ReclaimOptions = {
      configMap: storeAccess(store, () => row.interfere?.(store, updates++)),
      nodeNames: () => Promise.resolve(new Set(row.nodes)),
      rmpeer: (p) => {
        rmpeers.push(p);
        return Promise.resolve(`1024 IPs taken over from ${p}`);
      },
      me: ME,
      log: discardLogger,
      sleep: () => Promise.resolve(),
    };
    await addSelfToPeerList(o);
    const removed = await reclaimRemovedPeers(o);
    assert.deepEqual(rmpeers, row.rmpeers);
    assert.deepEqual(removed, row.rmpeers);
    const after = store.get("configmaps", "kube-system", "weave-net").metadata.annotations ?? {};
    delete after.touch;
    assert.deepEqual(after, row.after);
  });
}

Deno.test("reclaim: a ConfigMap update that keeps conflicting gives up with the 409", async () => {
  const store = new KubeStore();
  store.create("configmaps", "kube-system", { metadata: { name: "weave-net" } });
  const o: ReclaimOptions = {
    configMap: storeAccess(store, () => {
      const cm = store.get("configmaps", "kube-system", "weave-net");
      store.update("configmaps", "kube-system", cm);
    }),
    nodeNames: () => Promise.resolve(new Set()),
    rmpeer: () => Promise.reject(new Error("not called")),
    me: ME,
    log: discardLogger,
    sleep: () => Promise.resolve(),
    maxConflicts: 5,
  };
  await assert.rejects(addSelfToPeerList(o), (e: KubeApiError) => e.isConflict);
});

Deno.test("readPeerList refuses an annotation that is not Go's JSON", () => {
  assert.throws(() => readPeerList({ [PEER_LIST_KEY]: "{" }), /not JSON/);
  assert.throws(() => readPeerList({ [PEER_LIST_KEY]: '{"Peers":{}}' }), /"Peers" is not a list/);
  assert.throws(() => readPeerList({ [PEER_LIST_KEY]: '{"Peers":[{"x":1}]}' }), /entry 0/);
  assert.equal(lockKey("02:00:00:00:00:01"), "kube-peers.weave.works/02_00_00_00_00_01");
});
