import assert from "node:assert/strict";
import type { PeerName } from "../lib/peer_name.ts";
import { peerRoutes } from "./peer.ts";
import { Peers, randomShortID } from "./peers.ts";
import type { ConnectionSummary, PeerSummary, TopologyEntry } from "./topology_types.ts";

const US = 0x50n;

function summary(name: PeerName, over: Partial<PeerSummary> = {}): PeerSummary {
  return {
    name,
    nickName: `host-${name}`,
    uid: 1000n + name,
    version: 1n,
    shortID: Number(name),
    hasShortID: true,
    ...over,
  };
}

function conn(name: PeerName, established = true): ConnectionSummary {
  return { name, remoteTCPAddr: `10.0.0.${name}:6783`, outbound: true, established };
}

function entry(peer: PeerSummary, remotes: PeerName[] = []): TopologyEntry {
  return { peer, connections: remotes.map((n) => conn(n)) };
}

/** Our table, connected to `neighbours`. */
function table(neighbours: PeerName[] = [], opts = {}): Peers {
  const peers = new Peers(summary(US, { version: 0n }), opts);
  for (const n of neighbours) peers.addLocalConnection(conn(n));
  return peers;
}

Deno.test("Peers starts holding only ourselves", () => {
  const peers = table();
  assert.equal(peers.size, 1);
  assert.deepEqual(peers.ourself.summary(), summary(US, { version: 0n }));
  assert.equal(peers.byShortID(Number(US))?.name, US);
  assert.throws(() => new Peers(summary(1n, { uid: 0n })), RangeError);
});

Deno.test("Peers local mutations bump our version once each", () => {
  const peers = table();
  peers.addLocalConnection(conn(2n, false));
  assert.equal(peers.ourself.version, 1n);
  assert.equal(peers.get(2n)?.uid, 0n, "unknown remote becomes a placeholder");
  assert.equal(peers.establishLocalConnection(2n), true);
  assert.equal(peers.ourself.connections.get(2n)?.established, true);
  assert.equal(peers.ourself.version, 2n);
  assert.equal(peers.establishLocalConnection(3n), false);
  assert.equal(peers.deleteLocalConnection(3n), false);
  assert.equal(peers.ourself.version, 2n, "no-ops do not bump");
  assert.equal(peers.deleteLocalConnection(2n), true);
  assert.equal(peers.ourself.version, 3n);
  assert.equal(peers.ourself.connections.size, 0);
  assert.throws(() => peers.addLocalConnection(conn(US)), /ourselves/);
});

Deno.test("applyUpdate adds a new peer and placeholders for names it lists", () => {
  const peers = table([2n]);
  const b = summary(2n);
  const result = peers.applyUpdate([entry(b, [US, 3n])]);
  assert.deepEqual(result, {
    received: [2n],
    changed: [2n],
    newPeers: [3n],
    removed: [],
    ourselfChanged: false,
  });
  assert.deepEqual(peers.get(2n)?.summary(), b);
  assert.deepEqual([...peers.get(2n)!.connections.keys()], [US, 3n]);
  assert.deepEqual(peers.get(3n)?.summary(), {
    name: 3n,
    nickName: "",
    uid: 0n,
    version: 0n,
    shortID: 0,
    hasShortID: false,
  });
});

Deno.test("applyUpdate counts a peer first seen in the update as new and changed", () => {
  const peers = table([2n]);
  peers.applyUpdate([entry(summary(2n), [US, 3n])]);
  const result = peers.applyUpdate([entry(summary(3n), [2n, 4n]), entry(summary(2n), [US, 3n])]);
  assert.deepEqual(result.changed, [3n], "2 is not newer than what we hold");
  assert.deepEqual(result.newPeers, [4n], "3 was a placeholder already");
  assert.deepEqual(result.received, [3n, 2n]);
});

Deno.test("applyUpdate replaces a known peer only when the update is newer", () => {
  const known = summary(2n, { version: 5n, uid: 20n, hasShortID: false });
  const cases: [string, Partial<PeerSummary>, boolean][] = [
    ["older version", { version: 4n, uid: 99n }, false],
    ["same record", {}, false],
    ["equal version, lower UID", { uid: 19n }, false],
    ["equal version, higher UID", { uid: 21n }, true],
    ["equal both, gains short ID", { hasShortID: true }, true],
    ["newer version, lower UID", { version: 6n, uid: 1n }, true],
  ];
  for (const [label, over, replaced] of cases) {
    const peers = table([2n]);
    peers.applyUpdate([entry(known, [US])]);
    const received = { ...known, nickName: "renamed", ...over };
    const result = peers.applyUpdate([entry(received, [US, 7n])]);
    assert.deepEqual(result.changed, replaced ? [2n] : [], label);
    assert.deepEqual(peers.get(2n)?.summary(), replaced ? received : known, label);
    assert.equal(peers.get(2n)?.connections.size, replaced ? 2 : 1, label);
  }
});

