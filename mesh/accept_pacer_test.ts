import assert from "node:assert/strict";
import { AcceptPacer, type AcceptPacerOptions } from "./accept_pacer.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pacer(opts: Partial<AcceptPacerOptions<string>> = {}) {
  const started: string[] = [];
  const refused: [string, string][] = [];
  const known = new Set<string>();
  const p = new AcceptPacer<string>({
    isKnown: (ip) => known.has(ip),
    start: (c) => started.push(c),
    refuse: (c, why) => refused.push([c, why]),
    maxTokens: 3,
    tokenMs: 20,
    maxWaiting: 5,
    ...opts,
  });
  return { p, started, refused, known };
}

Deno.test("AcceptPacer: a flood from one address does not delay another address", () => {
  const { p, started, refused } = pacer();
  try {
    for (let i = 0; i < 20; i++) p.admit("192.0.2.3", `flood${i}`);
    p.admit("192.0.2.2", "peer");
    assert.deepEqual(started, ["flood0", "flood1", "flood2", "peer"]);
    assert.equal(p.waiting, 5);
    assert.equal(refused.length, 12);
    assert.deepEqual(refused[0], [
      "flood8",
      "too many connections from 192.0.2.3 waiting to be accepted",
    ]);
  } finally {
    p.stop();
  }
});

Deno.test("AcceptPacer: known peers' addresses are never paced", () => {
  const { p, started, known } = pacer();
  try {
    known.add("192.0.2.2");
    for (let i = 0; i < 10; i++) p.admit("192.0.2.2", `peer${i}`);
    assert.equal(started.length, 10);
    assert.equal(p.addresses, 0, "no bucket kept for them");
  } finally {
    p.stop();
  }
});

Deno.test("AcceptPacer: waiting connections start as their address earns tokens, in order", async () => {
  const { p, started } = pacer();
  for (let i = 0; i < 6; i++) p.admit("192.0.2.3", `c${i}`);
  assert.deepEqual(started, ["c0", "c1", "c2"]);
  await sleep(200);
  assert.deepEqual(started, ["c0", "c1", "c2", "c3", "c4", "c5"]);
  assert.equal(p.waiting, 0);
  await sleep(100);
  p.admit("192.0.2.4", "other"); // sweeps buckets back to full
  assert.equal(p.addresses, 1, "the idle address's bucket was forgotten");
  p.stop();
});

Deno.test("AcceptPacer: past maxAddresses new addresses share one bucket; stop hands back the waiting", () => {
  const { p, started } = pacer({ maxAddresses: 2 });
  for (let i = 0; i < 3; i++) p.admit("10.0.0.1", `a${i}`);
  for (let i = 0; i < 3; i++) p.admit("10.0.0.2", `b${i}`);
  p.admit("10.0.0.3", "c0");
  p.admit("10.0.0.4", "d0");
  p.admit("10.0.0.5", "e0");
  p.admit("10.0.0.6", "f0");
  assert.deepEqual(started.slice(6), ["c0", "d0", "e0"]);
  assert.equal(p.addresses, 3);
  assert.deepEqual(p.stop(), ["f0"]);
  assert.equal(p.waiting, 0);
});

Deno.test("AcceptPacer: after stop every connection is refused", () => {
  const { p, started, refused } = pacer();
  p.stop();
  p.admit("192.0.2.3", "late");
  assert.deepEqual([started, refused], [[], [["late", "router stopping"]]]);
});
