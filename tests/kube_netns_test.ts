/**
 * `weave kube-launch` end to end, without containers: three hosts in network namespaces run it as
 * the DaemonSet's `weave` container would (host network, Weave's environment variables), against
 * the stand-in Kubernetes API server (tests/kube_api/, not a kube-apiserver) running in a fourth
 * host. The peers come from the Node list and IPAM reaches consensus over the three; when a Node
 * is deleted (its host stopped), its peer is reclaimed by exactly one of the others and no
 * unreachable peer is left in `weave status ipam`. Also: an in-place upgrade from Weave Net
 * 2.8.1's BoltDB files (testdata/state-boltdb) keeps the peer names, the ring and the owned
 * addresses; with the API down at start the routers start with the last peers saved and join
 * the ConfigMap's peer list once the API answers. Needs root; ignored otherwise.
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
async function kubeApi(
  net: TestNet,
  i: number,
  method: string,
  path: string,
  apiIndex = 4,
): Promise<unknown> {
  const url = `http://${net.host(apiIndex).ip}:${PORT}${path}`;
  const script =
    `const r = await fetch(${JSON.stringify(url)}, { method: ${JSON.stringify(method)},` +
    ` headers: { authorization: "Bearer test-token" } }); console.log(await r.text());`;
  const r = await net.host(i).exec([Deno.execPath(), "eval", script]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function peerList(
  net: TestNet,
  apiIndex = 4,
): Promise<{ PeerName: string; NodeName: string }[]> {
  const path = "/api/v1/namespaces/kube-system/configmaps/weave-net";
  const cm = await kubeApi(net, 1, "GET", path, apiIndex) as {
    metadata: { annotations?: Record<string, string> };
  };
  const text = cm.metadata.annotations?.["kube-peers.weave.works/peers"];
  return text ? JSON.parse(text).Peers ?? [] : [];
}

/** Starts the stand-in API server in host `apiIndex` with Nodes `h<i>` for `hosts`. */
async function startApi(net: TestNet, apiIndex: number, hosts: number[]) {
  const apiHost = net.host(apiIndex);
  const nodes = hosts.map((i) => `h${i}=${net.host(i).ip}`);
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
  const out = collect(api.stdout);
  collect(api.stderr);
  await waitFor(() => out.text().includes("listening"), {
    what: "the stand-in API",
    timeoutMs: 20_000,
  });
  return {
    async stop() {
      try {
        api.kill("SIGTERM");
      } catch { /* gone */ }
      await api.status;
    },
  };
}

/** Writes a kubeconfig for the stand-in API in host `apiIndex`; returns its path. */
async function writeKubeconfig(net: TestNet, apiIndex: number): Promise<string> {
  const path = `${net.tempDir}/kubeconfig`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      "current-context": "test",
      clusters: [{ name: "c", cluster: { server: `http://${net.host(apiIndex).ip}:${PORT}` } }],
      users: [{ name: "u", user: { token: "test-token" } }],
      contexts: [{ name: "test", context: { cluster: "c", user: "u" } }],
    }),
  );
  return path;
}

/** Runs `weave kube-launch` in each of `hosts` as the DaemonSet would. */
function startLaunchers(net: TestNet, hosts: number[], kubeconfig: string) {
  const launchers = new Map(hosts.map((i) => {
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
    return [i, { child, log: collect(child.stderr) }];
  }));
  return {
    log: (i: number) => launchers.get(i)!.log.text(),
    logs: () => [...launchers].map(([i, l]) => `--- h${i}\n${l.log.text()}`).join("\n"),
    async stop(i: number) {
      try {
        launchers.get(i)!.child.kill("SIGTERM");
      } catch { /* gone */ }
      await launchers.get(i)!.child.status;
    },
    async stopAll() {
      for (const i of launchers.keys()) await this.stop(i);
    },
  };
}

/** Waits for IPAM consensus (`weave prime` on host `i`). */
async function prime(net: TestNet, i: number, logs: () => string): Promise<void> {
  await waitFor(async () => {
    const r = await net.weave(i, ["prime"], { timeoutMs: 20_000 });
    return r.code === 0 || `${r.stdout}${r.stderr}\n${logs()}`;
  }, { what: `IPAM consensus (weave prime on h${i})`, timeoutMs: 90_000, intervalMs: 1000 });
}

