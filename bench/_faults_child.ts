/**
 * The victim of `faults.ts` in its own process, so that its RSS is its own: a fault node
 * (`_faults_node.ts`) on `--host`/`--port` with the API, giving freed memory back every
 * `--trim-ms` as the router does (sys/memory.ts). Prints `{"ready":true,"api":...}` once
 * listening; answers `mem` with `Deno.memoryUsage()` as JSON; stops when stdin closes.
 *
 *     deno run -A bench/_faults_child.ts --host 127.0.0.1 --port 24000 --trim-ms 60000
 *
 * @module
 */
import { discardLogger } from "../lib/log.ts";
import { releaseFreedMemory } from "../sys/memory.ts";
import { readLines, writeOut } from "./_host.ts";
import { startFaultNode } from "./_faults_node.ts";

function arg(name: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= Deno.args.length) {
    throw new TypeError(`Cannot start the faults victim: missing "--${name}"`);
  }
  return Deno.args[i + 1];
}

const node = await startFaultNode({
  name: BigInt(`0x${arg("name")}`),
  nickName: "victim",
  host: arg("host"),
  port: Number(arg("port")),
  log: discardLogger,
  api: true,
});
const trim = setInterval(releaseFreedMemory, Number(arg("trim-ms")));
writeOut(JSON.stringify({ ready: true, api: node.apiAddr }) + "\n");
// `mem`: one JSON line of Deno.memoryUsage(); stdin closing stops the victim.
for await (const line of readLines(Deno.stdin.readable)) {
  if (line.trim() === "mem") writeOut(JSON.stringify(Deno.memoryUsage()) + "\n");
}
clearInterval(trim);
await node.stop();
Deno.exit(0);
