/**
 * Short versions of the fault campaign's first two parts (`bench/faults.ts` runs them long):
 * `kill -9` of random routers during an allocation and DNS storm, and partitions of a 5-host
 * mesh healed while containers come and go. Seeded: a failure message names the seed, and
 * `FAULTS_SEED=<n>` replays its kill moments, victims and splits (the storm's interleaving with
 * them still varies). Needs root; ignored otherwise.
 */
import assert from "node:assert/strict";
import { netnsSkipReason, TestNet } from "./harness/netns.ts";
import { killStorm } from "./faults/kill_storm.ts";
import { partitionStorm } from "./faults/partitions.ts";

const skip = netnsSkipReason();
const label = (name: string) => skip ? `${name} (ignored: ${skip})` : name;
const SEED = Number(Deno.env.get("FAULTS_SEED") ?? (Date.now() % 100_000));

Deno.test({
  name: label(
    `kill -9 during an allocation storm loses no answered address or name (seed ${SEED})`,
  ),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 3 });
    const r = await killStorm(net, {
      kills: 4,
      seed: SEED,
      workers: 2,
      keep: 4,
      maxGapMs: 1_500,
      namesTimeoutMs: 20_000,
    });
    const why = `seed ${SEED}: ${JSON.stringify(r)}`;
    assert.deepEqual(r.failedRestarts, [], why);
    assert.equal(r.restarts, 4, why);
    assert.deepEqual(r.damaged, [], why);
    assert.deepEqual([...r.lostAfterRestart, ...r.final.lost], [], why);
    assert.deepEqual(r.final.doubles, [], why);
    assert.deepEqual(r.final.unresolved, [], why);
    assert.ok(r.counts.allocations > 50 && r.final.lookups > 0, `the storm ran: ${why}`);
  },
});

Deno.test({
  name: label(`a 5-host mesh split and healed keeps one ring, no address twice (seed ${SEED})`),
  ignore: skip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using net = await TestNet.create({ hosts: 5 });
    const r = await partitionStorm(net, {
      rounds: 2,
      seed: SEED,
      maxSplitMs: 3_000,
      healTimeoutMs: 15_000,
      namesTimeoutMs: 20_000,
    });
    const why = `seed ${SEED}: ${JSON.stringify(r)}`;
    assert.equal(r.healMs.filter((m) => m !== null).length, 2, why);
    assert.equal(r.rings, 1, why);
    assert.deepEqual(r.final.doubles, [], why);
    assert.deepEqual(r.final.lost, [], why);
    assert.deepEqual(r.final.unresolved, [], why);
    assert.ok(r.counts.allocations > 50 && r.final.lookups > 0, `the storm ran: ${why}`);
  },
});
