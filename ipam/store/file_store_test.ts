import assert from "node:assert/strict";
import { sha256Hex } from "./_journal.ts";
import {
  FileStore,
  IPAM_FILE_FORMAT_V1,
  ipamStatePath,
  parseIpamFile,
  renderIpamFile,
} from "./file_store.ts";
import {
  applyIpamUpdate,
  cloneIpamState,
  fullIpamUpdate,
  type IpamState,
  type IpamUpdate,
} from "./store.ts";
import { decodeIpamState, encodeIpamState } from "./state_json.ts";
import { IpamStoreCorruptError } from "./store_error.ts";
import { rng } from "../fake_cluster.ts";

function sample(): IpamState {
  return {
    peerName: 0x020000000001n,
    ring: {
      start: 0x0a200000,
      end: 0x0a300000,
      peer: 0x020000000001n,
      entries: [
        { token: 0x0a200000, peer: 0x020000000001n, version: 3, free: 524287 },
        { token: 0x0a280000, peer: 0x020000000002n, version: 101, free: 524288 },
      ],
      seeds: [0x020000000001n, 0x020000000002n],
    },
    owned: new Map([["c1", { isContainer: true, cidrs: [{ addr: 0x0a200001, prefix: 12 }] }]]),
    holds: new Map([[0x0a280000, { from: 0x020000000003n, until: 1234 }]]),
  };
}

Deno.test("FileStore: save then load round-trips the state; a missing file is no state", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new FileStore(ipamStatePath(`${dir}/sub/weave`));
    assert.equal(store.path, `${dir}/sub/weaveipam.json`);
    assert.equal(await store.load(), undefined);
    await store.save(fullIpamUpdate(sample()));
    assert.deepEqual(await new FileStore(store.path).load(), sample());
    const { ring: _ring, ...noRing } = sample();
    await store.save(fullIpamUpdate(noRing));
    assert.deepEqual(await new FileStore(store.path).load(), noRing);
    assert.deepEqual([...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name).sort(), [
      "weaveipam.json",
      "weaveipam.json.journal",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileStore: truncated, edited or foreign files are reported as damaged", async () => {
  const text = await renderIpamFile(sample());
  for (
    const bad of [
      text.slice(0, text.length / 2),
      "",
      "{}",
      text.replace('"free": 524287', '"free": 524288'),
    ]
  ) {
    await assert.rejects(parseIpamFile("/x/ipam.json", bad), IpamStoreCorruptError);
  }
  await assert.rejects(
    parseIpamFile("/x/ipam.json", text.slice(0, 40)),
    /is damaged: not valid JSON/,
  );
  await assert.rejects(
    parseIpamFile("/x/ipam.json", text.replace('"version": 3', '"version": 4')),
    /checksum mismatch/,
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/weaveipam.json`, text.slice(0, 100));
    await assert.rejects(
      new FileStore(`${dir}/weaveipam.json`).load(),
      /weaveipam.json" is damaged/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodeIpamState: refuses wrong fields with their path", () => {
  const good = encodeIpamState(sample());
  const cases: [unknown, RegExp][] = [
    [null, /state is not an object/],
    [{ ...good, peerName: "zz" }, /peerName "zz" is not a peer name/],
    [{ ...good, ring: { ...good.ring!, end: 2 ** 33 } }, /ring.end is out of range/],
    [{
      ...good,
      ring: {
        ...good.ring!,
        entries: [{ token: "10.32.0.0", peer: "02:00:00:00:00:01", version: -1, free: 0 }],
      },
    }, /ring.entries\[0\].version is not a uint32/],
    [
      { ...good, owned: { c: { isContainer: true, cidrs: ["10.32.0.1"] } } },
      /owned address "10.32.0.1" is not a CIDR/,
    ],
    [
      { ...good, holds: [{ token: "1.2.3", from: "02:00:00:00:00:01", until: 1 }] },
      /holds\[0\].token "1.2.3"/,
    ],
  ];
  for (const [doc, re] of cases) assert.throws(() => decodeIpamState(doc, "t"), re);
  assert.deepEqual(decodeIpamState(JSON.parse(JSON.stringify(good)), "t"), sample());
});

/** A small change to `state`, as the allocator makes after one operation. */
function step(state: IpamState, i: number, random: () => number): IpamUpdate {
  const owned = new Map<
    string,
    { isContainer: boolean; cidrs: { addr: number; prefix: number }[] } | null
  >();
  const idents = [...state.owned.keys()];
  if (idents.length > 0 && random() < 0.3) {
    owned.set(idents[Math.floor(random() * idents.length)], null);
  } else {
    owned.set(`c${i}`, {
      isContainer: random() < 0.8,
      cidrs: [{ addr: 0x0a200000 + i, prefix: 12 }],
    });
  }
  const ring = structuredClone(state.ring!);
  ring.entries[0].free = Math.floor(random() * 1000);
  ring.entries[0].version++;
  const holds = random() < 0.05 ? new Map([[0x0a280000, { from: 3n, until: i }]]) : state.holds;
  return { peerName: state.peerName, ring, holds, owned, full: false };
}

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("FileStore: many small saves, compacted now and then, load back as every update applied", async () => {
  await withDir(async (dir) => {
    const random = rng(11);
    const path = `${dir}/weaveipam.json`;
    const store = new FileStore(path, { minCompactBytes: 2048 });
    let expected = sample();
    await store.save(fullIpamUpdate(expected));
    for (let i = 0; i < 240; i++) {
      const u = step(expected, i, random);
      expected = applyIpamUpdate(cloneIpamState(expected), u);
      const saving = store.save(u);
      if (i % 3 !== 0) await saving; // others overlap with the next save
      if (i % 60 === 59) {
        await saving;
        assert.deepEqual(await new FileStore(path).load(), expected, `after ${i + 1} saves`);
      }
    }
    assert.ok(store.stats.compactions >= 3, `compactions: ${store.stats.compactions}`);
    assert.ok(store.stats.appends > 150, `appends: ${store.stats.appends}`);
  });
});

Deno.test("FileStore: bytes written per save stay flat as the state grows", async () => {
  await withDir(async (dir) => {
    const store = new FileStore(`${dir}/weaveipam.json`, { minCompactBytes: 4096 });
    let state = sample();
    await store.save(fullIpamUpdate(state));
    const bytesAt: number[] = [];
    for (let i = 0; i < 600; i++) {
      const u = step(state, i, () => 0.9); // always adds an identifier
      state = applyIpamUpdate(state, u);
      await store.save(u);
      bytesAt.push(store.stats.bytes);
    }
    const early = bytesAt[199] - bytesAt[0];
    const late = bytesAt[599] - bytesAt[400];
    // A whole-state write per save would make the late saves ~5 times dearer.
    assert.ok(late < 1.6 * early, `first 200 saves: ${early} bytes, last 200: ${late} bytes`);
  });
});

Deno.test("FileStore: a weave-ipam-v1 file still loads, and the first save rewrites it as v2", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/weaveipam.json`;
    const json = encodeIpamState(sample());
    const sha256 = await sha256Hex(JSON.stringify(json));
    await Deno.writeTextFile(
      path,
      JSON.stringify({ format: IPAM_FILE_FORMAT_V1, sha256, state: json }, null, 1),
    );
    const store = new FileStore(path);
    assert.deepEqual(await store.load(), sample());
    const u = step(sample(), 1, () => 0.9);
    await store.save(u);
    const text = await Deno.readTextFile(path);
    assert.match(text, /"format": "weave-ipam-v2"/);
    assert.deepEqual(await new FileStore(path).load(), applyIpamUpdate(sample(), u));
  });
});

