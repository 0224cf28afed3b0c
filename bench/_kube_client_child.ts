// One client process of bench/kube_client.ts: loads a Kubernetes client, lists the Nodes and
// watches them for 3 s, then prints one JSON line. `official` loads @kubernetes/client-node (not
// a dependency of the project: the specifier is built at run time so `deno check` never fetches
// it); `own` uses kube/client.ts.
import { writeOut } from "./_host.ts";
const [which, url] = Deno.args;
const t0 = performance.now();
let listMs = 0, items = 0, events = 0;
const stop = new AbortController();
if (which === "official") {
  const spec = ["npm:@kubernetes", "client-node@2.0.2"].join("/");
  // deno-lint-ignore no-explicit-any
  const k8s: any = await import(spec);
  const loadMs = performance.now() - t0;
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: url, skipTLSVerify: true }], // plain HTTP; the flag only spares a CA
    users: [{ name: "u", token: "test-token" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  const t1 = performance.now();
  const list = await kc.makeApiClient(k8s.CoreV1Api).listNode();
  listMs = performance.now() - t1;
  items = list.items.length;
  const req = await new k8s.Watch(kc).watch(
    "/api/v1/nodes",
    { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true },
    () => events++,
    () => {},
  );
  stop.signal.addEventListener("abort", () => req.abort());
  report(loadMs);
} else {
  const { KubeClient } = await import("../kube/client.ts");
  const loadMs = performance.now() - t0;
  const kube = new KubeClient({ server: url, token: "test-token" });
  const t1 = performance.now();
  const list = await kube.list("/api/v1/nodes");
  listMs = performance.now() - t1;
  items = list.items.length;
  (async () => {
    for await (
      const _ of kube.watch("/api/v1/nodes", {
        resourceVersion: list.metadata.resourceVersion,
        signal: stop.signal,
      })
    ) events++;
  })();
  report(loadMs);
}

async function report(loadMs: number) {
  await new Promise((r) => setTimeout(r, 3000));
  const rssMiB = Deno.memoryUsage().rss / 2 ** 20;
  writeOut(JSON.stringify({ which, loadMs, listMs, items, events, rssMiB }) + "\n");
  stop.abort();
  Deno.exit(0);
}
