import assert from "node:assert/strict";
import { parseCidr, parseIPv4 } from "../lib/cidr.ts";
import type { PeerName } from "../lib/peer_name.ts";
import {
  allocateAnswer,
  type AllocateOp,
  CancelledError,
  CLAIM_UNREACHABLE_GRACE_MS,
  type ClaimOp,
  claimStep,
  Once,
  type Operation,
  type OpView,
  PendingOps,
} from "./_operations.ts";
import { OwnedBook } from "./_owned.ts";
import { Ring } from "./ring/mod.ts";

const A = 0x020000000001n, B = 0x020000000002n;
const ip = parseIPv4;

const allocateOp = (ident: string, subnet = "10.0.0.0/24"): AllocateOp => ({
  kind: "allocate",
  ident,
  subnet: parseCidr(subnet),
  isContainer: true,
  done: new Once(),
});

const claimOp = (ident: string, addr: string, noErrorOnUnknown = false): ClaimOp => ({
  kind: "claim",
  ident,
  cidr: { addr: ip(addr), prefix: 24 },
  isContainer: true,
  noErrorOnUnknown,
  done: new Once(),
});

/** A view of a ring over 10.0.0.0/24 split between A (.0-.127) and B, as A. */
function view(opts: { empty?: boolean; reachable?: boolean; held?: boolean; now?: () => number }) {
  const ring = new Ring(ip("10.0.0.0"), ip("10.0.1.0"), A);
  if (!opts.empty) ring.claimForPeers([A, B]);
  const owned = new OwnedBook();
  owned.add("c1", { addr: ip("10.0.0.5"), prefix: 24 }, true);
  owned.add("10.0.0.6", { addr: ip("10.0.0.6"), prefix: 24 }, true);
  const v: OpView = {
    universe: parseCidr("10.0.0.0/24"),
    ourName: A,
    ring: () => ring,
    owned,
    isHeld: () => opts.held ?? false,
    isKnown: (p: PeerName) => p === A || (opts.reachable ?? true),
    nickname: (p: PeerName) => (p === B ? "h2" : undefined),
    now: opts.now ?? (() => 0),
  };
  return v;
}

Deno.test("PendingOps.retry tries primes, then claims, then allocations, and keeps the unfinished", () => {
  const queue = new PendingOps();
  const ops: Operation[] = [
    allocateOp("a1"),
    claimOp("c1", "10.0.0.9"),
    { kind: "prime", ident: "ring", done: new Once() },
    allocateOp("a2"),
  ];
  for (const op of ops) queue.add(op);
  const tried: string[] = [];
  queue.retry((op) => (tried.push(op.ident), op.kind !== "allocate"));
  assert.deepEqual(tried, ["ring", "c1", "a1", "a2"]);
  assert.equal(queue.size, 2);
  assert.deepEqual(queue.allocates.map((op) => op.ident), ["a1", "a2"]);
  assert.deepEqual(queue.claims, []);
});

Deno.test("PendingOps: one space request per key and pass; cancelAll and aborts cancel", async () => {
  const queue = new PendingOps();
  assert.equal(queue.firstAsk("B/0/16"), true);
  assert.equal(queue.firstAsk("B/0/16"), false);
  queue.retry(() => true);
  assert.equal(queue.firstAsk("B/0/16"), true, "a new pass asks again");

  const aborted = allocateOp("gone");
  const ctl = new AbortController();
  queue.add(aborted);
  queue.cancelOnAbort(aborted, ctl.signal);
  ctl.abort();
  assert.equal(queue.size, 0);
  await assert.rejects(aborted.done.promise, CancelledError);

  const waiting = claimOp("c", "10.0.0.200");
  queue.add(waiting);
  assert.deepEqual(queue.claimsIn({ start: ip("10.0.0.200"), end: ip("10.0.0.201") }), [waiting]);
  assert.deepEqual(queue.claimsIn({ start: ip("10.0.0.0"), end: ip("10.0.0.200") }), []);
  queue.cancelAll();
  assert.equal(queue.size, 0);
  await assert.rejects(waiting.done.promise, /Claim request for c cancelled/);
});

Deno.test("allocateAnswer: an address already held, a subnet out of bounds, else undefined", () => {
  const v = view({});
  assert.deepEqual(allocateAnswer(v, allocateOp("c1")), {
    existing: { addr: ip("10.0.0.5"), prefix: 24 },
  });
  const out = allocateAnswer(v, allocateOp("c2", "10.9.0.0/24"));
  assert.ok(out && "error" in out);
  assert.match(out.error.message, /range 10\.9\.0\.0\/24 out of bounds: 10\.0\.0\.0\/24/);
  assert.equal(allocateAnswer(v, allocateOp("c2")), undefined);
});

Deno.test("claimStep: one row per outcome", () => {
  const cases: [string, ReturnType<typeof view>, ClaimOp, string][] = [
    ["outside the ring", view({}), claimOp("c", "10.0.2.1"), "record"],
    ["no ring yet", view({ empty: true }), claimOp("c", "10.0.0.9"), "fail"],
    [
      "no ring yet, restored container",
      view({ empty: true }),
      claimOp("c", "10.0.0.9", true),
      "resolve+wait",
    ],
    ["another peer's, reachable", view({}), claimOp("c", "10.0.0.200"), "ask"],
    [
      "another peer's, unreachable, in grace",
      view({ reachable: false }),
      claimOp("c", "10.0.0.200"),
      "wait",
    ],
    ["ours, free", view({}), claimOp("c", "10.0.0.9"), "take"],
    ["ours, held by a takeover", view({ held: true }), claimOp("c", "10.0.0.9"), "wait"],
    ["ours, already this ident's", view({}), claimOp("c1", "10.0.0.5"), "resolve"],
    ["ours, another ident's", view({}), claimOp("c", "10.0.0.5"), "fail"],
    ["ours, a bare address", view({}), claimOp("c", "10.0.0.6"), "fail"],
  ];
  for (const [name, v, op, want] of cases) {
    const step = claimStep(v, op);
    const got = step.do === "resolve" && step.wait ? "resolve+wait" : step.do;
    assert.equal(got, want, name);
  }
  const bare = claimStep(view({}), claimOp("_", "10.0.0.9"));
  assert.deepEqual(bare, { do: "take", ident: "10.0.0.9" });
  const owned = claimStep(view({}), claimOp("c", "10.0.0.5"));
  assert.ok(owned.do === "fail" && /already owned by c1/.test(owned.error.message));
  const inUse = claimStep(view({}), claimOp("c", "10.0.0.6"));
  assert.ok(inUse.do === "fail" && /address 10\.0\.0\.6 already in use/.test(inUse.error.message));
});

Deno.test("claimStep: an unreachable owner is denied once the grace period is over", () => {
  const now = { t: 1_000 };
  const v = view({ reachable: false, now: () => now.t });
  const op = claimOp("c", "10.0.0.200");
  assert.equal(claimStep(v, op).do, "wait");
  assert.equal(op.unreachableSince, 1_000);
  now.t += CLAIM_UNREACHABLE_GRACE_MS;
  const step = claimStep(v, op);
  assert.ok(step.do === "fail");
  assert.equal(
    step.error.message,
    "address 10.0.0.200 is owned by other peer 02:00:00:00:00:02 (h2)",
  );
});
