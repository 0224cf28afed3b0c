// Compares @kubernetes/client-node with kube/client.ts under Deno: module load time, one Node
// list, and RSS after 3 s of watching (100 Nodes, one changing every 100 ms, bookmarks every
// 200 ms), each client in its own process against the stand-in API server (tests/kube_api/).
//   deno run -A bench/kube_client.ts [--runs 3]
import { writeOut } from "./_host.ts";
import { StandInApi } from "../tests/kube_api/server.ts";

const runs = Number(Deno.args[Deno.args.indexOf("--runs") + 1] || 3);
await using api = StandInApi.create({ bookmarkMs: 200 });
for (let i = 0; i < 100; i++) {
  api.store.create("nodes", undefined, {
    metadata: { name: `node-${i}` },
    status: { addresses: [{ type: "InternalIP", address: `10.0.0.${i + 1}` }] },
  });
}
const ticker = setInterval(() => {
  const n = api.store.get("nodes", undefined, "node-1");
  n.metadata.labels = { t: String(Date.now()) };
  api.store.update("nodes", undefined, n);
}, 100);
const child = new URL("./_kube_client_child.ts", import.meta.url).pathname;
writeOut("| client | load (ms) | list of 100 (ms) | events in 3 s | RSS (MiB) |" + "\n");
writeOut("| --- | --- | --- | --- | --- |" + "\n");
for (const which of ["official", "own"]) {
  for (let r = 0; r < runs; r++) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-lock", child, which, api.url],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const m = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
    const f = (x: number) => x.toFixed(0);
    writeOut(
      `| ${which} | ${f(m.loadMs)} | ${f(m.listMs)} | ${m.events} | ${m.rssMiB.toFixed(1)} |\n`,
    );
  }
}
clearInterval(ticker);
