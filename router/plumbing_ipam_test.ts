import assert from "node:assert/strict";
import { Allocator } from "../ipam/allocator.ts";
import { CLAIM_UNREACHABLE_GRACE_MS } from "../ipam/allocator.ts";
import { FakeStore } from "../ipam/store/mod.ts";
import { discardLogger } from "../lib/log.ts";
import { plumbingIpam } from "./plumbing_ipam.ts";

const US = 0x020000000001n;

/** A started allocator over 10.32.0.0/12 (no mesh, no timer, a clock to move) and its adapter. */
async function rig(init: string) {
  const store = new FakeStore();
  const now = { t: 1_000_000 };
  const alloc = new Allocator({
    ourName: US,
    ourUID: 1n,
    nickName: "h1",
    range: "10.32.0.0/12",
    init,
    store,
    log: discardLogger,
    peers: () => [],
    tickMs: 0,
    clock: () => now.t,
  });
  await alloc.start();
  return { alloc, store, now, ipam: plumbingIpam(alloc), [Symbol.dispose]: () => alloc.stop() };
}

const owned = (alloc: Allocator) =>
  Object.fromEntries(alloc.ownedAddresses().map((o) => [o.ident, o.cidrs.length]));
const never = new AbortController().signal;

Deno.test("plumbingIpam.claim holds an in-range address for the container: allocation skips it", async () => {
  using r = await rig("seed=02:00:00:00:00:01");
  await r.ipam.claim("c1", "10.32.0.1/12", never);
  await r.ipam.claim("c1", "10.32.0.1/12", never); // the holder claiming again is fine
  assert.equal(await r.ipam.allocate("c2", undefined, never), "10.32.0.2/12");
  assert.deepEqual(owned(r.alloc), { c1: 1, c2: 1 });
  assert.equal(r.alloc.report().ActiveIPs, 2);
  await assert.rejects(
    r.ipam.claim("c3", "10.32.0.1/12", never),
    /^Error: address 10\.32\.0\.1 is already owned by c1$/,
  );
  await assert.rejects(r.ipam.claim("c3", "10.32.0.2/12", never), /already owned by c2/);
});

Deno.test("plumbingIpam.claim of an address another peer owns names that peer", async () => {
  using r = await rig("seed=02:00:00:00:00:01,02:00:00:00:00:02");
  await r.alloc.prime();
  const theirs = r.alloc.report().Entries.find((e) => e.Peer === "02:00:00:00:00:02");
  assert.ok(theirs, JSON.stringify(r.alloc.report().Entries));
  const [a, b, c, d] = theirs.Token.split(".").map(Number);
  const addr = `${a}.${b}.${c}.${d + 1}`;
  const claim = r.ipam.claim("c1", `${addr}/12`, never);
  // The owner is not reachable: the claim waits (Weave fails at once), then fails.
  await new Promise((resolve) => setTimeout(resolve, 0));
  r.now.t += CLAIM_UNREACHABLE_GRACE_MS;
  r.alloc.tick();
  await assert.rejects(
    claim,
    new RegExp(`^Error: address ${addr.replaceAll(".", "\\.")} is owned by other peer 02:00`),
  );
  assert.deepEqual(owned(r.alloc), {});
});

Deno.test("plumbingIpam.claim outside the range is recorded at once; inside it waits for the ring", async () => {
  // An observer alone never gets a ring.
  using r = await rig("observer");
  await r.ipam.claim("c1", "192.168.7.5/24", never);
  assert.deepEqual(owned(r.alloc), { c1: 1 });
  assert.equal(r.alloc.report().ActiveIPs, 0, "not in IPAM's space");
  const ctl = new AbortController();
  let settled = false;
  const waiting = r.ipam.claim("c1", "10.32.0.7/12", ctl.signal).finally(() => settled = true);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(settled, false, "waits for consensus");
  ctl.abort();
  await assert.rejects(waiting, /cancelled/);
  assert.deepEqual(owned(r.alloc), { c1: 1 }, "the cancelled claim left nothing");
  assert.equal(r.alloc.report().PendingClaims, null);
});

Deno.test("plumbingIpam.release frees one claimed address or all; unknown ones are a no-op", async () => {
  using r = await rig("seed=02:00:00:00:00:01");
  await r.ipam.claim("c1", "10.32.0.1/12", never);
  await r.ipam.claim("c1", "10.32.0.9/12", never);
  await r.ipam.claim("c1", "192.168.7.5/24", never);
  await r.ipam.release("c1", "10.32.0.9/12");
  assert.deepEqual(
    r.alloc.ownedAddresses()[0].cidrs.map((c) => c.addr % 256),
    [1, 5],
  );
  await r.ipam.release("c1", "10.32.0.77/12"); // never held
  await r.ipam.release("nobody");
  await r.ipam.release("nobody", "10.32.0.1/12");
  await r.ipam.release("c1", "192.168.7.5/24");
  assert.deepEqual(r.alloc.ownedAddresses()[0].cidrs.map((c) => c.addr % 256), [1]);
  assert.equal(await r.ipam.allocate("c2", undefined, never), "10.32.0.2/12");
  await r.ipam.release("c1");
  assert.deepEqual(owned(r.alloc), { c2: 1 });
  await r.ipam.claim("c3", "10.32.0.1/12", never); // free again
});

Deno.test("plumbingIpam records weave:expose as no container; bad text is a SyntaxError", async () => {
  using r = await rig("seed=02:00:00:00:00:01");
  await r.ipam.claim("weave:expose", "10.32.0.1/12", never);
  assert.equal(await r.ipam.allocate("weave:expose", "10.33.0.0/24", never), "10.33.0.1/24");
  await r.ipam.claim("c1", "10.32.0.3/12", never);
  const saved = r.store.saved!.owned;
  assert.equal(saved.get("weave:expose")?.isContainer, false);
  assert.equal(saved.get("weave:expose")?.cidrs.length, 2);
  assert.equal(saved.get("c1")?.isContainer, true);
  await assert.rejects(r.ipam.claim("c1", "10.32.0.1", never), SyntaxError);
  await assert.rejects(r.ipam.release("c1", "x/12"), SyntaxError);
});