Deno.test({
  name: label("kube-launch on three hosts: peers from the API, a deleted Node reclaimed once"),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 4 });
    const api = await startApi(net, 4, [1, 2, 3]);
    const l = startLaunchers(net, [1, 2, 3], await writeKubeconfig(net, 4));
    try {
      // Every router connected to the two others, then IPAM's consensus, which is deferred to the
      // first allocation (a pod's CNI ADD), so that the ring is split three ways.
      for (const i of [1, 2, 3]) {
        await waitFor(async () => {
          const s = (await net.weave(i, ["status", "connections"])).stdout;
          return (s.match(/established/g) ?? []).length === 2 || `${s}\n${l.logs()}`;
        }, { what: `h${i} connected to both others`, timeoutMs: 60_000 });
      }
      // The CNI plugins and conflist are installed into each host's paths under HOST_ROOT.
      for (const i of [1, 2, 3]) {
        const root = `${net.tempDir}/h${i}/host`;
        const conflist = JSON.parse(
          await Deno.readTextFile(`${root}/etc/cni/net.d/10-weave.conflist`),
        );
        assert.equal(conflist.plugins[0].type, "weave-net", `h${i}'s conflist`);
        for (const p of ["weave-net", "weave-ipam"]) {
          assert.ok((await Deno.stat(`${root}/opt/cni/bin/${p}`)).isFile, `h${i}'s ${p}`);
        }
      }
      await prime(net, 1, l.logs);
      // Consensus may seed the ring with two of the three (a quorum); an address taken on h3
      // gives it a range of its own in any case, which its deletion must hand back.
      await waitFor(async () => {
        const r = await net.host(3).exec([
          Deno.execPath(),
          "eval",
          `const r = await fetch("http://127.0.0.1:6784/ip/c3", { method: "POST" }); console.log(r.status, await r.text());`,
        ]);
        return /^200 10\./.test(r.stdout) || `${r.stdout}${r.stderr}`;
      }, { what: "an address for c3 on h3", timeoutMs: 30_000, intervalMs: 1000 });
      for (const i of [1, 2, 3]) {
        await waitFor(async () => {
          const s = (await net.weave(i, ["status", "ipam"])).stdout;
          return s.trim().split("\n").length === 3 || `${s}\n${l.logs()}`;
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
      await l.stop(3);
      await kubeApi(net, 1, "DELETE", "/api/v1/nodes/h3");
      for (const i of [1, 2]) {
        await waitFor(async () => {
          const s = (await net.weave(i, ["status", "ipam"])).stdout;
          return (s.trim().split("\n").length === 2 && !s.includes("unreachable")) ||
            `${s}\n${l.logs()}`;
        }, { what: `h${i}'s ipam status without h3`, timeoutMs: 30_000 });
      }
      assert.deepEqual((await peerList(net)).map((p) => p.NodeName).sort(), ["h1", "h2"]);
      const reclaimers = [1, 2].filter((i) => l.log(i).includes(`rmpeer of ${h3}`));
      assert.equal(reclaimers.length, 1, l.logs());
    } finally {
      await l.stopAll();
      await api.stop();
    }
  },
});

Deno.test({
  name: label("kube-launch in place of Weave Net 2.8.1: peer name, ring and owned addresses kept"),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 3 });
    const fixtures = `${REPO_ROOT}testdata/state-boltdb`;
    for (const i of [1, 2]) {
      await Deno.copyFile(`${fixtures}/h${i}-weavedata.db`, `${net.host(i).dbPrefix}data.db`);
    }
    const api = await startApi(net, 3, [1, 2]);
    const l = startLaunchers(net, [1, 2], await writeKubeconfig(net, 3));
    try {
      for (const i of [1, 2]) {
        const report = JSON.parse(await Deno.readTextFile(`${fixtures}/h${i}-report.json`));
        const want = JSON.parse(await Deno.readTextFile(`${fixtures}/h${i}-ip.json`));
        await waitFor(async () => {
          const r = await net.weave(i, ["report"]);
          return (r.code === 0 && JSON.parse(r.stdout).Router.Name === report.Router.Name) ||
            `${r.stdout}${r.stderr}\n${l.logs()}`;
        }, { what: `h${i}'s router to run as ${report.Router.Name}`, timeoutMs: 60_000 });
        const got = JSON.parse((await net.weave(i, ["report"])).stdout);
        // The same tokens, sizes and owners; versions are those of the newer copy, as the two
        // routers' persisted rings merge.
        type Entry = { Token: string; Size: number; Peer: string; Version: number };
        const ring = (e: Entry[]) => e.map(({ Token, Size, Peer }) => ({ Token, Size, Peer }));
        assert.deepEqual(ring(got.IPAM.Entries), ring(report.IPAM.Entries), `h${i}'s ring`);
        got.IPAM.Entries.forEach((e: Entry, k: number) => {
          assert.ok(e.Version >= report.IPAM.Entries[k].Version, `h${i}'s ring entry ${k}`);
        });
        const ip = await net.host(i).exec([
          Deno.execPath(),
          "eval",
          `console.log(await (await fetch("http://127.0.0.1:6784/ip")).text())`,
        ]);
        const owned = (doc: { owned: { containerid: string; addrs: string[] }[] }) =>
          doc.owned.map((o) => `${o.containerid} ${o.addrs.join(",")}`).sort();
        assert.deepEqual(owned(JSON.parse(ip.stdout)), owned(want), `h${i}'s owned addresses`);
      }
      // Weave's file is left as it was.
      assert.deepEqual(
        await Deno.readFile(`${net.host(1).dbPrefix}data.db`),
        await Deno.readFile(`${fixtures}/h1-weavedata.db`),
      );
    } finally {
      await l.stopAll();
      await api.stop();
    }
  },
});

Deno.test({
  name: label("kube-launch with the API down at start: the router starts with the last peers"),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 3 });
    for (const i of [1, 2]) {
      const other = net.host(3 - i).ip;
      await Deno.writeTextFile(
        `${net.host(i).dbPrefix}kube-peers.json`,
        JSON.stringify({ peers: [other], consensus: 2 }),
      );
    }
    const l = startLaunchers(net, [1, 2], await writeKubeconfig(net, 3));
    let api: { stop(): Promise<void> } | undefined;
    try {
      await prime(net, 1, l.logs);
      for (const i of [1, 2]) {
        assert.match(l.log(i), /starting with the last 1 peers known/);
        const s = (await net.weave(i, ["status", "ipam"])).stdout;
        assert.equal(s.trim().split("\n").length, 2, s);
      }
      // The API comes back: the peers join the ConfigMap's list and the Nodes are marked up.
      api = await startApi(net, 3, [1, 2]);
      await waitFor(async () => (await peerList(net, 3)).length === 2 || `${l.logs()}`, {
        what: "both peers in the ConfigMap once the API answers",
        timeoutMs: 60_000,
        intervalMs: 500,
      });
    } finally {
      await l.stopAll();
      await api?.stop();
    }
  },
});
