/**
 * Child of a `launch_test.ts` test: serves the control API on a free port with
 * one route that watches `request.signal`, as IPAM's and attach's waiting
 * calls do, answers one request through it, and exits. What it writes to
 * stderr is what the router would write to its log.
 *
 * @module
 */
import { FakeRouterOps } from "../api/fake_ops.ts";
import { loadReport } from "../api/_samples.ts";
import { startApiServers } from "../api/server.ts";
import { discardLogger } from "../lib/log.ts";

const ops = new FakeRouterOps(loadReport("plain", "h1"));
ops.routes = [{
  method: "POST",
  pattern: /^\/wait$/,
  scope: "control",
  handle: (req) => {
    const onGone = () => {};
    req.signal.addEventListener("abort", onGone, { once: true });
    req.signal.removeEventListener("abort", onGone);
    return new Response("done");
  },
}];
const servers = await startApiServers(ops, { httpAddr: "127.0.0.1:0", log: discardLogger });
const res = await fetch(`http://${servers.addresses.http}/wait`, { method: "POST" });
const body = await res.text();
await servers.close();
// Output for the test (stdout); the runtime's own warnings would go to stderr.
await Deno.stdout.write(new TextEncoder().encode(`${res.status} ${body}\n`));
