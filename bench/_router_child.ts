/**
 * One mesh router in its own process, for the processes mode of
 * `convergence.ts`. Driven by line commands on stdin, answering on stdout:
 *
 * - on start: `{"ready":true}` once listening
 * - `connect <host:port>`: adds a direct peer (no answer)
 * - `status`: one JSON line, a `RouterSnapshot` (see `_measure.ts`)
 * - `stop`, or stdin closing: stops the router and exits
 *
 *     deno run -A bench/_router_child.ts --name 020000000001 --host 127.0.0.1 \
 *       --port 24000 --conn-limit 200
 *
 * @module
 */
import { discardLogger } from "../lib/log.ts";
import { MeshRouter } from "../mesh/router.ts";
import { NullOverlay } from "../mesh/overlay.ts";
import { readLines, writeOut } from "./_host.ts";
import { routerSnapshot } from "./_snapshot.ts";

function arg(name: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= Deno.args.length) {
    throw new TypeError(`Cannot start router child: missing "--${name}"`);
  }
  return Deno.args[i + 1];
}

const connLimit = Number(arg("conn-limit"));
const router = new MeshRouter({
  name: BigInt(`0x${arg("name")}`),
  nickName: `r-${arg("host")}`,
  port: Number(arg("port")),
  host: arg("host"),
  connLimit,
  discovery: true,
  overlay: new NullOverlay(),
  log: discardLogger,
});
router.start();
writeOut(JSON.stringify({ ready: true }) + "\n");

for await (const line of readLines(Deno.stdin.readable)) {
  const [cmd, value] = line.trim().split(/\s+/);
  if (cmd === "connect") router.connectionMaker.initiateConnections([value], false);
  else if (cmd === "status") writeOut(JSON.stringify(routerSnapshot(router, connLimit)) + "\n");
  else if (cmd === "stop") break;
}
router.stop();
Deno.exit(0);
