/**
 * `weave kube-launch` end to end, without containers: three hosts in network namespaces run it as
 * the DaemonSet's `weave` container would (host network, Weave's environment variables), against
 * the stand-in Kubernetes API server (tests/kube_api/, not a kube-apiserver) running in a fourth
 * host. The peers come from the Node list and IPAM reaches consensus over the three; when a Node
 * is deleted (its host stopped), its peer is reclaimed by exactly one of the others and no
 * unreachable peer is left in `weave status ipam`. Needs root; ignored otherwise.
 */
import assert from "node:assert/strict";
import { netnsSkipReason, REPO_ROOT, TestNet, waitFor } from "./harness/netns.ts";

const skip = netnsSkipReason();
const label = (name: string) => skip ? `${name} (ignored: ${skip})` : name;
const PORT = 6443;

/** Reads a child's stream into a string as it comes (for diagnostics and log checks). */
function collect(stream: ReadableStream<Uint8Array>): { text: () => string; done: Promise<void> } {
  let text = "";
  const done = (async () => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) text += chunk;
  })().catch(() => {});
  return { text: () => text, done };
}

/** An API call from inside host `i`'s namespace; returns the JSON answer. */
async function kubeApi(net: TestNet, i: number, method: string, path: string): Promise<unknown> {
  const url = `http://${net.host(4).ip}:${PORT}${path}`;
  const script =
    `const r = await fetch(${JSON.stringify(url)}, { method: ${JSON.stringify(method)},` +
    ` headers: { authorization: "Bearer test-token" } }); console.log(await r.text());`;
  const r = await net.host(i).exec([Deno.execPath(), "eval", script]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function peerList(net: TestNet): Promise<{ PeerName: string; NodeName: string }[]> {
  const cm = await kubeApi(
    net,
    1,
    "GET",
    "/api/v1/namespaces/kube-system/configmaps/weave-net",
  ) as {
    metadata: { annotations?: Record<string, string> };
  };
  const text = cm.metadata.annotations?.["kube-peers.weave.works/peers"];
  return text ? JSON.parse(text).Peers ?? [] : [];
}

Deno.test({
  name: label("kube-launch on three hosts: peers from the API, a deleted Node reclaimed once"),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 4 });
    const apiHost = net.host(4);
    const nodes = [1, 2, 3].map((i) => `h${i}=${net.host(i).ip}`);
    const api = apiHost.spawn(
      [
        Deno.execPath(),
        "run",
        "-A",
        `${REPO_ROOT}tests/kube_api/serve.ts`,
        apiHost.ip,
        String(PORT),
        ...nodes,
      ],
      { stdout: "piped", stderr: "piped" },
    );
    const apiOut = collect(api.stdout);
    collect(api.stderr);
    await waitFor(() => apiOut.text().includes("listening"), {
      what: "the stand-in API",
      timeoutMs: 20_000,
    });
    const kubeconfig = `${net.tempDir}/kubeconfig`;
    await Deno.writeTextFile(
      kubeconfig,
      JSON.stringify({
        "current-context": "test",
        clusters: [{ name: "c", cluster: { server: `http://${apiHost.ip}:${PORT}` } }],
        users: [{ name: "u", user: { token: "test-token" } }],
        contexts: [{ name: "test", context: { cluster: "c", user: "u" } }],
      }),
    );
    const launchers = [1, 2, 3].map((i) => {
      const h = net.host(i);
      const child = h.spawn([`${REPO_ROOT}weave`, "kube-launch"], {
        env: {
          KUBECONFIG: kubeconfig,
          KUBERNETES_SERVICE_HOST: "",
          HOSTNAME: `h${i}`,
          DB_PREFIX: h.dbPrefix,
          HOST_ROOT: `${net.tempDir}/h${i}/host`,
          EXPECT_NPC: "0",
          WEAVE_METRICS_ADDR: "127.0.0.1:6782",
        },
        stdout: "piped",
        stderr: "piped",
      });
      collect(child.stdout);
      return { child, log: collect(child.stderr) };
    });
    const logs = () => launchers.map((l, i) => `--- h${i + 1}\n${l.log.text()}`).join("\n");
    const stop = async (i: number) => {
      try {
        launchers[i - 1].child.kill("SIGTERM");
      } catch { /* gone */ }
      await launchers[i - 1].child.status;
    };
    try {
      // IPAM's consensus is deferred to the first allocation (a pod's CNI ADD); `weave prime` asks
      // for it once the routers answer.
      await waitFor(async () => {
        const r = await net.weave(1, ["prime"], { timeoutMs: 20_000 });
        return r.code === 0 || `${r.stdout}${r.stderr}\n${logs()}`;
      }, { what: "IPAM consensus (weave prime on h1)", timeoutMs: 90_000, intervalMs: 1000 });
      for (const i of [1, 2, 3]) {
        await waitFor(async () => {
          const s = (await net.weave(i, ["status", "ipam"])).stdout;
          return s.trim().split("\n").length === 3 || `${s}\n${logs()}`;
        }, { what: `h${i}'s ipam status to list 3 peers`, timeoutMs: 60_000 });
      }
      await waitFor(async () => (await peerList(net)).length === 3 || await peerList(net), {
        what: "three peers in the ConfigMap",
        timeoutMs: 20_000,
      });
      const h3 = (await peerList(net)).find((p) => p.NodeName === "h3")!.PeerName;
      const node = await kubeApi(net, 1, "GET", "/api/v1/nodes/h1") as {
        status: { conditions?: { type: string; status: string; reason: string }[] };
      };
      assert.deepEqual(
        node.status.conditions?.map((c) => [c.type, c.status, c.reason]),
        [["NetworkUnavailable", "False", "WeaveIsUp"]],
      );

      // Node h3 goes away: its host stops, then its Node object is deleted.
      await stop(3);
      await kubeApi(net, 1, "DELETE", "/api/v1/nodes/h3");
      for (const i of [1, 2]) {
        await waitFor(async () => {
          const s = (await net.weave(i, ["status", "ipam"])).stdout;
          return (s.trim().split("\n").length === 2 && !s.includes("unreachable")) ||
            `${s}\n${logs()}`;
        }, { what: `h${i}'s ipam status without h3`, timeoutMs: 30_000 });
      }
      assert.deepEqual((await peerList(net)).map((p) => p.NodeName).sort(), ["h1", "h2"]);
      const reclaimers = [1, 2].filter((i) =>
        launchers[i - 1].log.text().includes(`rmpeer of ${h3}`)
      );
      assert.equal(reclaimers.length, 1, logs());
    } finally {
      for (const i of [1, 2, 3]) await stop(i);
      try {
        api.kill("SIGTERM");
      } catch { /* gone */ }
      await api.status;
    }
  },
});
