import assert from "node:assert/strict";
import { formatPeerName } from "../lib/peer_name.ts";
import { readBoltBucket } from "./boltdb.ts";
import { decodeWeaveState, readWeaveState, WeaveStateError } from "./weave_state.ts";

const dir = new URL("../testdata/state-boltdb/", import.meta.url);
const read = (name: string) => Deno.readFileSync(new URL(name, dir));
const text = (name: string) => Deno.readTextFileSync(new URL(name, dir));

function ipText(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join(".");
}

/** What the Go router reported just before it was killed, from the files beside the db. */
function expected(host: "h1" | "h2") {
  const report = JSON.parse(text(`${host}-report.json`));
  const ip = JSON.parse(text(`${host}-ip.json`));
  return {
    name: report.Router.Name as string,
    entries:
      (report.IPAM.Entries as { Token: string; Size: number; Peer: string; Version: number }[])
        .map((e) => ({ token: e.Token, size: e.Size, peer: e.Peer, version: e.Version })),
    owned: new Map(
      (ip.owned as { containerid: string; addrs: string[] }[]).map((o) => [o.containerid, o.addrs]),
    ),
    targets: text(`${host}-status_targets.txt`).split("\n").filter((l) => l !== ""),
  };
}

for (const host of ["h1", "h2"] as const) {
  Deno.test(`readWeaveState takes the Go router's state out of ${host}'s BoltDB file`, () => {
    const want = expected(host);
    const s = readWeaveState(read(`${host}-weavedata.db`));
    assert.deepEqual(s.version, [1, 0]);
    assert.equal(formatPeerName(s.peerName), want.name);
    const ring = s.ring!;
    assert.equal(ipText(ring.start), "10.32.0.0");
    assert.equal(ipText(ring.end), "10.48.0.0");
    assert.equal(formatPeerName(ring.peer), want.name);
    const entries = ring.entries.map((e, i) => ({
      token: ipText(e.token),
      size: (ring.entries[i + 1]?.token ?? ring.end) - e.token,
      peer: formatPeerName(e.peer),
      version: e.version,
    }));
    assert.deepEqual(entries, want.entries);
    const owned = new Map(
      [...s.owned].map(([id, d]) => [id, d.cidrs.map((c) => `${ipText(c.addr)}/${c.prefix}`)]),
    );
    assert.deepEqual(new Map([...owned].sort()), new Map([...want.owned].sort()));
    // Allocated through the HTTP API, not for containers Weave saw start: IsContainer is false.
    assert.ok([...s.owned.values()].every((d) => !d.isContainer));
    assert.deepEqual(s.directPeers, want.targets);
  });
}

Deno.test("readWeaveState: h1 still owns the one address it claimed in h2's range", () => {
  const s = readWeaveState(read("h1-weavedata.db"));
  const claim = s.owned.get("c1claim")!;
  assert.deepEqual(claim.cidrs.map((c) => [ipText(c.addr), c.prefix]), [["10.44.0.10", 12]]);
  const owner = s.ring!.entries.find((e) => ipText(e.token) === "10.44.0.10")!;
  assert.equal(owner.peer, s.peerName);
  assert.equal(owner.free, 0);
});

Deno.test("decodeWeaveState refuses missing keys and unknown versions", () => {
  const top = readBoltBucket(read("h1-weavedata.db"), "top")!;
  const without = (k: string) => new Map([...top].filter(([key]) => key !== k));
  assert.throws(() => decodeWeaveState(without("version")), /No "version" key/);
  assert.throws(() => decodeWeaveState(without("peername")), /No "peername" key/);
  const v2 = new Map(top).set("version", Uint8Array.of(2, 0));
  assert.throws(() => decodeWeaveState(v2), /Unknown persistence version 2\.0, expected 1\.x/);
  // A router that never reached consensus has no ring, owned addresses or targets.
  const bare = new Map([["version", Uint8Array.of(1, 0)], ["peername", top.get("peername")!]]);
  const s = decodeWeaveState(bare);
  assert.equal(s.ring, undefined);
  assert.deepEqual([s.owned.size, s.directPeers], [0, []]);
  // A newer minor version is read as Weave reads it.
  assert.deepEqual(decodeWeaveState(new Map(bare).set("version", Uint8Array.of(1, 3))).version, [
    1,
    3,
  ]);
});

