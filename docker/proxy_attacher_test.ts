import assert from "node:assert/strict";
import { discardLogger } from "../lib/log.ts";
import type { ContainerInfo } from "./client.ts";
import { ProxyAttacher } from "./proxy_attacher.ts";
import { ATTACH_LABEL } from "./proxy_rewrite.ts";
import type { ProxyEffects } from "./proxy_server.ts";

const RUNNING: ContainerInfo = {
  id: "c0ffee".padEnd(64, "0"),
  name: "echo",
  hostname: "echo",
  domainname: "",
  pid: 4242,
  running: true,
  networkMode: "none",
  labels: { [ATTACH_LABEL]: "" },
  env: [],
  networks: [],
};

/** Effects whose attach fails; inspect answers `states` in turn (the last one repeats). */
function failingAttach(states: ContainerInfo[]) {
  const killed: string[] = [];
  let asked = 0;
  const effects: ProxyEffects = {
    dns: () => Promise.resolve(undefined),
    inspect: () => Promise.resolve(states[Math.min(asked++, states.length - 1)]),
    attach: () => Promise.reject(new Error(`no network namespace at "/proc/4242/ns/net"`)),
    kill: (id) => {
      killed.push(id);
      return Promise.resolve();
    },
  };
  return { effects, killed, asked: () => asked };
}

Deno.test("ProxyAttacher: a container that ends while it is attached is left alone, even when the engine still calls it running for a moment", async () => {
  // `docker run -i … sh -c 'read a; echo $a'` with its input ready exits within milliseconds.
  const exited = { ...RUNNING, running: false };
  const f = failingAttach([RUNNING, RUNNING, RUNNING, exited]);
  const attacher = new ProxyAttacher({ effects: f.effects, log: discardLogger });
  assert.equal(await attacher.afterStart(RUNNING.id), undefined);
  assert.deepEqual(f.killed, []);
  assert.ok(f.asked() >= 4, "the engine was asked again until it reported the exit");
});

Deno.test("ProxyAttacher: a container still running after a failed attach is killed, with the error", async () => {
  const f = failingAttach([RUNNING]);
  const attacher = new ProxyAttacher({ effects: f.effects, log: discardLogger });
  const failure = await attacher.afterStart(RUNNING.id);
  assert.match(failure ?? "", /^Cannot attach container c0ffee0+ to weave: no network namespace/);
  assert.deepEqual(f.killed, [RUNNING.id]);
});