Deno.test("applyUpdate about an old incarnation of ourselves bumps our version past it", () => {
  const cases: [string, Partial<PeerSummary>, bigint, boolean][] = [
    ["other UID, higher version", { uid: 1n, version: 40n }, 41n, true],
    ["other UID, equal version", { uid: 1n, version: 3n }, 4n, true],
    ["other UID, lower version", { uid: 1n, version: 2n }, 3n, false],
    ["our UID, higher version", { version: 40n }, 3n, false],
  ];
  for (const [label, over, version, bumped] of cases) {
    const peers = table([2n, 3n, 4n]); // our version: 3
    const result = peers.applyUpdate([entry(summary(US, over), [2n])]);
    assert.equal(peers.ourself.version, version, label);
    assert.equal(result.ourselfChanged, bumped, label);
    assert.deepEqual(result.changed, [], label);
    assert.equal(peers.ourself.uid, 1000n + US, label);
    assert.equal(peers.ourself.connections.size, 3, label);
  }
});

Deno.test("a restarted peer is ignored until it bumps past its old incarnation", () => {
  const old = summary(2n, { uid: 5n, version: 10n });
  const a = table([2n]);
  a.applyUpdate([entry(old, [US])]);

  // Peer 2 restarts: new UID, version starts again.
  const b = new Peers(summary(2n, { uid: 9n, version: 0n }));
  b.addLocalConnection(conn(US));
  const fresh = b.encodeEntries([2n]);
  assert.deepEqual(a.applyUpdate(fresh).changed, [], "lower version is ignored");
  assert.equal(a.get(2n)?.uid, 5n);

  // It learns about its old self from us and moves beyond it.
  const told = b.applyUpdate(a.encodeEntries([2n]));
  assert.equal(told.ourselfChanged, true);
  assert.equal(b.ourself.version, 11n);
  assert.deepEqual(a.applyUpdate(b.encodeEntries([2n])).changed, [2n]);
  assert.equal(a.get(2n)?.uid, 9n);
});

Deno.test("applyUpdate garbage-collects peers it cannot reach", () => {
  const peers = table([2n]);
  const result = peers.applyUpdate([entry(summary(2n), [US]), entry(summary(8n), [9n])]);
  assert.deepEqual(result.changed, [2n]);
  assert.deepEqual(result.removed, [8n, 9n]);
  assert.deepEqual(result.newPeers, []);
  assert.deepEqual(result.received, [2n, 8n]);
  assert.equal(peers.get(8n), undefined);
});

Deno.test("applyUpdate rejects malformed updates without applying any part", () => {
  const bad: [string, TopologyEntry[], RegExp][] = [
    ["duplicate peer", [entry(summary(2n), [US]), entry(summary(2n), [])], /appears twice/],
    ["peer lists itself", [entry(summary(3n), [US]), entry(summary(2n), [2n])], /to itself/],
    ["duplicate connection", [entry(summary(2n), [US, 4n, 4n])], /lists 00:00:00:00:00:04 twice/],
  ];
  for (const [label, update, message] of bad) {
    const peers = table([2n]);
    assert.throws(() => peers.applyUpdate(update), message, label);
    assert.equal(peers.size, 2, label);
    assert.equal(peers.get(2n)?.uid, 0n, label);
    assert.equal(peers.get(3n), undefined, label);
  }
});

Deno.test("garbageCollect keeps peers reachable over any connection or referenced locally", () => {
  const peers = table([2n, 5n]);
  peers.applyUpdate([entry(summary(2n), [US, 3n]), entry(summary(3n), [2n, 4n])]);
  // 5 is a placeholder only our own (unestablished) connection names: kept.
  peers.addLocalConnection(conn(5n, false));
  assert.deepEqual(peers.garbageCollect(), []);
  assert.deepEqual(peers.names().sort(), [2n, 3n, 4n, 5n, US]);

  peers.addRef(summary(2n));
  peers.deleteLocalConnection(2n);
  assert.deepEqual(peers.garbageCollect(), [3n, 4n], "2 is held by a reference");
  peers.release(2n);
  assert.deepEqual(peers.garbageCollect(), [2n]);
  assert.deepEqual(peers.names().sort(), [5n, US]);
});