Deno.test("FileStore: crash between the new state file and its journal, or mid-append, loses no completed save", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/weaveipam.json`;
    const store = new FileStore(path);
    let state = sample();
    await store.save(fullIpamUpdate(state));
    for (let i = 0; i < 5; i++) {
      const u = step(state, i, () => 0.9);
      state = applyIpamUpdate(cloneIpamState(state), u);
      await store.save(u);
    }
    const oldJournal = await Deno.readTextFile(store.journalPath);
    // A full save compacts: new state file, new journal. Put the old journal back,
    // as if the process died between the two renames.
    await store.save(fullIpamUpdate(state));
    await Deno.writeTextFile(store.journalPath, oldJournal);
    assert.deepEqual(await new FileStore(path).load(), state, "the old journal is ignored");

    // A save whose line was cut short never completed: the state before it loads.
    const again = new FileStore(path);
    await again.load();
    const u = step(state, 99, () => 0.9);
    await again.save(u); // compacts (first save after load)
    const v = step(applyIpamUpdate(cloneIpamState(state), u), 100, () => 0.9);
    await again.save(v); // appends one line
    const full = await Deno.readTextFile(again.journalPath);
    const before = applyIpamUpdate(cloneIpamState(state), u);
    for (
      const keep of [full.length - 1, full.length - 30, full.lastIndexOf("\n", full.length - 2) + 5]
    ) {
      await Deno.writeTextFile(again.journalPath, full.slice(0, keep));
      assert.deepEqual(await new FileStore(path).load(), before, `journal cut to ${keep}`);
    }
    await Deno.writeTextFile(again.journalPath, full);
    assert.deepEqual(await new FileStore(path).load(), applyIpamUpdate(before, v));
    // A changed byte inside a complete line is damage, not a cut.
    await Deno.writeTextFile(again.journalPath, full.replace('"seq":', '"seq" :'));
    await assert.rejects(new FileStore(path).load(), IpamStoreCorruptError);
  });
});

Deno.test("FileStore: after a failed append the next save rewrites everything, the failed change too", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/weaveipam.json`;
    const store = new FileStore(path);
    let state = sample();
    await store.save(fullIpamUpdate(state));
    await Deno.remove(store.journalPath);
    await Deno.mkdir(store.journalPath); // appending to a directory fails
    const lost = step(state, 1, () => 0.9);
    state = applyIpamUpdate(cloneIpamState(state), lost);
    await assert.rejects(store.save(lost), /Cannot save IPAM state/);
    await Deno.remove(store.journalPath);
    const next = step(state, 2, () => 0.9);
    state = applyIpamUpdate(cloneIpamState(state), next);
    await store.save(next);
    assert.deepEqual(await new FileStore(path).load(), state);
  });
});
