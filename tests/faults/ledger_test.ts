import assert from "node:assert/strict";
import { doubleOwned, Ledger, lostAddresses, parseOwned } from "./ledger.ts";

Deno.test("ledger: an answered address missing from the router is lost; unanswered ones never are", () => {
  const l = new Ledger();
  l.allocated("a", 1, 200, "10.32.0.1/12");
  l.allocated("b", 1, 0, "TypeError: connection reset");
  l.allocated("c", 2, 200, "10.40.0.1/12");
  l.released("c", 204, 204);
  const owned = parseOwned(1, '{"owned":null}\n');
  assert.deepEqual(lostAddresses(l, owned), ["a@h1=10.32.0.1"]);
  assert.deepEqual(
    lostAddresses(l, parseOwned(1, '{"owned":[{"containerid":"a","addrs":["10.32.0.1/12"]}]}')),
    [],
  );
  assert.deepEqual(l.heldOn(1), ["a"]);
});

Deno.test("ledger: a release cut by a kill leaves the id unknown, not released", () => {
  const l = new Ledger();
  l.allocated("a", 1, 200, "10.32.0.1/12");
  l.named("a", 204);
  l.released("a", 204, 0);
  assert.equal(l.entries()[0][1].unknown, true);
  assert.deepEqual(lostAddresses(l, []), []);
});

Deno.test("doubleOwned: one address under two ids or two hosts", () => {
  const owned = [
    ...parseOwned(1, '{"owned":[{"containerid":"a","addrs":["10.32.0.1/12"]}]}'),
    ...parseOwned(2, '{"owned":[{"containerid":"b","addrs":["10.32.0.1/12","10.40.0.2/12"]}]}'),
  ];
  assert.deepEqual(doubleOwned(owned), ["10.32.0.1: a@h1, b@h2"]);
  assert.deepEqual(doubleOwned(owned.slice(1)), []);
});