Deno.test("addRef keeps the known peer and refuses ourselves", () => {
  const peers = table([2n]);
  peers.applyUpdate([entry(summary(2n, { version: 7n }), [US])]);
  const got = peers.addRef(summary(2n, { version: 0n, nickName: "handshake" }));
  assert.equal(got.version, 7n);
  assert.equal(got.localRefCount, 1);
  const added = peers.addRef(summary(6n, { version: 0n }));
  assert.equal(peers.get(6n), added);
  assert.equal(peers.byShortID(6)?.name, 6n);
  assert.throws(() => peers.addRef(summary(US)), /ourselves/);
});

Deno.test("short ID collision: the lowest name keeps it and we move with a version bump", () => {
  let invalidations = 0;
  const peers = table([2n], { random: () => 0.25, onShortIDsInvalidated: () => invalidations++ });
  const ours = peers.ourself.shortID;
  const before = peers.ourself.version;

  // A higher name taking our ID is secondary: nothing changes for us.
  let result = peers.applyUpdate([
    entry(summary(2n), [US, 0x60n]),
    entry(summary(0x60n, { shortID: ours }), [2n]),
  ]);
  assert.equal(result.ourselfChanged, false);
  assert.equal(peers.byShortID(ours)?.name, US);
  assert.equal(invalidations, 0);

  // A lower name takes it over: we pick 0.25 * 4096 = 1024.
  result = peers.applyUpdate([entry(summary(2n, { version: 2n, shortID: ours }), [US, 0x60n])]);
  assert.equal(result.ourselfChanged, true);
  assert.equal(peers.ourself.shortID, 1024);
  assert.equal(peers.ourself.version, before + 1n);
  assert.equal(peers.byShortID(ours)?.name, 2n);
  assert.equal(peers.byShortID(1024)?.name, US);
  assert.equal(invalidations, 1);
  assert.equal(peers.checkShortIDCollision(), false, "already resolved");
});

Deno.test("short ID choice falls back to a uniform pick among free IDs", () => {
  // Hub 1 lists peers 2..4095 (IDs 1..4094); peer 1 takes our ID 0. Only 4095 is free.
  const peers = new Peers(summary(0x10000n, { shortID: 0 }), { random: () => 0 });
  peers.addLocalConnection(conn(1n));
  const others: PeerName[] = [];
  for (let n = 2n; n <= 4095n; n++) others.push(n);
  const update = [
    entry(summary(1n, { shortID: 0 }), [0x10000n, ...others]),
    ...others.map((n) => entry(summary(n, { shortID: Number(n) - 1 }), [1n])),
  ];
  assert.equal(peers.applyUpdate(update).ourselfChanged, true);
  assert.equal(peers.ourself.shortID, 4095);
});

Deno.test("short ID stays contested while none is free, then moves once GC frees one", () => {
  // Peers 1..4096 hold IDs 0..4095; peer 1 beats us (ID 0); hub 2 lists everyone.
  const us = 0x10000n;
  const peers = new Peers(summary(us, { shortID: 0, version: 0n }), { random: () => 0.5 });
  peers.addLocalConnection(conn(2n));
  const others: PeerName[] = [1n];
  for (let n = 3n; n <= 4096n; n++) others.push(n);
  const hub = (version: bigint, remotes: PeerName[]) =>
    entry(summary(2n, { version, shortID: 1 }), [us, ...remotes]);
  let result = peers.applyUpdate([
    hub(1n, others),
    ...others.map((n) => entry(summary(n, { shortID: Number(n) - 1 }), [2n])),
  ]);
  assert.equal(result.ourselfChanged, false, "every ID is taken");
  assert.equal(peers.ourself.shortID, 0);
  assert.equal(peers.byShortID(0)?.name, 1n);
  assert.equal(peers.checkShortIDCollision(), false);

  // The hub drops 4096, which GC removes, freeing ID 4095 (the only free one).
  result = peers.applyUpdate([hub(2n, others.filter((n) => n !== 4096n))]);
  assert.deepEqual(result.removed, [4096n]);
  assert.equal(result.ourselfChanged, true);
  assert.equal(peers.ourself.shortID, 4095);
  assert.equal(peers.byShortID(4095)?.name, us);
  assert.equal(peers.byShortID(0)?.name, 1n);
});

Deno.test("short ID index promotes the lowest remaining name when the owner goes", () => {
  let invalidations = 0;
  const peers = table([2n, 3n, 4n], { onShortIDsInvalidated: () => invalidations++ });
  peers.applyUpdate([
    entry(summary(4n, { shortID: 9 }), [US]),
    entry(summary(3n, { shortID: 9 }), [US]),
    entry(summary(2n, { shortID: 9 }), [US]),
  ]);
  assert.equal(peers.byShortID(9)?.name, 2n);
  const seen = invalidations;
  peers.deleteLocalConnection(2n);
  peers.garbageCollect();
  assert.equal(peers.byShortID(9)?.name, 3n);
  assert.equal(invalidations, seen + 1);
  peers.applyUpdate([entry(summary(3n, { version: 2n, shortID: 10 }), [US])]);
  assert.equal(peers.byShortID(9)?.name, 4n);
  assert.equal(peers.byShortID(10)?.name, 3n);
});