Deno.test("decodeWeaveState refuses values of the wrong type or with trailing bytes", () => {
  const top = readBoltBucket(read("h1-weavedata.db"), "top")!;
  const swap = (k: string, from: string) => new Map(top).set(k, top.get(from)!);
  assert.throws(
    () => decodeWeaveState(swap("peername", "directPeers")),
    /"peername": expected a 48-bit uint/,
  );
  assert.throws(
    () => decodeWeaveState(swap("directPeers", "peername")),
    /"directPeers": expected a list/,
  );
  assert.throws(
    () => decodeWeaveState(swap("ownedAddresses", "peername")),
    /"ownedAddresses": not a map/,
  );
  assert.throws(() => decodeWeaveState(swap("ring", "ownedAddresses")), /Cannot decode "ring"/);
  const two = new Uint8Array([...top.get("peername")!, ...top.get("peername")!]);
  assert.throws(
    () => decodeWeaveState(new Map(top).set("peername", two)),
    /expected one gob value, got 2/,
  );
  const ringPlus = new Uint8Array([...top.get("ring")!, 0x03, 0x06, 0x00, 0x02]);
  assert.throws(
    () => decodeWeaveState(new Map(top).set("ring", ringPlus)),
    /4 bytes after the value/,
  );
});

Deno.test("readWeaveState refuses truncated files and values cut short", () => {
  const bytes = read("h2-weavedata.db");
  assert.throws(() => readWeaveState(bytes.slice(0, 4 * 4096 + 600)), (e: Error) => {
    assert.ok(e instanceof WeaveStateError);
    assert.match(e.message, /^Cannot read BoltDB file: page 4 .*past the end/);
    return true;
  });
  const top = readBoltBucket(bytes, "top")!;
  for (const key of ["peername", "ring", "ownedAddresses", "directPeers"]) {
    const v = top.get(key)!;
    for (const cut of [1, Math.floor(v.length / 2), v.length - 1]) {
      const damaged = new Map(top).set(key, v.subarray(0, cut));
      assert.throws(() => decodeWeaveState(damaged), WeaveStateError, `${key} cut at ${cut}`);
    }
  }
  assert.throws(() => readWeaveState(new Uint8Array(8192)), /no valid meta page/);
});

Deno.test("readWeaveState refuses a ring whose tokens are out of order", () => {
  const bytes = read("h1-weavedata.db");
  const ring = readBoltBucket(bytes, "top")!.get("ring")!;
  // The second entry's token 10.40.0.0 (fc 0a 28 00 00) becomes 10.31.0.0: below the first.
  const at = ring.byteOffset +
    ring.findIndex((_, i) => ring[i] === 0xfc && ring[i + 1] === 0x0a && ring[i + 2] === 0x28);
  const damaged = bytes.slice();
  damaged[at + 2] = 0x1f;
  assert.throws(() => readWeaveState(damaged), /Cannot use "ring"/);
});

Deno.test("readWeaveState: no single damaged byte of the bucket makes it throw anything but WeaveStateError", () => {
  const bytes = read("h1-weavedata.db");
  // The current tree is page 2 (the bucket top, inline): damage each byte in turn.
  let refused = 0;
  for (let i = 2 * 4096; i < 2 * 4096 + 0x2e0; i++) {
    for (const x of [0xff, 0x80]) {
      const damaged = bytes.slice();
      damaged[i] ^= x;
      try {
        const s = readWeaveState(damaged);
        assert.ok(typeof s.peerName === "bigint" && s.owned instanceof Map, `byte ${i}`);
      } catch (e) {
        assert.ok(e instanceof WeaveStateError, `byte ${i}: ${e}`);
        refused++;
      }
    }
  }
  assert.ok(refused > 0);
});

Deno.test("decodeWeaveState reads weaveutil's flag: keys as strings", () => {
  const top = readBoltBucket(read("h1-weavedata.db"), "top")!;
  // gob of the string "ok": length 5, type id string (12 → 6), singleton 0, length 2, "ok".
  const ok = Uint8Array.of(5, 0x0c, 0, 2, 0x6f, 0x6b);
  const s = decodeWeaveState(new Map(top).set("flag:peer-reclaim", ok));
  assert.deepEqual([...s.flags], [["peer-reclaim", "ok"]]);
  const bad = new Map(top).set("flag:x", top.get("peername")!);
  assert.throws(() => decodeWeaveState(bad), /"flag:x": not a string/);
});
