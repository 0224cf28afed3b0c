import assert from "node:assert/strict";
import { expose, hide, natScript, parseMasqueraded, readMasqueraded } from "./expose.ts";
import { FakeKernel, FakeNft } from "./fake_kernel.ts";

function rig() {
  const k = new FakeKernel();
  const bridge = k.host.addLink({ name: "weave", kind: "bridge", mtu: 1376, up: true });
  const nft = new FakeNft();
  const addrs = () => k.host.addrs.filter((a) => a.index === bridge.index).map((a) => a.cidr);
  return { nl: k.host, nft, addrs };
}

Deno.test("natScript replaces our table atomically with three rules per address", () => {
  const script = natScript("weave", ["10.32.0.254/12"]);
  const lines = script.split("\n");
  assert.deepEqual(lines.slice(0, 3), [
    "add table ip weave-ts",
    "delete table ip weave-ts",
    "table ip weave-ts {",
  ]);
  assert.ok(lines.includes("    type nat hook postrouting priority srcnat; policy accept;"));
  const tag = 'comment "weave-expose 10.32.0.254/12"';
  assert.deepEqual(lines.filter((l) => l.includes(tag)).map((l) => l.trim()), [
    `ip saddr 10.32.0.0/12 ip daddr 224.0.0.0/4 return ${tag}`,
    `ip saddr != 10.32.0.0/12 ip daddr 10.32.0.0/12 oifname "weave" masquerade ${tag}`,
    `ip saddr 10.32.0.0/12 ip daddr != 10.32.0.0/12 oifname != "weave" masquerade fully-random ${tag}`,
  ]);
  assert.throws(() => natScript('we"ave', ["10.32.0.254/12"]), TypeError);
  assert.throws(() => natScript("weave", ['10.32.0.254/12" accept']), SyntaxError);
});

Deno.test("parseMasqueraded reads our comments and survives hostile output", () => {
  const doc = {
    nftables: [
      { metainfo: {} },
      { rule: { comment: "weave-expose 10.40.0.1/16" } },
      { rule: { comment: "weave-expose 10.32.0.254/12" } },
      { rule: { comment: "weave-expose 10.32.0.254/12" } },
      { rule: { comment: "weave-expose garbage" } },
      { rule: { comment: "someone else" } },
      { rule: { comment: 42 } },
      null,
      "x",
    ],
  };
  assert.deepEqual(parseMasqueraded(JSON.stringify(doc)), ["10.32.0.254/12", "10.40.0.1/16"]);
  for (const odd of ["{}", "[]", "null", '{"nftables":5}']) {
    assert.deepEqual(parseMasqueraded(odd), []);
  }
  assert.throws(() => parseMasqueraded("{"), SyntaxError);
});

Deno.test("expose adds the address and masquerading; again changes nothing; a deleted table returns", async () => {
  const { nl, nft, addrs } = rig();
  assert.deepEqual(await expose(nl, { cidrs: ["10.32.0.254/12"], nft: nft.run }), [
    "10.32.0.254/12",
  ]);
  assert.deepEqual([addrs(), nft.table], [["10.32.0.254/12"], ["10.32.0.254/12"]]);
  nl.ops = [];
  await expose(nl, { cidrs: ["10.32.0.254/12"], nft: nft.run });
  assert.deepEqual(nl.changes(), []);
  assert.equal(nft.scripts[1], nft.scripts[0]);
  nft.table = undefined; // deleted by someone else
  await expose(nl, { cidrs: ["10.32.0.254/12"], nft: nft.run });
  assert.deepEqual(await readMasqueraded(nft.run), ["10.32.0.254/12"]);
});

Deno.test("expose without masquerade keeps the table free of that address", async () => {
  const { nl, nft, addrs } = rig();
  await expose(nl, { cidrs: ["10.32.0.254/12"], nft: nft.run });
  await expose(nl, { cidrs: ["10.40.0.1/16"], masquerade: false, nft: nft.run });
  assert.deepEqual([addrs(), nft.table], [["10.32.0.254/12", "10.40.0.1/16"], ["10.32.0.254/12"]]);
  await expose(nl, { cidrs: ["10.32.0.254/12"], masquerade: false, nft: nft.run });
  assert.equal(nft.table, undefined);
});

Deno.test("expose refuses bad input, a missing bridge and reports nft failures", async () => {
  const { nl, nft, addrs } = rig();
  await assert.rejects(expose(nl, { cidrs: [], nft: nft.run }), TypeError);
  await assert.rejects(expose(nl, { cidrs: ["10.32.0.0/12"], nft: nft.run }), RangeError);
  await assert.rejects(
    expose(nl, { cidrs: ["10.32.0.254/12"], bridge: "nope", nft: nft.run }),
    /bridge "nope" does not exist/,
  );
  nft.failNext = "Error: Could not process rule: Operation not supported";
  await assert.rejects(
    expose(nl, { cidrs: ["10.32.0.254/12"], nft: nft.run }),
    /Cannot read nftables table "ip weave-ts": Error: Could not process rule/,
  );
  assert.deepEqual(addrs(), ["10.32.0.254/12"]);
});

Deno.test("hide removes given or all addresses and deletes our table when empty", async () => {
  const { nl, nft, addrs } = rig();
  await expose(nl, { cidrs: ["10.32.0.254/12", "10.40.0.1/16"], nft: nft.run });
  assert.deepEqual(await hide(nl, { cidrs: ["10.40.0.1/16"], nft: nft.run }), ["10.40.0.1/16"]);
  assert.deepEqual([addrs(), nft.table], [["10.32.0.254/12"], ["10.32.0.254/12"]]);
  assert.deepEqual(await hide(nl, { nft: nft.run }), ["10.32.0.254/12"]);
  assert.deepEqual([addrs(), nft.table], [[], undefined]);
  assert.deepEqual(await hide(nl, { nft: nft.run }), []);
  assert.deepEqual(await hide(nl, { cidrs: ["10.32.0.254/12"], nft: nft.run }), ["10.32.0.254/12"]);
});
