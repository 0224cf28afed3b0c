import assert from "node:assert/strict";
import { decodeIpamState, encodeIpamState } from "../ipam/mod.ts";
import { parseState } from "../router/state_store.ts";
import { adoptWeaveState, loadWeaveState, upgradeDecision, weaveStatePath } from "./upgrade.ts";
import { readWeaveState, WeaveStateError } from "./weave_state.ts";

const fixture = new URL("../testdata/state-boltdb/h1-weavedata.db", import.meta.url);

Deno.test("adoptWeaveState gives our router Weave's peer name, ring, addresses and targets", () => {
  const weave = readWeaveState(Deno.readFileSync(fixture));
  const adopted = adoptWeaveState(weave);
  assert.deepEqual(adopted.router, { peerName: "02:00:00:00:00:01" });
  assert.deepEqual(adopted.targets, ["192.0.2.9"]);
  assert.equal(adopted.ipam.peerName, 0x020000000001n);
  assert.equal(adopted.ipam.holds.size, 0);
  // What the IPAM store writes and reads back is the same ring and addresses.
  const back = decodeIpamState(encodeIpamState(adopted.ipam), "test");
  assert.deepEqual(back.ring, weave.ring);
  assert.deepEqual(back.owned, weave.owned);
  // And the router's state file accepts the peer name as it persists it.
  const file = JSON.stringify({ format: "weave-state-v1", state: adopted.router });
  assert.deepEqual(parseState("x", file), adopted.router);
});

Deno.test("adoptWeaveState of a router that never had a ring leaves the ring out", () => {
  const adopted = adoptWeaveState({
    version: [1, 0],
    peerName: 5n,
    owned: new Map(),
    directPeers: [],
    flags: new Map(),
  });
  assert.equal("ring" in adopted.ipam, false);
  assert.equal(adopted.router.peerName, "00:00:00:00:00:05");
});

Deno.test("loadWeaveState reads <prefix>data.db, is absent without it and leaves a damaged one in place", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weave-upgrade-" });
  try {
    const prefix = `${dir}/weave-net`;
    assert.equal(weaveStatePath(prefix), `${dir}/weave-netdata.db`);
    assert.equal(await loadWeaveState(prefix), undefined);
    await Deno.copyFile(fixture, weaveStatePath(prefix));
    assert.equal((await loadWeaveState(prefix))!.peerName, 0x020000000001n);
    const damaged = Deno.readFileSync(fixture).slice(0, 2 * 4096 + 50);
    await Deno.writeFile(weaveStatePath(prefix), damaged);
    await assert.rejects(() => loadWeaveState(prefix), (e: Error) => {
      assert.ok(e instanceof WeaveStateError);
      assert.match(
        e.message,
        /^Weave Net state ".*weave-netdata\.db" cannot be taken over \(left in place\): /,
      );
      return true;
    });
    assert.deepEqual(Deno.readFileSync(weaveStatePath(prefix)), damaged);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("upgradeDecision: not taken over once reclaim was in use and our peer left the list", () => {
  const weave = readWeaveState(Deno.readFileSync(fixture));
  const me = { PeerName: "02:00:00:00:00:01", NodeName: "n1" };
  const other = { PeerName: "02:00:00:00:00:02", NodeName: "n2" };
  // The fixture comes from routers outside Kubernetes: no flag, always taken over.
  assert.equal(weave.flags.size, 0);
  assert.deepEqual(upgradeDecision(weave, []), { adopt: true });
  const flagged = { ...weave, flags: new Map([["peer-reclaim", "ok"]]) };
  assert.deepEqual(upgradeDecision(flagged, [other, me]), { adopt: true });
  const no = upgradeDecision(flagged, [other]);
  assert.equal(no.adopt, false);
  assert.match((no as { reason: string }).reason, /peer 02:00:00:00:00:01 is not in the peer list/);
  assert.equal(upgradeDecision(flagged, []).adopt, false);
});
