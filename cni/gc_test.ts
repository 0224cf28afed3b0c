import assert from "node:assert/strict";
import { gcCandidates, isWeaveOwner } from "./gc.ts";

Deno.test("gcCandidates is the set difference owned − valid − weave's own − kept", () => {
  const owned = (...ids: string[]) =>
    ids.map((containerid) => ({ containerid, addrs: ["10.32.0.1/12"] }));
  const valid = (...ids: string[]) => ids.map((containerID) => ({ containerID, ifname: "eth0" }));
  const table: [ReturnType<typeof owned>, ReturnType<typeof valid>, string[], string[]][] = [
    [owned(), valid(), [], []],
    [owned("a", "b"), valid(), [], ["a", "b"]],
    [owned("a", "b"), valid("a"), [], ["b"]],
    [owned("a"), valid("a", "z"), [], []],
    [owned("b", "a", "a"), valid(), [], ["a", "b"]],
    [owned("weave:expose", "weave:extern", "pid:7", "/proc/7/ns/net", "c"), valid(), [], ["c"]],
    [owned("ns1", "c"), valid(), ["ns1"], ["c"]],
  ];
  for (const [o, v, kept, want] of table) {
    assert.deepEqual(gcCandidates(o, v, (id) => kept.includes(id)), want, JSON.stringify([o, v]));
  }
});

Deno.test("isWeaveOwner recognises weave's and weave attach's owners only", () => {
  assert.deepEqual(
    ["weave:expose", "pid:1", "/run/netns/x", "", "4b0c1d", "c1"].map(isWeaveOwner),
    [true, true, true, true, false, false],
  );
});
