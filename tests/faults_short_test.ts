/**
 * The short CI version of the fault campaign (`bench/faults_sockets.ts`): a victim router (mesh,
 * sleeve, network router, control API) and an honest peer on loopback, and a few hundred
 * hostile inputs on each socket. Crashes fail the test (they throw here); hangs and server
 * errors must be 0, and the honest peer's connection and the API must stay served throughout.
 */
import assert from "node:assert/strict";
import { discardLogger } from "../lib/log.ts";
import { freePortOnAll } from "./harness/loopback.ts";
import { prng } from "./harness/prng.ts";
import { waitUntil } from "./harness/wait.ts";
import { type FaultNode, startFaultNode } from "../bench/_faults_node.ts";
import {
  attackHttp,
  type AttackResult,
  attackSleeve,
  attackTcpAfterHandshake,
  attackTcpBeforeHandshake,
  type VictimAddress,
  watchHonest,
} from "../bench/_faults_attack.ts";

const SEED = Number(Deno.env.get("FAULTS_SEED") ?? 20261208);
const VICTIM = 0x02000000f001n;
const HONEST = 0x02000000f002n;

async function arena(): Promise<
  { victim: FaultNode; honest: FaultNode; address: VictimAddress } & AsyncDisposable
> {
  const port = freePortOnAll(["127.0.0.1", "127.0.0.2"]);
  const node = (name: bigint, host: string, api: boolean) =>
    startFaultNode({
      name,
      nickName: host,
      host,
      port,
      log: discardLogger,
      api,
      handshakeTimeoutMs: 1_000,
    });
  const victim = await node(VICTIM, "127.0.0.1", true);
  const honest = await node(HONEST, "127.0.0.2", false);
  honest.mesh.connectionMaker.initiateConnections([`127.0.0.1:${port}`], false);
  await waitUntil("the honest peer to be established", () => established(honest), 10_000, 20);
  return {
    victim,
    honest,
    address: { host: "127.0.0.1", port, name: VICTIM, api: victim.apiAddr },
    async [Symbol.asyncDispose]() {
      await honest.stop();
      await victim.stop();
    },
  };
}

function established(honest: FaultNode): boolean {
  return honest.mesh.connections().some((c) => c.remoteName === VICTIM && c.established);
}

async function underWatch(
  a: { honest: FaultNode; address: VictimAddress },
  attack: () => Promise<AttackResult>,
): Promise<void> {
  const watch = watchHonest(() => established(a.honest), a.address.api);
  const result = await attack();
  const honest = await watch.stop();
  const said = `seed ${SEED}: ${JSON.stringify({ ...result, ...honest })}`;
  assert.equal(result.hangs, 0, said);
  assert.equal(result.serverErrors, 0, said);
  assert.equal(honest.maxOutageMs, 0, said);
  assert.ok(honest.maxStatusMs < 2_000, said);
  assert.ok(established(a.honest), said);
}

Deno.test("faults (short): hostile bytes on TCP 6783 before the handshake", async () => {
  await using a = await arena();
  await underWatch(a, () => attackTcpBeforeHandshake(a.address, prng(SEED), 150, 5_000));
});

Deno.test("faults (short): mutated messages on TCP 6783 after the handshake", async () => {
  await using a = await arena();
  await underWatch(a, () => attackTcpAfterHandshake(a.address, prng(SEED + 1), 60, 8));
  await waitUntil("the made-up peers to be gone", () => a.victim.mesh.peers.size === 2, 10_000, 50);
});

Deno.test("faults (short): hostile datagrams on the sleeve port, some under the honest name", async () => {
  await using a = await arena();
  const before = a.victim.injected();
  await underWatch(a, () => attackSleeve(a.address, prng(SEED + 2), 2_000, HONEST));
  const drops = a.victim.sleeve.diagnostics().dropped;
  assert.ok(drops.foreignSource > 0, JSON.stringify(drops));
  assert.equal(a.victim.injected(), before, "no forged frame reached the bridge");
});

Deno.test("faults (short): bad requests and slow clients on the HTTP API", async () => {
  await using a = await arena();
  await underWatch(a, () => attackHttp(a.address, prng(SEED + 3), 150, 20));
});
