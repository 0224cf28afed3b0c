// Runs the stand-in Kubernetes API server as a process (for tests that need it inside a network
// namespace): `deno run -A tests/kube_api/serve.ts <host> <port> [node=ip ...]`. Prints
// "listening" once it answers; runs until SIGTERM. Nodes are created and deleted through the API.
import { StandInApi } from "./server.ts";

const [hostname, port, ...nodes] = Deno.args;
const api = StandInApi.create({ hostname, port: Number(port), bookmarkMs: 1000 });
for (const spec of nodes) {
  const [name, ip] = spec.split("=");
  api.store.create("nodes", undefined, {
    metadata: { name },
    status: { addresses: [{ type: "InternalIP", address: ip }] },
  });
}
Deno.stdout.writeSync(new TextEncoder().encode(`listening on ${api.url}\n`));
Deno.addSignalListener("SIGTERM", async () => {
  await api.down();
  Deno.exit(0);
});
