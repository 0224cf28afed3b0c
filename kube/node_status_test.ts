import assert from "node:assert/strict";
import { StandInApi } from "../tests/kube_api/server.ts";
import { KubeClient } from "./client.ts";
import { networkUpPatch, setNetworkUp } from "./node_status.ts";

Deno.test("networkUpPatch is kube-utils' condition", () => {
  assert.deepEqual(networkUpPatch(new Date("2026-12-08T01:02:03.456Z")), {
    status: {
      conditions: [{
        type: "NetworkUnavailable",
        status: "False",
        reason: "WeaveIsUp",
        message: "Weave pod has set this",
        lastTransitionTime: "2026-12-08T01:02:03Z",
        lastHeartbeatTime: "2026-12-08T01:02:03Z",
      }],
    },
  });
});

Deno.test("setNetworkUp replaces NetworkUnavailable and keeps the other conditions", async () => {
  await using api = StandInApi.create();
  api.store.create("nodes", undefined, {
    metadata: { name: "n1" },
    status: {
      conditions: [
        { type: "Ready", status: "True" },
        { type: "NetworkUnavailable", status: "True", reason: "NoRouteCreated" },
      ],
    },
  });
  const kube = new KubeClient({ server: api.url, token: "test-token" });
  await setNetworkUp(kube, "n1", new Date(0));
  const n = api.store.get("nodes", undefined, "n1") as unknown as {
    status: { conditions: unknown[] };
  };
  assert.deepEqual(n.status.conditions, [
    { type: "Ready", status: "True" },
    networkUpPatch(new Date(0)).status.conditions[0],
  ]);
  assert.deepEqual(api.requests.at(-1), {
    method: "PATCH",
    path: "/api/v1/nodes/n1/status",
    status: 200,
  });
});