Deno.test("encodeEntries reads the live table, skipping unknown names and duplicates", () => {
  const peers = table([2n]);
  peers.applyUpdate([entry(summary(2n), [US])]);
  const all = peers.encodeEntries();
  assert.deepEqual(all.map((e) => e.peer.name), [US, 2n]);
  assert.deepEqual(all[0].connections, [conn(2n)]);
  const some = peers.encodeEntries([2n, 77n, 2n]);
  assert.deepEqual(some, [entry(summary(2n), [US])]);
  peers.establishLocalConnection(2n);
  assert.equal(peers.encodeEntries([US])[0].peer.version, 2n);
});

Deno.test("encodeEntries of one table applies cleanly to another", () => {
  const a = table([2n]);
  a.applyUpdate([entry(summary(2n), [US, 3n]), entry(summary(3n), [2n])]);
  const b = new Peers(summary(2n, { version: 0n }));
  b.addLocalConnection(conn(US));
  const result = b.applyUpdate(a.encodeEntries());
  assert.deepEqual(result.changed, [US]);
  assert.deepEqual(result.removed, [3n], "3 hangs off a's old view of 2, unreachable for 2");
  assert.deepEqual(b.get(US)?.summary(), a.ourself.summary());
});

Deno.test("randomShortID spans the 12-bit range", () => {
  assert.equal(randomShortID(() => 0), 0);
  assert.equal(randomShortID(() => 0.9999999), 4095);
  assert.equal(randomShortID(() => 1), 4095);
});

/** Names reachable from us over any connection, plus the locally referenced ones. */
function mustKeep(peers: Peers): PeerName[] {
  const { routes } = peerRoutes(peers.ourself, (n) => peers.get(n), {
    establishedAndSymmetric: false,
  });
  const keep = new Set(routes.keys());
  for (const p of peers.all()) if (p.localRefCount > 0) keep.add(p.name);
  return [...keep].sort((a, b) => (a < b ? -1 : 1));
}

Deno.test("property: after every update or GC the table holds exactly what is reachable or held", () => {
  let seed = 99;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = (n: number) => 1n + BigInt(Math.floor(random() * n));
  const peers = table();
  const versions = new Map<PeerName, bigint>();
  const refs: PeerName[] = [];
  for (let step = 0; step < 400; step++) {
    const r = random();
    if (r < 0.5) {
      const name = pick(12);
      const version = (versions.get(name) ?? 0n) + 1n;
      versions.set(name, version);
      const remotes = [...new Set(Array.from({ length: Math.floor(random() * 4) }, () => pick(12)))]
        .filter((n) => n !== name);
      if (random() < 0.3) remotes.push(US);
      peers.applyUpdate([entry(summary(name, { version }), remotes)]);
    } else if (r < 0.65) {
      const name = pick(12);
      if (!peers.ourself.connections.has(name)) peers.addLocalConnection(conn(name, false));
    } else if (r < 0.8) {
      peers.deleteLocalConnection(pick(12));
    } else if (r < 0.9) {
      const name = pick(12);
      peers.addRef(summary(name, { version: 0n }));
      refs.push(name);
    } else {
      const name = refs.splice(Math.floor(random() * refs.length), 1)[0];
      if (name !== undefined) peers.release(name);
      peers.garbageCollect();
    }
    if (r < 0.5 || r >= 0.9) {
      const names = peers.names().sort((a, b) => (a < b ? -1 : 1));
      assert.deepEqual(names, mustKeep(peers), `step ${step}`);
    }
  }
});

Deno.test("generation moves with every change of the table, not with an update that changes nothing", () => {
  const peers = table([2n]);
  let last = peers.generation;
  const moved = (what: string) => {
    assert.notEqual(peers.generation, last, what);
    last = peers.generation;
  };
  peers.applyUpdate([entry(summary(2n), [US, 3n])]);
  moved("a newer entry");
  peers.applyUpdate([entry(summary(2n), [US, 3n])]);
  assert.equal(peers.generation, last, "the same entry again");
  peers.establishLocalConnection(2n);
  moved("established");
  peers.addLocalConnection(conn(4n, false));
  moved("connection added");
  peers.deleteLocalConnection(4n);
  moved("connection deleted");
  peers.applyUpdate([entry(summary(US, { uid: 1n, version: 40n }), [])]);
  moved("our version bumped past an old incarnation");
});
