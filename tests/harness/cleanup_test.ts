import assert from "node:assert/strict";
import { cleanupStale, listNamespaces, OUR_PREFIXES, prefixOf } from "./cleanup.ts";
import { netnsSkipReason, randomPrefix } from "./netns.ts";
import { runOk } from "./exec.ts";

const skip = netnsSkipReason();

Deno.test("prefixOf: finds the run prefix of our switch and host namespaces", () => {
  assert.equal(prefixOf("wt1a2bsw"), "wt1a2b");
  assert.equal(prefixOf("wt1a2bh1"), "wt1a2b");
  assert.equal(prefixOf("wd00ffh12"), "wd00ff");
  assert.equal(prefixOf("wt1a2bh253"), "wt1a2b");
});

Deno.test("prefixOf: leaves foreign names alone", () => {
  for (const ns of ["wt1a2b", "wt1a2bxx", "wx1a2bsw", "wt1a2bcsw", "WT1A2Bsw", "sw", "h1", ""]) {
    assert.equal(prefixOf(ns), undefined, ns);
  }
});

Deno.test("prefixOf: with an exact prefix matches that prefix only", () => {
  assert.equal(prefixOf("wd1111h2", "wd1111"), "wd1111");
  assert.equal(prefixOf("wd2222h2", "wd1111"), undefined);
  assert.equal(prefixOf("demoh1", "demo"), "demo");
});

Deno.test("randomPrefix: is one of our prefixes, of the asked family", () => {
  for (let i = 0; i < 20; i++) {
    assert.match(randomPrefix(), OUR_PREFIXES);
    assert.match(randomPrefix("wd"), /^wd[0-9a-f]{4}$/);
  }
});

Deno.test({
  name: `cleanupStale: removes one prefix's namespaces and temp dir, no other${
    skip ? ` (ignored: ${skip})` : ""
  }`,
  ignore: !!skip,
  fn: async () => {
    const [gone, kept] = [randomPrefix(), randomPrefix()];
    const tmp = await Deno.makeTempDir({ prefix: `weave-${gone}-` });
    try {
      for (const ns of [`${gone}sw`, `${gone}h1`, `${kept}h1`]) {
        await runOk(["ip", "netns", "add", ns]);
      }
      const removed = await cleanupStale(gone);
      assert.deepEqual(removed, [`${gone}h1`, `${gone}sw`, tmp]);
      const left = await listNamespaces();
      assert.ok(!left.includes(`${gone}h1`) && !left.includes(`${gone}sw`));
      assert.ok(left.includes(`${kept}h1`));
    } finally {
      await cleanupStale(kept);
      await cleanupStale(gone);
    }
  },
});
